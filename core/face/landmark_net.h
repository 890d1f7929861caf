// face-api's 68-point landmark network (face_landmark_68_model), rebuilt in LibTorch from its
// TF.js weights. Given face boxes in an image it returns 68 landmarks per box in image pixels,
// running all faces of a call as one batch.
#ifndef FSC_CORE_FACE_LANDMARK_NET_H_
#define FSC_CORE_FACE_LANDMARK_NET_H_

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fsc::face {

using Landmarks = std::vector<cv::Point2f>;  // 68 points, iBUG 300-W order

class LandmarkNet {
 public:
  // Loads models_dir/face-api/model/face_landmark_68_model-weights_manifest.json.
  static absl::StatusOr<std::unique_ptr<LandmarkNet>> Load(const std::string& models_dir);
  virtual ~LandmarkNet() = default;

  // `image` is 8-bit BGR; `boxes` are detector boxes in its pixels. Returns one Landmarks per box,
  // in the same order, in image pixels.
  virtual absl::StatusOr<std::vector<Landmarks>> Predict(const cv::Mat& image,
                                                         const std::vector<cv::Rect2f>& boxes) = 0;
};

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_LANDMARK_NET_H_
