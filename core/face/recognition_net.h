// face-api's face recognition network (face_recognition_model, a ResNet-34-like net producing a
// 128-d descriptor), rebuilt in LibTorch. Two descriptors of the same person are close in
// Euclidean distance (face-api uses 0.6 as the same-person threshold).
#ifndef FSC_CORE_FACE_RECOGNITION_NET_H_
#define FSC_CORE_FACE_RECOGNITION_NET_H_

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/landmark_net.h"

namespace fsc::face {

using Descriptor = std::vector<float>;  // 128 values

class RecognitionNet {
 public:
  // Loads models_dir/face-api/model/face_recognition_model-weights_manifest.json.
  static absl::StatusOr<std::unique_ptr<RecognitionNet>> Load(const std::string& models_dir);
  virtual ~RecognitionNet() = default;

  // Descriptors for faces in `image` (8-bit BGR) given their 68 landmarks, the way face-api's
  // withFaceDescriptors does it (crop of the landmark-aligned box, 150x150).
  virtual absl::StatusOr<std::vector<Descriptor>> Describe(
      const cv::Mat& image, const std::vector<Landmarks>& landmarks) = 0;
};

float DescriptorDistance(const Descriptor& a, const Descriptor& b);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_RECOGNITION_NET_H_
