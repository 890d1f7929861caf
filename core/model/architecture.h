// A face-swap model's layout (the shape of its encoder and decoders) and its JSON form, without
// LibTorch. Layouts come from outside: `fsc train --architecture FILE`, checkpoint manifests and
// cluster train jobs carry them, so every layout read is validated before a model is built from
// it (a hostile one could otherwise ask for terabytes or undefined shifts).
#ifndef FSC_CORE_MODEL_ARCHITECTURE_H_
#define FSC_CORE_MODEL_ARCHITECTURE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsc::model {

struct Architecture {
  std::string name;
  int64_t input_size = 64;               // S: input and output are S x S
  std::vector<int64_t> encoder_filters;  // one stride-2 conv each
  int64_t dense_dim = 0;                 // width of the bottleneck dense layer
  int64_t latent_size = 4;               // side of the reshaped dense output
  int64_t latent_channels = 0;           // its channels
  int64_t encoder_upscale = 0;           // filters of the encoder's final upscale
  std::vector<int64_t> decoder_filters;  // one upscale each, then the output conv
  // Each decoder upscale doubles the side: latent_size * 2^(1 + decoder_filters.size()) == S.
};

struct ModelOptions {
  bool learn_mask = false;  // decoders also output a 1-channel mask (sigmoid)
  bool icnr_init = true;    // ICNR for the upscale convs (Faceswap's option; off there by default)
  uint64_t seed = 0;        // weights are a function of the seed alone
};

// Bounds of a layout fsc builds: sides up to 1024 px, up to 8 convs or upscales a side, layers up
// to 4096 filters, and at most 250 M parameters with a learned mask (the largest named model,
// dfl-h128, has 108 M).
inline constexpr int64_t kMaxInputSize = 1024;
inline constexpr int64_t kMaxLayers = 8;
inline constexpr int64_t kMaxFilters = 4096;
inline constexpr int64_t kMaxDenseDim = 65536;
inline constexpr int64_t kMaxModelParameters = 250'000'000;

// OK when a model can be built from `arch` within the bounds above; INVALID_ARGUMENT saying which
// field is wrong otherwise (a name of letters, digits, '.', '_' and '-'; sizes that halve and
// double to the input size exactly).
absl::Status ValidateArchitecture(const Architecture& arch);

// The number of parameters (weights and biases) of the encoder and both decoders of a model with
// this layout; each decoder has a second (mask) branch when `learn_mask`. `arch` must validate.
int64_t ParameterCount(const Architecture& arch, bool learn_mask);

nlohmann::json ArchitectureToJson(const Architecture& arch);
// Parses and validates; INVALID_ARGUMENT naming the field otherwise. Never throws.
absl::StatusOr<Architecture> ArchitectureFromJson(const nlohmann::json& json);
bool SameArchitecture(const Architecture& a, const Architecture& b);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_ARCHITECTURE_H_
