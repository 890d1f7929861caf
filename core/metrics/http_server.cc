// The /metrics endpoint on civetweb's C API (see http_server.h).
#include "core/metrics/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dlfcn.h>
#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/metrics/text_format.h"

// Debian's civetweb starts its threads with a fixed 100 KiB stack (built with
// USE_STACK_SIZE=102400). glibc carves each thread's static TLS out of its stack, and a process
// that links LibTorch, OpenBLAS and glog has about 110 KiB of it, so pthread_create fails with
// EINVAL and civetweb reports "Cannot create threads". This definition takes precedence over
// glibc's for the whole executable; it raises stack sizes that civetweb asks for to kMinStack
// and passes every other call through unchanged.
extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) {
  using Setter = int (*)(pthread_attr_t*, size_t);
  static const Setter real =
      reinterpret_cast<Setter>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  if (real == nullptr) return ENOSYS;
  constexpr size_t kMinStack = 1 << 20;
  if (size < kMinStack) {
    Dl_info caller;
    if (dladdr(__builtin_return_address(0), &caller) != 0 && caller.dli_fname != nullptr &&
        std::strstr(caller.dli_fname, "libcivetweb") != nullptr) {
      size = kMinStack;
    }
  }
  return real(attr, size);
}

namespace fsc::metrics {
namespace {

// civetweb's messages while Start() runs on this thread (it reports bind errors through the
// log callback only).
thread_local std::vector<std::string>* t_start_log = nullptr;

void Respond(mg_connection* connection, int code, const char* reason, const char* content_type,
             const std::string& body, bool head, const char* extra_headers = "") {
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
            "close\r\n\r\n",
            code, reason, content_type, body.size(), extra_headers);
  if (!head) mg_write(connection, body.data(), body.size());
}

}  // namespace

MetricsServer::MetricsServer(const Registry* registry) : registry_(registry) {}

MetricsServer::~MetricsServer() { Stop(); }

std::string MetricsServer::url() const {
  return absl::StrCat("http://", host_, ":", port_, "/metrics");
}

int MetricsServer::HandleRequest(mg_connection* connection) {
  const mg_request_info* request = mg_get_request_info(connection);
  auto* server = static_cast<MetricsServer*>(mg_get_user_data(mg_get_context(connection)));
  const std::string method = request->request_method ? request->request_method : "";
  const bool head = method == "HEAD";
  const char* path = request->local_uri ? request->local_uri : "";
  if (std::strcmp(path, "/metrics") != 0) {
    Respond(connection, 404, "Not Found", "text/plain; charset=utf-8",
            "Not found: metrics are served at /metrics\n", head);
    return 404;
  }
  if (method != "GET" && !head) {
    Respond(connection, 405, "Method Not Allowed", "text/plain; charset=utf-8",
            "Only GET and HEAD are allowed\n", false, "Allow: GET, HEAD\r\n");
    return 405;
  }
  Respond(connection, 200, "OK", kTextContentType, FormatText(*server->registry_), head);
  return 200;
}

int MetricsServer::LogMessage(const mg_connection*, const char* message) {
  if (t_start_log != nullptr && message != nullptr) t_start_log->push_back(message);
  return 1;  // handled: civetweb prints nothing itself
}

absl::Status MetricsServer::Start(absl::string_view host, int port) {
  if (context_ != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("metrics server already running on ", url()));
  }
  std::string address(host == "localhost" ? "127.0.0.1" : host);
  in_addr parsed;
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics server: '", host, "' is not an IPv4 address (e.g. 0.0.0.0)"));
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics server: port ", port, " is out of range (0..65535, 0: any free)"));
  }
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });

  const std::string listen = absl::StrCat(address, ":", port);
  const char* options[] = {"listening_ports",    listen.c_str(), "num_threads", "2",
                           "request_timeout_ms", "10000",        nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.begin_request = &MetricsServer::HandleRequest;
  callbacks.log_message = &MetricsServer::LogMessage;
  mg_init_data init{&callbacks, this, options};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof(error_text)};

  std::vector<std::string> log;
  t_start_log = &log;
  mg_context* context = mg_start2(&init, &error);
  t_start_log = nullptr;
  if (context == nullptr) {
    // civetweb's first message carries the reason ("cannot bind to ...: 98 (Address already in
    // use)"); error_text only says that setting up the ports failed.
    if (log.empty() && error_text[0] != '\0') log.push_back(error_text);
    return absl::UnavailableError(
        absl::StrCat("metrics server: cannot listen on ", listen, ": ",
                     log.empty() ? "civetweb failed to start" : absl::StrJoin(log, "; ")));
  }
  mg_server_port ports[4];
  const int count = mg_get_server_ports(context, 4, ports);
  if (count < 1 || ports[0].port <= 0) {
    mg_stop(context);
    return absl::InternalError(
        absl::StrCat("metrics server: civetweb reports no bound port for ", listen));
  }
  context_ = context;
  host_ = address;
  port_ = ports[0].port;
  return absl::OkStatus();
}

void MetricsServer::Stop() {
  if (context_ == nullptr) return;
  mg_stop(context_);
  context_ = nullptr;
  port_ = 0;
}

}  // namespace fsc::metrics
