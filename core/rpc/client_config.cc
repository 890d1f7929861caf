// Flags > environment > config file resolution of the coordinator connection.
#include "core/rpc/client_config.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/rpc/secret_file.h"
#include "core/util/file_io.h"
#include "core/util/json_fields.h"
#include "nlohmann/json.hpp"

namespace fsc::rpc {
namespace {

// One layer's say (flags, environment or config file); nullopt = silent.
using Layer = ClientConfigFile;

bool SaysTransport(const Layer& layer) {
  return layer.tls_ca.has_value() || layer.tls_cert.has_value() || layer.tls_key.has_value() ||
         layer.insecure.has_value();
}

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

absl::StatusOr<bool> ParseBool(const std::string& name, const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return absl::InvalidArgumentError(
      absl::StrCat(name, "='", value, "' is not a boolean: use 1/0, true/false or yes/no"));
}

absl::StatusOr<Layer> ReadConfigFile(const std::string& path) {
  auto text = util::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("config file: ", text.status().message()));
  }
  return ParseClientConfig(*text, path);
}

std::string HomeConfigPath(const EnvLookup& env) {
  auto xdg = env("XDG_CONFIG_HOME");
  if (xdg) return (std::filesystem::path(*xdg) / "fsc" / "config.json").string();
  auto home = env("HOME");
  if (!home) return "";
  return (std::filesystem::path(*home) / ".config" / "fsc" / "config.json").string();
}

}  // namespace

absl::StatusOr<ClientConfigFile> ParseClientConfig(absl::string_view text,
                                                   const std::string& path) {
  ClientConfigFile layer;
  nlohmann::json json = util::ParseOutsideJson(std::string_view(text.data(), text.size()));
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": not a JSON object (expected {\"coordinator\": ",
                     "\"HOST:PORT\", \"token\": ..., \"tls_ca\": ...})"));
  }
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  auto get = [&](const char* key, bool is_path) -> absl::StatusOr<std::optional<std::string>> {
    if (!json.contains(key) || json[key].is_null()) return std::optional<std::string>();
    if (!json[key].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file ", path, ": \"", key, "\" must be a string"));
    }
    std::string value = json[key].get<std::string>();
    if (value.empty()) return std::optional<std::string>();
    if (is_path && std::filesystem::path(value).is_relative() && !folder.empty()) {
      value = (folder / value).lexically_normal().string();
    }
    return std::optional<std::string>(value);
  };
  struct Field {
    const char* key;
    bool is_path;
    std::optional<std::string>* out;
  } fields[] = {{"coordinator", false, &layer.coordinator},
                {"token", false, &layer.token},
                {"tls_ca", true, &layer.tls_ca},
                {"tls_cert", true, &layer.tls_cert},
                {"tls_key", true, &layer.tls_key}};
  for (const Field& field : fields) {
    auto value = get(field.key, field.is_path);
    if (!value.ok()) return value.status();
    *field.out = *value;
  }
  if (json.contains("insecure") && !json["insecure"].is_null()) {
    if (!json["insecure"].is_boolean()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file ", path, ": \"insecure\" must be true or false"));
    }
    layer.insecure = json["insecure"].get<bool>();
  }
  return layer;
}

