// Model layouts: validation, parameter count and JSON.
#include "core/model/architecture.h"

#include <cstdint>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/json_fields.h"

namespace fsc::model {
namespace {

// Parameters of a conv with a bias.
int64_t Conv(int64_t kernel, int64_t in, int64_t out) { return kernel * kernel * in * out + out; }

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("architecture: ", what));
}

absl::Status CheckFilters(const char* field, const std::vector<int64_t>& filters, size_t least) {
  if (filters.size() < least || filters.size() > static_cast<size_t>(kMaxLayers)) {
    return Bad(absl::StrCat(field, " needs ", least, " to ", kMaxLayers, " entries, has ",
                            filters.size()));
  }
  for (int64_t f : filters) {
    if (f < 1 || f > kMaxFilters) {
      return Bad(absl::StrCat(field, " [", absl::StrJoin(filters, ","), "]: filters must be 1 to ",
                              kMaxFilters));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRange(const char* field, int64_t value, int64_t low, int64_t high) {
  if (value < low || value > high) {
    return Bad(absl::StrCat(field, " ", value, " is outside ", low, "..", high));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateArchitecture(const Architecture& arch) {
  if (arch.name.empty() || arch.name.size() > 64 ||
      arch.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789._-") != std::string::npos) {
    return Bad("the name must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  if (absl::Status s = CheckRange("input_size", arch.input_size, 8, kMaxInputSize); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckFilters("encoder_filters", arch.encoder_filters, 1); !s.ok()) return s;
  if (absl::Status s = CheckFilters("decoder_filters", arch.decoder_filters, 0); !s.ok()) return s;
  for (const auto& [field, value, high] :
       {std::tuple<const char*, int64_t, int64_t>{"dense_dim", arch.dense_dim, kMaxDenseDim},
        {"latent_size", arch.latent_size, kMaxInputSize},
        {"latent_channels", arch.latent_channels, kMaxFilters},
        {"encoder_upscale", arch.encoder_upscale, kMaxFilters}}) {
    if (absl::Status s = CheckRange(field, value, 1, high); !s.ok()) return s;
  }
  const int64_t convs = static_cast<int64_t>(arch.encoder_filters.size());
  if ((arch.input_size >> convs) << convs != arch.input_size || (arch.input_size >> convs) < 1) {
    return Bad(absl::StrCat("input_size ", arch.input_size, " does not halve exactly at each of ",
                            convs, " encoder convs"));
  }
  const int64_t doublings = 1 + static_cast<int64_t>(arch.decoder_filters.size());
  if (arch.latent_size << doublings != arch.input_size) {
    return Bad(absl::StrCat("latent_size ", arch.latent_size, " doubled ", doublings,
                            " times (encoder upscale + decoder_filters) is not input_size ",
                            arch.input_size));
  }
  // Every factor is bounded above, so the count cannot overflow.
  const int64_t parameters = ParameterCount(arch, /*learn_mask=*/true);
  if (parameters > kMaxModelParameters) {
    return Bad(absl::StrCat(parameters, " parameters (with a learned mask) exceed fsc's limit of ",
                            kMaxModelParameters));
  }
  return absl::OkStatus();
}

int64_t ParameterCount(const Architecture& arch, bool learn_mask) {
  int64_t encoder = 0;
  int64_t channels = 3;
  for (int64_t filters : arch.encoder_filters) {
    encoder += Conv(5, channels, filters);
    channels = filters;
  }
  const int64_t down = arch.input_size >> arch.encoder_filters.size();
  const int64_t latent = arch.latent_size * arch.latent_size * arch.latent_channels;
  encoder += down * down * channels * arch.dense_dim + arch.dense_dim;
  encoder += arch.dense_dim * latent + latent;
  encoder += Conv(3, arch.latent_channels, 4 * arch.encoder_upscale);
  auto branch = [&](int64_t outputs) {
    int64_t count = 0;
    int64_t in = arch.encoder_upscale;
    for (int64_t filters : arch.decoder_filters) {
      count += Conv(3, in, 4 * filters);
      in = filters;
    }
    return count + Conv(5, in, outputs);
  };
  const int64_t decoder = branch(3) + (learn_mask ? branch(1) : 0);
  return encoder + 2 * decoder;
}

nlohmann::json ArchitectureToJson(const Architecture& arch) {
  return {{"name", arch.name},
          {"input_size", arch.input_size},
          {"encoder_filters", arch.encoder_filters},
          {"dense_dim", arch.dense_dim},
          {"latent_size", arch.latent_size},
          {"latent_channels", arch.latent_channels},
          {"encoder_upscale", arch.encoder_upscale},
          {"decoder_filters", arch.decoder_filters}};
}

absl::StatusOr<Architecture> ArchitectureFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Bad("not a JSON object");
  Architecture arch;
  std::optional<std::string> name = util::JsonAt(json, "name", util::JsonString);
  if (!name) return Bad("\"name\" is not a string");
  arch.name = *std::move(name);
  for (const auto& [field, out] : {std::pair<const char*, int64_t*>{"input_size", &arch.input_size},
                                   {"dense_dim", &arch.dense_dim},
                                   {"latent_size", &arch.latent_size},
                                   {"latent_channels", &arch.latent_channels},
                                   {"encoder_upscale", &arch.encoder_upscale}}) {
    const std::optional<int64_t> value = util::JsonAt(json, field, util::JsonInt64);
    if (!value) return Bad(absl::StrCat("\"", field, "\" is not an integer"));
    *out = *value;
  }
  for (const auto& [field, out] :
       {std::pair<const char*, std::vector<int64_t>*>{"encoder_filters", &arch.encoder_filters},
        {"decoder_filters", &arch.decoder_filters}}) {
    const nlohmann::json* values = util::JsonField(json, field);
    if (values == nullptr || !values->is_array()) {
      return Bad(absl::StrCat("\"", field, "\" is not an array of integers"));
    }
    for (const nlohmann::json& value : *values) {
      const std::optional<int64_t> filters = util::JsonInt64(value);
      if (!filters) return Bad(absl::StrCat("\"", field, "\" is not an array of integers"));
      out->push_back(*filters);
    }
  }
  if (absl::Status valid = ValidateArchitecture(arch); !valid.ok()) return valid;
  return arch;
}

bool SameArchitecture(const Architecture& a, const Architecture& b) {
  return ArchitectureToJson(a) == ArchitectureToJson(b);
}

}  // namespace fsc::model
