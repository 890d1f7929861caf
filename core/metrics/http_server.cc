// The /metrics endpoint on cpp-httplib (see http_server.h).
#include "core/metrics/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <list>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/metrics/process_metrics.h"
#include "core/metrics/standard_metrics.h"

namespace fsc::metrics {
namespace {

// httplib's task queue, one thread per connection and at most kMaxConnections of them: a
// connection holds its thread while it waits for a request, so a fixed pool of N threads is
// starved by N connections that send nothing (slow loris). When all are taken, the accept loop
// waits here and new connections wait in the kernel's backlog.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> serve) override {
    std::unique_lock<std::mutex> lock(mu_);
    JoinFinished();
    slot_free_.wait(lock, [this] { return running_ < kMaxConnections; });
    ++running_;
    threads_.emplace_back();
    auto self = std::prev(threads_.end());
    // The new thread reports itself finished under mu_, which is held until it is stored.
    *self = std::thread([this, serve = std::move(serve), self] {
      serve();
      std::lock_guard<std::mutex> done(mu_);
      --running_;
      finished_.push_back(self);
      slot_free_.notify_all();
    });
  }

  void shutdown() override {
    std::unique_lock<std::mutex> lock(mu_);
    slot_free_.wait(lock, [this] { return running_ == 0; });
    JoinFinished();
  }

 private:
  // Joins threads that have reported themselves finished (they touch nothing after that).
  void JoinFinished() {
    for (auto thread : finished_) {
      thread->join();
      threads_.erase(thread);
    }
    finished_.clear();
  }

  std::mutex mu_;
  std::condition_variable slot_free_;
  int running_ = 0;
  std::list<std::thread> threads_;
  std::vector<std::list<std::thread>::iterator> finished_;
};

// Why `address:port` cannot be bound, from a bind of our own (httplib reports only failure).
std::string BindFailure(const std::string& address, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in socket_address{};
  socket_address.sin_family = AF_INET;
  socket_address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &socket_address.sin_addr);
  std::string reason = "httplib could not listen";
  if (::bind(fd, reinterpret_cast<sockaddr*>(&socket_address), sizeof(socket_address)) != 0 ||
      ::listen(fd, 1) != 0) {
    reason = std::strerror(errno);
  }
  ::close(fd);
  return reason;
}

void Refuse(httplib::Response& response, int status, const std::string& text) {
  response.status = status;
  response.set_content(text, "text/plain; charset=utf-8");
}

}  // namespace

MetricsServer::MetricsServer(const Exposition* exposition, MetricsServerOptions options)
    : exposition_(exposition), options_(options) {}

MetricsServer::~MetricsServer() { Stop(); }

std::string MetricsServer::url() const {
  return absl::StrCat("http://", host_, ":", port_, "/metrics");
}

absl::Status MetricsServer::Start(absl::string_view host, int port) {
  if (server_ != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("metrics server already running on ", url()));
  }
  const std::string address(host == "localhost" ? "127.0.0.1" : host);
  in_addr parsed;
  if (::inet_pton(AF_INET, address.c_str(), &parsed) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics server: '", host, "' is not an IPv4 address (e.g. 127.0.0.1 or 0.0.0.0)"));
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics server: port ", port, " is out of range (0..65535, 0: any free)"));
  }

  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new ConnectionThreads(); };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second process
  // share a port that is taken instead of failing.
  server->set_socket_options([](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->set_keep_alive_timeout(options_.idle_seconds);
  server->set_read_timeout(options_.io_seconds, 0);
  server->set_write_timeout(options_.io_seconds, 0);
  server->set_payload_max_length(64 * 1024);
  const Exposition* exposition = exposition_;
  server->Get("/metrics", [exposition](const httplib::Request&, httplib::Response& response) {
    response.set_content(exposition->Text(), kTextContentType);
  });
  auto not_allowed = [](const httplib::Request&, httplib::Response& response) {
    response.set_header("Allow", "GET, HEAD");
    Refuse(response, 405, "Only GET and HEAD are allowed\n");
  };
  server->Post("/metrics", not_allowed);
  server->Put("/metrics", not_allowed);
  server->Patch("/metrics", not_allowed);
  server->Delete("/metrics", not_allowed);
  server->Options("/metrics", not_allowed);
  server->set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.status == 404) {
      Refuse(response, 404, "Not found: metrics are served at /metrics\n");
    }
  });

  const int bound = port == 0 ? server->bind_to_any_port(address)
                              : (server->bind_to_port(address, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("metrics server: cannot listen on ", address, ":",
                                               port, ": ", BindFailure(address, port)));
  }
  auto listening = std::make_shared<std::atomic<bool>>(true);
  httplib::Server* raw = server.get();
  listener_ = std::thread([raw, listening] {
    raw->listen_after_bind();
    *listening = false;
  });
  // stop() only works once the accept loop runs.
  while (!raw->is_running() && *listening) absl::SleepFor(absl::Milliseconds(1));
  server_ = std::move(server);
  host_ = address;
  port_ = bound;
  return absl::OkStatus();
}

void MetricsServer::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  if (listener_.joinable()) listener_.join();
  server_.reset();
  port_ = 0;
}

void AddMetricsFlags(util::FlagSet* flags, MetricsFlags* values) {
  flags->Int("metrics-port", 0, &values->port,
             "serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port; -1: off)",
             {-1, 65535});
  flags->String("metrics-host", 0, &values->host,
                "address --metrics-port listens on (0.0.0.0: every interface)");
}

absl::Status StartMetrics(const MetricsFlags& flags, MetricsServer* server) {
  if (flags.port == -1) return absl::OkStatus();
  Standard();  // every family exists before the first scrape
  ExportProcessMetrics();
  return server->Start(flags.host, flags.port);
}

}  // namespace fsc::metrics
