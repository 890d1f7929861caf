// MetricsServer answered by a real HTTP client over 127.0.0.1: /metrics in the text format with
// its content type, 404 and 405 elsewhere, a taken port refused by name, clean stop and restart,
// concurrent scrapes while values change, a scrape answered while 100 idle or half-sent
// connections are held (slow loris), and the loopback as the default address.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/metrics/http_server.h"
#include "core/metrics/process_metrics.h"
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
    exposition_.Add(&registry_);
    events_ = &prometheus::BuildCounter()
                   .Name("fsc_test_events_total")
                   .Help("Events.")
                   .Register(registry_);
    events_->Add({{"kind", "a"}}).Increment(3);
    events_->Add({{"kind", "b \"quoted\""}}).Increment();
    prometheus::BuildHistogram()
        .Name("fsc_test_seconds")
        .Help("Time.")
        .Register(registry_)
        .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 1})
        .Observe(0.5);
  }
  prometheus::Registry registry_;
  Exposition exposition_;
  prometheus::Family<prometheus::Counter>* events_ = nullptr;
};

TEST_F(MetricsServerTest, ServesMetricsWithTheTextContentType) {
  MetricsServer server(&exposition_);
  EXPECT_FALSE(server.running());
  ASSERT_OK(server.Start("127.0.0.1", 0));
  ASSERT_TRUE(server.running());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/metrics");

  HttpResponse response = HttpGet(server.port(), "/metrics");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.headers["content-length"], std::to_string(response.body.size()));
  EXPECT_EQ(response.body, exposition_.Text());
  EXPECT_THAT(response.body, HasSubstr("fsc_test_events_total{kind=\"b \\\"quoted\\\"\"} 1\n"));

  // Each scrape is fresh; a query string does not matter.
  events_->Add({{"kind", "a"}}).Increment();
  response = HttpGet(server.port(), "/metrics?debug=1");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_THAT(response.body, HasSubstr("fsc_test_events_total{kind=\"a\"} 4\n"));

  HttpResponse head = HttpRequest(server.port(), "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.headers["content-length"], std::to_string(exposition_.Text().size()));
}

TEST_F(MetricsServerTest, OtherPathsAndMethodsAreRefused) {
  MetricsServer server(&exposition_);
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
  MetricsServer first(&exposition_);
  ASSERT_OK(first.Start("127.0.0.1", 0));
  MetricsServer second(&exposition_);
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
  MetricsServer server(&exposition_);
  EXPECT_EQ(server.Start("metrics.example", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("999.1.1.1", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("127.0.0.1", 65536).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("127.0.0.1", -1).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(server.Start("localhost", 0));
  EXPECT_EQ(server.Start("127.0.0.1", 0).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MetricsServerTest, StopClosesThePortAndStartWorksAgain) {
  MetricsServer server(&exposition_);
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
  MetricsServer any(&exposition_);
  ASSERT_OK(any.Start("0.0.0.0", 0));
  EXPECT_EQ(HttpGet(any.port(), "/metrics").status, 200);
}

TEST_F(MetricsServerTest, ConcurrentScrapesWhileValuesChange) {
  ExportProcessMetrics(&exposition_);
  prometheus::Counter& ticks = prometheus::BuildCounter()
                                   .Name("fsc_test_ticks_total")
                                   .Help("Ticks.")
                                   .Register(registry_)
                                   .Add({});
  MetricsServer server(&exposition_);
  ASSERT_OK(server.Start("127.0.0.1", 0));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    while (!done) ticks.Increment();
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

// A TCP connection to 127.0.0.1:port that sends `prefix` (maybe nothing) and then nothing more.
int HoldConnection(int port, const std::string& prefix) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  if (!prefix.empty()) {
    EXPECT_EQ(send(fd, prefix.data(), prefix.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(prefix.size()));
  }
  return fd;
}

// True while the server has neither closed `fd` nor written to it.
bool StillHeld(int fd) {
  pollfd poll_fd{fd, POLLIN, 0};
  return poll(&poll_fd, 1, 0) == 0;
}

TEST_F(MetricsServerTest, ScrapeIsAnsweredWhileIdleConnectionsAreHeld) {
  // Held connections are not timed out during the test (a minute), so a server that gives each
  // waiting connection one of a few threads could only answer after they go: never, here.
  MetricsServerOptions patient;
  patient.idle_seconds = 60;
  patient.io_seconds = 60;
  MetricsServer server(&exposition_, patient);
  ASSERT_OK(server.Start("127.0.0.1", 0));
  std::vector<int> held;
  for (int i = 0; i < 100; ++i) {
    // Half send nothing; half start a request and stall in its headers (slow loris).
    held.push_back(HoldConnection(
        server.port(), i % 2 ? "" : "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  }
  // HttpGet gives up after 30 s without an answer: a generous bound, not a timing assertion.
  HttpResponse response = HttpGet(server.port(), "/metrics");
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_THAT(response.body, HasSubstr("fsc_test_events_total"));
  int still_held = 0;
  for (int fd : held) {
    if (fd >= 0 && StillHeld(fd)) ++still_held;
  }
  EXPECT_EQ(still_held, 100) << "the scrape was answered only after held connections were dropped";
  for (int fd : held) {
    if (fd >= 0) close(fd);
  }
}

TEST_F(MetricsServerTest, IdleConnectionsAreClosedAndTheDefaultAddressIsTheLoopback) {
  EXPECT_STREQ(kDefaultMetricsHost, "127.0.0.1");
  MetricsFlags values;
  util::FlagSet flags("test", "", "");
  AddMetricsFlags(&flags, &values);
  std::vector<std::string> positional;
  ASSERT_OK(flags.Parse({"--metrics-port", "0"}, &positional));
  EXPECT_EQ(values.host, "127.0.0.1");

  MetricsServerOptions quick;
  quick.idle_seconds = 1;
  MetricsServer server(&exposition_, quick);
  ASSERT_OK(server.Start(values.host, values.port));
  // Listening on 127.0.0.1 only (/proc/net/tcp: local address 0100007F:PORT in state 0A).
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  const std::string local = absl::StrFormat("0100007F:%04X", server.port());
  const std::string any = absl::StrFormat("00000000:%04X", server.port());
  bool loopback = false, everywhere = false;
  while (std::getline(tcp, line)) {
    if (line.find(local + " 00000000:0000 0A") != std::string::npos) loopback = true;
    if (line.find(any + " 00000000:0000 0A") != std::string::npos) everywhere = true;
  }
  EXPECT_TRUE(loopback);
  EXPECT_FALSE(everywhere);

  // A connection that never sends is closed by the server (EOF), not kept forever.
  const int fd = HoldConnection(server.port(), "");
  ASSERT_GE(fd, 0);
  char byte;
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  EXPECT_EQ(recv(fd, &byte, 1, 0), 0);
  close(fd);
  EXPECT_EQ(HttpGet(server.port(), "/metrics").status, 200);
}

}  // namespace
}  // namespace fsc::metrics
