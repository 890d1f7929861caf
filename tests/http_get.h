// A minimal HTTP/1.1 client for tests: one request over a plain TCP socket to 127.0.0.1, the
// whole answer read until the server closes the connection.
#ifndef FSC_TESTS_HTTP_GET_H_
#define FSC_TESTS_HTTP_GET_H_

#include <map>
#include <string>

namespace fsc::testing {

struct HttpResponse {
  int status = 0;                              // 0: no answer (connection refused, ...)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string error;  // why status is 0
};

// Sends `method path` to 127.0.0.1:port with "Connection: close".
HttpResponse HttpRequest(int port, const std::string& method, const std::string& path);
inline HttpResponse HttpGet(int port, const std::string& path) {
  return HttpRequest(port, "GET", path);
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int FreePort();

}  // namespace fsc::testing

#endif  // FSC_TESTS_HTTP_GET_H_
