// The face networks `fsc eval` runs on every frame (68-point landmarks, recognition), one set per
// worker thread, lent out call by call. These small networks see one or two faces per call and
// gain little from LibTorch's intra-op threads, while on a busy machine the spinning OpenMP
// workers cost far more than they gain (measured here under load: 40 frames took 60 s of CPU with
// 2 intra-op threads, 5 s with 1). So the evaluator runs every call on its caller's thread
// (at::set_num_threads(1)) and gets its parallelism from several frames at once.
#ifndef FSC_CORE_EVAL_NET_POOL_H_
#define FSC_CORE_EVAL_NET_POOL_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/landmark_net.h"
#include "core/face/recognition_net.h"

namespace fsc::eval {

class FaceNetPool {
 public:
  // `size` sets of networks from models_dir (errors name the missing model).
  static absl::StatusOr<std::unique_ptr<FaceNetPool>> Load(const std::string& models_dir, int size);

  // As LandmarkNet::Predict / RecognitionNet::Describe, on whichever set is free (blocks until
  // one is). Safe to call from several threads.
  absl::StatusOr<std::vector<face::Landmarks>> Landmarks(const cv::Mat& image,
                                                         const std::vector<cv::Rect2f>& boxes);
  absl::StatusOr<std::vector<face::Descriptor>> Describe(
      const cv::Mat& image, const std::vector<face::Landmarks>& landmarks);

  int size() const { return static_cast<int>(sets_.size()); }

 private:
  struct Set {
    std::unique_ptr<face::LandmarkNet> landmarks;
    std::unique_ptr<face::RecognitionNet> recognition;
  };
  Set& Lease();
  void Release(Set& set);

  std::vector<Set> sets_;
  std::vector<Set*> free_;
  std::mutex mutex_;
  std::condition_variable returned_;
};

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_NET_POOL_H_
