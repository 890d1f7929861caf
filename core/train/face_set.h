// A training face set: every aligned face PNG of one folder written by `fsc extract`, decoded into
// memory with the landmarks and landmark masks its embedded metadata (fsCm chunk) carries.
//
// Faces are kept decoded (BGR 8-bit) for the whole run, because augmentation touches every face
// each epoch and PNG decoding would cost more than the augmentation itself. Memory is about
// size² × (3 + number of masks kept) bytes per face: 256 px faces with one mask take 256 KiB, so
// 1,000 faces take 250 MiB. FaceSetOptions::size (resize on load) and ::masks (which masks to
// keep) bring that down for large sets.
//
// Like Faceswap, a face without alignment data is refused: a PNG without fsc metadata is an error
// naming the file, unless FaceSetOptions::skip_invalid is set, in which case it is skipped and
// listed in warnings().
#ifndef FSC_CORE_TRAIN_FACE_SET_H_
#define FSC_CORE_TRAIN_FACE_SET_H_

#include <array>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/landmark_net.h"
#include "core/face/mask.h"

namespace fsc::train {

struct FaceSetOptions {
  // Side every face is resized to on load (landmarks and masks follow); 0 keeps the size of the
  // first face (by file name), so mixed sizes end up equal either way.
  int size = 0;
  // Which landmark masks to keep. A type the metadata lacks (older extracts) is drawn from the
  // landmarks instead, so every kept type is always present.
  std::vector<face::MaskType> masks = {face::MaskType::kHull, face::MaskType::kComponents,
                                       face::MaskType::kExtended};
  // false (default, as Faceswap): a .png without readable fsc metadata fails the load.
  // true: such files are skipped and named in warnings().
  bool skip_invalid = false;
  // Decoding threads; 0: one per hardware thread.
  int threads = 0;
};

// One aligned face, ready for augmentation.
struct TrainingFace {
  std::string path;
  cv::Mat image;              // size x size, CV_8UC3, BGR
  face::Landmarks landmarks;  // 68 points in image pixels (pixel centres at integer coordinates)
  // Indexed by face::MaskType; CV_8UC1 size x size (0 outside, 255 inside), empty if not kept.
  std::array<cv::Mat, 3> masks;

  const cv::Mat& mask(face::MaskType type) const { return masks[static_cast<int>(type)]; }
};

class FaceSet {
 public:
  // Loads every *.png (case-insensitive, not recursive, sorted by name) of `dir`. Errors:
  // NOT_FOUND when `dir` does not exist or holds no .png files ("run fsc extract first"),
  // FAILED_PRECONDITION for a PNG without fsc metadata, DATA_LOSS for a corrupt PNG or metadata,
  // INVALID_ARGUMENT for a non-square face or bad options. Each error names the file.
  static absl::StatusOr<FaceSet> Load(const std::string& dir, const FaceSetOptions& options = {});

  // A set from faces already in memory (tests, benchmarks on synthetic data). Every face must be
  // square CV_8UC3 of one size with 68 landmarks; masks, where present, of the same size.
  static absl::StatusOr<FaceSet> FromFaces(std::vector<TrainingFace> faces);

  const std::string& dir() const { return dir_; }
  int64_t size() const { return static_cast<int64_t>(faces_.size()); }
  // Side of every face's image.
  int image_size() const { return image_size_; }
  const TrainingFace& operator[](int64_t index) const { return faces_[index]; }
  const std::vector<TrainingFace>& faces() const { return faces_; }
  // Files skipped (with skip_invalid) and why, one line each.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Bytes held by the decoded images and masks.
  int64_t memory_bytes() const;

 private:
  std::string dir_;
  int image_size_ = 0;
  std::vector<TrainingFace> faces_;
  std::vector<std::string> warnings_;
};

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_FACE_SET_H_
