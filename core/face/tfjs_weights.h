// Loads TensorFlow.js weight manifests (`*-weights_manifest.json` + `.bin` shards), as shipped by
// face-api, into named LibTorch tensors. Quantized tensors are dequantized (value = q*scale+min).
// Tensors keep TF.js layout (convolutions HWIO); ToConvWeight / ToDepthwiseWeight convert them.
#ifndef FSC_CORE_FACE_TFJS_WEIGHTS_H_
#define FSC_CORE_FACE_TFJS_WEIGHTS_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fsc::face {

class TfjsWeights {
 public:
  // Reads `manifest_path` and the shards it names (resolved beside it).
  static absl::StatusOr<TfjsWeights> Load(const std::string& manifest_path);

  bool Has(const std::string& name) const { return tensors_.count(name) != 0; }
  // The named tensor, float32 (int32 tensors are converted), with its manifest shape. NOT_FOUND
  // naming the manifest when absent, INVALID_ARGUMENT when the shape is not `expected_shape`
  // (pass {} to skip the check).
  absl::StatusOr<torch::Tensor> Get(const std::string& name,
                                    const std::vector<int64_t>& expected_shape = {}) const;
  // Names in manifest order.
  const std::vector<std::string>& names() const { return names_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> names_;
  std::map<std::string, torch::Tensor> tensors_;
};

// HWIO (TF conv2d filter) -> OIHW (torch conv2d weight).
torch::Tensor ToConvWeight(const torch::Tensor& hwio);
// H x W x C x 1 (TF depthwise filter) -> C x 1 x H x W (torch grouped conv weight).
torch::Tensor ToDepthwiseWeight(const torch::Tensor& hwc1);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_TFJS_WEIGHTS_H_
