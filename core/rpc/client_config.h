// Where the fsc client verbs and fsc-worker find the coordinator, the token and the TLS files.
// Three layers, the first that says something wins:
//   1. command-line flags (--coordinator, --token, --tls-ca, --tls-cert, --tls-key, --insecure,
//      --config),
//   2. environment: FSC_COORDINATOR, FSC_TOKEN, FSC_TLS_CA, FSC_TLS_CERT, FSC_TLS_KEY,
//      FSC_INSECURE (1/true/yes),
//   3. a JSON config file: --config, else $FSC_CONFIG, else ~/.config/fsc/config.json when it
//      exists. Keys: "coordinator", "token", "tls_ca", "tls_cert", "tls_key", "insecure".
//      Relative file paths in it are relative to the config file's folder, so the file written
//      by `fsc cluster up --local` into its state folder stays valid wherever it is read from.
// The address and the token resolve independently. The transport (TLS files vs. --insecure) is
// taken as a group from the highest layer that mentions any of it, so `--tls-ca` on the command
// line overrides `"insecure": true` in the config file and vice versa.
#ifndef FSC_CORE_RPC_CLIENT_CONFIG_H_
#define FSC_CORE_RPC_CLIENT_CONFIG_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/rpc/channel.h"
#include "core/util/flags.h"

namespace fsc::rpc {

// The connection flags of one command line; empty strings = not given.
struct ConnectFlags {
  std::string coordinator;
  std::string token;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool insecure = false;
  std::string config;  // config file path
};

// Registers --coordinator, --token (unless `with_token` is false: fsc-worker joins with a join
// token instead), --tls-ca, --tls-cert, --tls-key, --insecure and --config on `flags`.
void AddConnectFlags(util::FlagSet* flags, ConnectFlags* values, bool with_token = true);

// What one config file says; nullopt where it is silent (a missing key, null or "").
struct ClientConfigFile {
  std::optional<std::string> coordinator, token, tls_ca, tls_cert, tls_key;
  std::optional<bool> insecure;
};

// Parses a config file's contents. `path` names the file in errors and anchors relative TLS
// paths. INVALID_ARGUMENT when the text is not a JSON object or a key has the wrong type.
absl::StatusOr<ClientConfigFile> ParseClientConfig(absl::string_view text, const std::string& path);

// Environment lookup, replaceable in tests. Returns nullopt for an unset (or empty) variable.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Resolves the layers above. Errors: an explicitly named config file (flag or $FSC_CONFIG) that is
// missing or malformed (the default one may be absent), or no coordinator address anywhere.
absl::StatusOr<ConnectOptions> ResolveConnectOptions(const ConnectFlags& flags,
                                                     const EnvLookup& env = ProcessEnv());

// The config file path that ResolveConnectOptions would read ("" when none applies).
std::string ConfigPath(const ConnectFlags& flags, const EnvLookup& env = ProcessEnv());

// Writes `options` as a config file (JSON, atomically, mode 0600 because it holds a token). TLS
// paths are written as given; pass absolute paths or paths relative to the file's folder.
absl::Status WriteClientConfig(const std::string& path, const ConnectOptions& options);

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_CLIENT_CONFIG_H_
