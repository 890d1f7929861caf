// A pool of face network sets, lent call by call to the evaluator's threads.
#include "core/eval/net_pool.h"

#include <algorithm>

#include "core/util/status_macros.h"

namespace fsc::eval {

absl::StatusOr<std::unique_ptr<FaceNetPool>> FaceNetPool::Load(const std::string& models_dir,
                                                               int size) {
  auto pool = std::unique_ptr<FaceNetPool>(new FaceNetPool());
  pool->sets_.resize(std::max(1, size));
  for (Set& set : pool->sets_) {
    FSC_ASSIGN_OR_RETURN(set.landmarks, face::LandmarkNet::Load(models_dir));
    FSC_ASSIGN_OR_RETURN(set.recognition, face::RecognitionNet::Load(models_dir));
    pool->free_.push_back(&set);
  }
  return pool;
}

FaceNetPool::Set& FaceNetPool::Lease() {
  std::unique_lock<std::mutex> lock(mutex_);
  returned_.wait(lock, [&] { return !free_.empty(); });
  Set* set = free_.back();
  free_.pop_back();
  return *set;
}

void FaceNetPool::Release(Set& set) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(&set);
  }
  returned_.notify_one();
}

absl::StatusOr<std::vector<face::Landmarks>> FaceNetPool::Landmarks(
    const cv::Mat& image, const std::vector<cv::Rect2f>& boxes) {
  Set& set = Lease();
  auto result = set.landmarks->Predict(image, boxes);
  Release(set);
  return result;
}

absl::StatusOr<std::vector<face::Descriptor>> FaceNetPool::Describe(
    const cv::Mat& image, const std::vector<face::Landmarks>& landmarks) {
  Set& set = Lease();
  auto result = set.recognition->Describe(image, landmarks);
  Release(set);
  return result;
}

}  // namespace fsc::eval
