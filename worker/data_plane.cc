// The data plane's default bind address.
#include "worker/data_plane.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace fsc::worker {
namespace {

absl::Status SplitHostPort(const std::string& host_port, std::string* host, std::string* port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host_port, "' is not HOST:PORT (e.g. coordinator.local:7443)"));
  }
  *host = host_port.substr(0, colon);
  *port = host_port.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::OkStatus();
}

std::string Numeric(const sockaddr* address, socklen_t length) {
  char text[NI_MAXHOST] = {0};
  if (getnameinfo(address, length, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) return "";
  return text;
}

}  // namespace

absl::StatusOr<std::string> LocalAddressToward(const std::string& host_port) {
  std::string host, port;
  if (absl::Status split = SplitHostPort(host_port, &host, &port); !split.ok()) return split;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", host, "': ", gai_strerror(error)));
  }
  std::string result, last_error = "no address";
  for (addrinfo* it = found; it != nullptr && result.empty(); it = it->ai_next) {
    int fd = socket(it->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) continue;
    if (connect(fd, it->ai_addr, it->ai_addrlen) == 0) {
      sockaddr_storage local{};
      socklen_t length = sizeof(local);
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
        result = Numeric(reinterpret_cast<sockaddr*>(&local), length);
      }
    } else {
      last_error = std::strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (result.empty()) {
    return absl::UnavailableError(absl::StrCat("no route to '", host_port, "': ", last_error));
  }
  return result;
}

absl::Status CheckBindable(const std::string& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(address.c_str(), "0", &hints, &found) != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not a numeric IP address"));
  }
  int fd = socket(found->ai_family, SOCK_STREAM, 0);
  bool ok = fd >= 0 && bind(fd, found->ai_addr, found->ai_addrlen) == 0;
  std::string error = ok ? "" : std::strerror(errno);
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot bind '", address, "' on this host: ", error));
  }
  return absl::OkStatus();
}

}  // namespace fsc::worker
