// TensorFlow.js weight manifests (`*-weights_manifest.json`, as face-api ships them), parsed and
// checked without LibTorch: which shards hold which tensors, where each tensor's bytes lie and how
// to turn them into floats. tfjs_weights.h loads the shards into tensors on top of this.
//
// A manifest is a JSON array of groups {"paths": [SHARD...], "weights": [SPEC...]}; a group's
// shards, concatenated, hold its tensors back to back in SPEC order. SPEC = {"name", "shape",
// "dtype", optional "quantization": {"dtype", "scale", "min"}} (value = q * scale + min).
#ifndef FSC_CORE_FACE_TFJS_MANIFEST_H_
#define FSC_CORE_FACE_TFJS_MANIFEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsc::face {

// The largest tensor (elements) and group (bytes) a manifest may declare: face-api's biggest
// tensor has 2.4 M elements; these bounds keep a hostile manifest from asking for gigabytes.
inline constexpr int64_t kMaxTfjsTensorElements = int64_t{1} << 28;
inline constexpr int64_t kMaxTfjsGroupBytes = int64_t{1} << 30;

enum class TfjsStorage { kUint8, kUint16, kInt32, kFloat32 };

struct TfjsTensorSpec {
  std::string name;
  std::vector<int64_t> shape;  // each >= 0; [] is a scalar
  int64_t count = 1;           // elements: the product of shape
  TfjsStorage storage = TfjsStorage::kFloat32;
  bool quantized = false;
  double scale = 1.0;  // when quantized
  double min = 0.0;
  int64_t offset = 0;  // in the group's data
  int64_t bytes = 0;
};

struct TfjsWeightGroup {
  std::vector<std::string> paths;  // shard files, relative to the manifest's folder
  std::vector<TfjsTensorSpec> tensors;
  int64_t bytes = 0;  // what the shards must hold together
};

// Parses the manifest text; errors start with `what` (the manifest's path). INVALID_ARGUMENT for
// anything but a well-formed manifest fsc can read: wrong JSON types, a shard path that leaves
// the manifest's folder, a duplicate tensor name, an unsupported dtype (float16 storage), a
// negative dimension, a non-finite quantization, or a tensor or group over the limits above.
absl::StatusOr<std::vector<TfjsWeightGroup>> ParseTfjsManifest(absl::string_view text,
                                                               const std::string& what);

// Writes the `spec.count` float values of `spec` to `out`, reading its bytes from `group_data`
// (the group's shards concatenated). DATA_LOSS naming `what` when the data ends before them.
absl::Status DecodeTfjsTensor(const TfjsTensorSpec& spec, absl::string_view group_data,
                              const std::string& what, float* out);

// Where the manifest `file` of face-api's published weights lies in a models folder (as
// scripts/setup lays it out): models_dir/face-api/model/file.
std::string FaceApiManifestPath(const std::string& models_dir, const std::string& file);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_TFJS_MANIFEST_H_
