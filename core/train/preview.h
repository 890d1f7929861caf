// The training preview: a PNG grid that shows how far the model has come, as Faceswap's preview
// window does. One row per fixed face pair (face i of A, face i of B), six columns:
//   A | A→A (reconstruction) | A→B (swap) | B | B→B | B→A
// under a header strip naming the columns. Cells are the model's size (S px), so a grid is
// 6·S wide and kPreviewHeader + rows·S tall. The faces are un-augmented coverage crops
// (MakePlainBatch), the same ones at every interval, so successive previews are comparable.
#ifndef FSC_CORE_TRAIN_PREVIEW_H_
#define FSC_CORE_TRAIN_PREVIEW_H_

#include <torch/torch.h>

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/train/batch_loader.h"
#include "core/train/train_step.h"

namespace fsc::train {

inline constexpr int kPreviewColumns = 6;
inline constexpr int kPreviewHeader = 16;

// Width and height of a grid with `rows` rows of `face_size` px faces.
cv::Size PreviewSize(int rows, int face_size);

// `count` face indices spread evenly over a set of `set_size` faces (all of them if fewer).
std::vector<int64_t> PreviewFaces(int64_t set_size, int count);

// N x 3 x S x S RGB float 0..1 (CPU) -> N BGR 8-bit images.
std::vector<cv::Mat> TensorToImages(const torch::Tensor& batch);

// Renders the grid for plain batches `a` and `b` (rows = the smaller batch) with the step's
// current model. INTERNAL if the model fails.
absl::StatusOr<cv::Mat> RenderPreview(TrainStep& step, const Batch& a, const Batch& b);

// PNG-encodes `image` and writes it atomically to `path`.
absl::Status WritePng(const cv::Mat& image, const std::string& path);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_PREVIEW_H_
