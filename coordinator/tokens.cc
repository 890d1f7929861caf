// Random tokens and ids from OpenSSL's CSPRNG.
#include "coordinator/tokens.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/escaping.h"
#include "core/util/sha256.h"

namespace fsc::coordinator {
namespace {

std::string RandomHex(int bytes) {
  std::string raw(static_cast<size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes) != 1) {
    // No entropy means no safe tokens; continuing would hand out guessable credentials.
    std::cerr << "fsc-coordinator: the OpenSSL random generator failed; cannot make tokens\n";
    std::abort();
  }
  return absl::BytesToHexString(raw);
}

}  // namespace

std::string NewToken(const std::string& prefix) { return prefix + RandomHex(32); }
std::string HashToken(const std::string& token) { return util::Sha256Hex(token); }
std::string NewId(const std::string& prefix) { return prefix + RandomHex(8); }

}  // namespace fsc::coordinator
