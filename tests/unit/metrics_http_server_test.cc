// MetricsServer answered by a real HTTP client over 127.0.0.1: /metrics in the text format with
// its content type, 404 and 405 elsewhere, a taken port refused by name, clean stop and restart,
// concurrent scrapes while values change. This binary links all of fsc_core (LibTorch, OpenBLAS,
// glog), whose static TLS does not fit in Debian civetweb's thread stacks without the fix in
// http_server.cc: every test here fails without it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/metrics/http_server.h"
#include "core/metrics/process_metrics.h"
#include "core/metrics/text_format.h"
#include "tests/http_get.h"

namespace fsc::metrics {
namespace {

using ::testing::HasSubstr;
using testing::HttpGet;
using testing::HttpRequest;
using testing::HttpResponse;

#define ASSERT_OK(expr)                   \
  do {                                    \
    const absl::Status status_ = (expr);  \
    ASSERT_TRUE(status_.ok()) << status_; \
  } while (0)

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Family<Counter>* scrapes = *registry_.AddCounter("fsc_test_events_total", "Events.", {"kind"});
    scrapes->WithLabels({"a"}).Inc(3);
    scrapes->WithLabels({"b \"quoted\""}).Inc();
    registry_.AddHistogram("fsc_test_seconds", "Time.", {}, {0.1, 1})
        .value()
        ->WithLabels()
        .Observe(0.5);
  }
  Registry registry_;
};

TEST_F(MetricsServerTest, ServesMetricsWithTheTextContentType) {
  MetricsServer server(&registry_);
  EXPECT_FALSE(server.running());
  ASSERT_OK(server.Start("127.0.0.1", 0));
  ASSERT_TRUE(server.running());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/metrics");

  HttpResponse response = HttpGet(server.port(), "/metrics");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.headers["content-length"], std::to_string(response.body.size()));
  EXPECT_EQ(response.body, FormatText(registry_));
  EXPECT_THAT(response.body, HasSubstr("fsc_test_events_total{kind=\"b \\\"quoted\\\"\"} 1\n"));

  // Each scrape is fresh; a query string does not matter.
  registry_.AddCounter("fsc_test_events_total", "Events.", {"kind"})
      .value()
      ->WithLabels({"a"})
      .Inc();
  response = HttpGet(server.port(), "/metrics?debug=1");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_THAT(response.body, HasSubstr("fsc_test_events_total{kind=\"a\"} 4\n"));

  HttpResponse head = HttpRequest(server.port(), "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.headers["content-length"], std::to_string(FormatText(registry_).size()));
}

TEST_F(MetricsServerTest, OtherPathsAndMethodsAreRefused) {
  MetricsServer server(&registry_);
  ASSERT_OK(server.Start("127.0.0.1", 0));
  for (const char* path : {"/", "/metric", "/metrics/x", "/favicon.ico", "/etc/passwd"}) {
    HttpResponse response = HttpGet(server.port(), path);
    EXPECT_EQ(response.status, 404) << path << " " << response.error;
    EXPECT_THAT(response.body, ::testing::Not(HasSubstr("fsc_test_events_total"))) << path;
  }
  HttpResponse post = HttpRequest(server.port(), "POST", "/metrics");
  EXPECT_EQ(post.status, 405) << post.error;
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
}

TEST_F(MetricsServerTest, TakenPortIsRefusedByName) {
  MetricsServer first(&registry_);
  ASSERT_OK(first.Start("127.0.0.1", 0));
  MetricsServer second(&registry_);
  absl::Status status = second.Start("127.0.0.1", first.port());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::to_string(first.port())));
  EXPECT_THAT(std::string(status.message()), HasSubstr("in use"));
  EXPECT_FALSE(second.running());
  EXPECT_EQ(second.port(), 0);
  // The first one is unaffected.
  EXPECT_EQ(HttpGet(first.port(), "/metrics").status, 200);
}

TEST_F(MetricsServerTest, BadArgumentsAndDoubleStart) {
  MetricsServer server(&registry_);
  EXPECT_EQ(server.Start("metrics.example", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("999.1.1.1", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("127.0.0.1", 65536).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("127.0.0.1", -1).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(server.Start("localhost", 0));
  EXPECT_EQ(server.Start("127.0.0.1", 0).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MetricsServerTest, StopClosesThePortAndStartWorksAgain) {
  MetricsServer server(&registry_);
  ASSERT_OK(server.Start("127.0.0.1", 0));
  const int port = server.port();
  server.Stop();
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.port(), 0);
  HttpResponse refused = HttpGet(port, "/metrics");
  EXPECT_EQ(refused.status, 0);
  EXPECT_THAT(refused.error, HasSubstr("refused"));
  server.Stop();  // again: nothing to do

  // The same port can be bound again at once.
  ASSERT_OK(server.Start("127.0.0.1", port));
  EXPECT_EQ(server.port(), port);
  EXPECT_EQ(HttpGet(port, "/metrics").status, 200);
  // All interfaces, which includes the loopback.
  MetricsServer any(&registry_);
  ASSERT_OK(any.Start("0.0.0.0", 0));
  EXPECT_EQ(HttpGet(any.port(), "/metrics").status, 200);
}

TEST_F(MetricsServerTest, ConcurrentScrapesWhileValuesChange) {
  ASSERT_TRUE(RegisterProcessMetrics(&registry_).ok());
  Counter& ticks = registry_.AddCounter("fsc_test_ticks_total", "Ticks.").value()->WithLabels();
  MetricsServer server(&registry_);
  ASSERT_OK(server.Start("127.0.0.1", 0));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    while (!done) ticks.Inc();
  });
  std::vector<std::thread> scrapers;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    scrapers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        HttpResponse response = HttpGet(server.port(), "/metrics");
        if (response.status == 200 && response.body.find("process_threads ") != std::string::npos &&
            response.body.find("fsc_test_ticks_total ") != std::string::npos) {
          ++good;
        }
      }
    });
  }
  for (std::thread& s : scrapers) s.join();
  done = true;
  writer.join();
  EXPECT_EQ(good.load(), 40);
  server.Stop();
}

}  // namespace
}  // namespace fsc::metrics