void AddConnectFlags(util::FlagSet* flags, ConnectFlags* values, bool with_token) {
  flags->String("coordinator", 0, &values->coordinator,
                "coordinator address HOST:PORT (else $FSC_COORDINATOR, else the config file)");
  if (with_token) {
    flags->String("token", 0, &values->token,
                  "your user token (else $FSC_TOKEN, else the config file)");
  }
  flags->String("tls-ca", 0, &values->tls_ca,
                "PEM CA certificate that signed the coordinator's certificate ($FSC_TLS_CA)");
  flags->String("tls-cert", 0, &values->tls_cert,
                "PEM client certificate, for a coordinator that requires mTLS ($FSC_TLS_CERT)");
  flags->String("tls-key", 0, &values->tls_key, "PEM private key of --tls-cert ($FSC_TLS_KEY)");
  flags->Bool("insecure", 0, &values->insecure,
              "plaintext gRPC, no TLS (testing only; $FSC_INSECURE=1)");
  flags->String("config", 0, &values->config,
                "client config JSON (else $FSC_CONFIG, else ~/.config/fsc/config.json)");
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

std::string ConfigPath(const ConnectFlags& flags, const EnvLookup& env) {
  if (!flags.config.empty()) return flags.config;
  if (auto path = env("FSC_CONFIG")) return *path;
  std::string home = HomeConfigPath(env);
  std::error_code ec;
  if (!home.empty() && std::filesystem::exists(home, ec)) return home;
  return "";
}

// Declared in channel.h; defined here so that readers of the client config need no gRPC.
absl::Status CheckTokenText(const std::string& token, const std::string& where) {
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (c > 0x20 && c < 0x7f) continue;
    return absl::InvalidArgumentError(absl::StrFormat(
        "the token from %s has a byte a token cannot have (0x%02x at position %d): tokens are "
        "printable ASCII without spaces; copy it again from 'fsc-coordinator token create'",
        where, c, i + 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<ConnectOptions> ResolveConnectOptions(const ConnectFlags& flags,
                                                     const EnvLookup& env) {
  Layer from_flags;
  from_flags.coordinator = NonEmpty(flags.coordinator);
  from_flags.token = NonEmpty(flags.token);
  from_flags.tls_ca = NonEmpty(flags.tls_ca);
  from_flags.tls_cert = NonEmpty(flags.tls_cert);
  from_flags.tls_key = NonEmpty(flags.tls_key);
  if (flags.insecure) from_flags.insecure = true;

  Layer from_env;
  from_env.coordinator = env("FSC_COORDINATOR");
  from_env.token = env("FSC_TOKEN");
  from_env.tls_ca = env("FSC_TLS_CA");
  from_env.tls_cert = env("FSC_TLS_CERT");
  from_env.tls_key = env("FSC_TLS_KEY");
  if (auto insecure = env("FSC_INSECURE")) {
    auto value = ParseBool("FSC_INSECURE", *insecure);
    if (!value.ok()) return value.status();
    from_env.insecure = *value;
  }

  Layer from_file;
  std::string path = ConfigPath(flags, env);
  if (!path.empty()) {
    auto layer = ReadConfigFile(path);
    if (!layer.ok()) return layer.status();
    from_file = *std::move(layer);
  }

  const Layer* layers[] = {&from_flags, &from_env, &from_file};
  ConnectOptions options;
  for (const Layer* layer : layers) {
    if (options.address.empty() && layer->coordinator) options.address = *layer->coordinator;
    if (options.token.empty() && layer->token) options.token = *layer->token;
  }
  for (const Layer* layer : layers) {
    if (!SaysTransport(*layer)) continue;
    options.tls_ca = layer->tls_ca.value_or("");
    options.tls_cert = layer->tls_cert.value_or("");
    options.tls_key = layer->tls_key.value_or("");
    options.insecure = layer->insecure.value_or(false);
    break;
  }
  if (!options.token.empty()) {
    const std::string where = from_flags.token ? "--token"
                              : from_env.token ? "$FSC_TOKEN"
                                               : "the config file " + path;
    absl::Status token = CheckTokenText(options.token, where);
    if (!token.ok()) return token;
  }
  if (options.address.empty()) {
    return absl::InvalidArgumentError(
        "no coordinator address: pass --coordinator HOST:PORT, set FSC_COORDINATOR, or point "
        "FSC_CONFIG at a config file (`fsc cluster up --local` writes one)");
  }
  return options;
}

absl::Status WriteClientConfig(const std::string& path, const ConnectOptions& options) {
  nlohmann::json json = nlohmann::json::object();
  json["coordinator"] = options.address;
  if (!options.token.empty()) json["token"] = options.token;
  if (!options.tls_ca.empty()) json["tls_ca"] = options.tls_ca;
  if (!options.tls_cert.empty()) json["tls_cert"] = options.tls_cert;
  if (!options.tls_key.empty()) json["tls_key"] = options.tls_key;
  if (options.insecure) json["insecure"] = true;
  return WriteSecretFileAtomically(path, json.dump(2) + "\n");
}

}  // namespace fsc::rpc
