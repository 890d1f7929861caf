// Secrets and identifiers: random bearer tokens (user, join, worker session), their stored form
// (SHA-256 hex, so the database never holds a usable secret) and random ids for jobs and workers.
#ifndef FSC_COORDINATOR_TOKENS_H_
#define FSC_COORDINATOR_TOKENS_H_

#include <string>

namespace fsc::coordinator {

// A new token: `prefix` + 64 hex digits from the OpenSSL CSPRNG (256 bits). The prefix
// ("fscu_", "fscj_", "fscw_") tells a person which kind of token they are looking at.
std::string NewToken(const std::string& prefix);
// What the store keeps of a token.
std::string HashToken(const std::string& token);
// A new random id: `prefix` + 16 hex digits (64 bits).
std::string NewId(const std::string& prefix);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_TOKENS_H_
