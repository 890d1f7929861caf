// FaceSet loading: list a folder's PNGs, read each one's fsc metadata, decode pixels and masks on
// a few threads, and bring every face to one size.
#include "core/train/face_set.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/face/face_metadata.h"
#include "core/media/image_reader.h"
#include "core/util/status_macros.h"
#include "proto/fsc.pb.h"

namespace fsc::train {
namespace {

namespace fs = std::filesystem;

constexpr int kNumLandmarks = 68;
constexpr int kNumMaskTypes = 3;

// A face file as read from disk, before it is brought to the set's size.
struct RawFace {
  absl::Status status;
  std::string path;
  cv::Mat image;                 // native size
  face::Landmarks landmarks;     // native pixels
  std::array<cv::Mat, 3> masks;  // stored size, only the kept types
};

// Runs body(i) for i in [0, count) on up to `threads` threads.
void ParallelFor(int64_t count, int threads, const std::function<void(int64_t)>& body) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, count));
  if (threads <= 1) {
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int64_t i = next++; i < count; i = next++) body(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

bool IsPng(const fs::path& path) {
  return absl::AsciiStrToLower(path.extension().string()) == ".png";
}

// Reads one face file: metadata first (cheap, and the reason to refuse a file), then pixels.
RawFace ReadFace(const std::string& path, const std::vector<face::MaskType>& kept) {
  RawFace raw;
  raw.path = path;
  auto bytes = media::ReadImageFile(path);
  if (!bytes.ok()) {
    raw.status = bytes.status();
    return raw;
  }
  absl::StatusOr<proto::FaceMetadata> metadata = face::ReadFaceMetadata(*bytes, path);
  if (!metadata.ok()) {
    // A PNG that is not a face from fsc is a precondition (the user gave the wrong folder), not
    // damage.
    raw.status = absl::IsNotFound(metadata.status())
                     ? absl::FailedPreconditionError(metadata.status().message())
                     : metadata.status();
    return raw;
  }
  for (const proto::Point& p : metadata->aligned_landmarks())
    raw.landmarks.emplace_back(p.x(), p.y());
  absl::StatusOr<cv::Mat> image = media::DecodeImage(*bytes, cv::IMREAD_COLOR, path);
  if (!image.ok()) {
    raw.status = image.status();
    return raw;
  }
  raw.image = *std::move(image);
  if (raw.image.rows != raw.image.cols) {
    raw.status = absl::InvalidArgumentError(
        absl::StrCat(path, " is ", raw.image.cols, "x", raw.image.rows,
                     "; aligned faces are square, so this is not a face from fsc extract"));
    return raw;
  }
  for (const proto::Mask& stored : metadata->face().masks()) {
    auto type = face::MaskTypeOf(stored.kind());
    if (!type.ok()) continue;  // a newer kind this fsc does not train with
    if (std::find(kept.begin(), kept.end(), *type) == kept.end()) continue;
    absl::StatusOr<cv::Mat> mask =
        media::DecodeImage(stored.png(), cv::IMREAD_GRAYSCALE,
                           absl::StrCat(path, ": its stored ", face::MaskTypeName(*type), " mask"));
    if (!mask.ok() || mask->rows != mask->cols) {
      raw.status = absl::DataLossError(
          absl::StrCat(mask.ok() ? absl::StrCat(path, ": its stored ", face::MaskTypeName(*type),
                                                " mask is not square")
                                 : mask.status().message(),
                       "; re-extract the face"));
      return raw;
    }
    raw.masks[static_cast<int>(*type)] = *std::move(mask);
  }
  return raw;
}

// Resizes a square image to `size` with the interpolation that suits the direction.
cv::Mat ResizeSquare(const cv::Mat& image, int size) {
  if (image.rows == size) return image;
  cv::Mat out;
  cv::resize(image, out, cv::Size(size, size), 0, 0,
             image.rows > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

// Brings a raw face to `size`: pixels, landmarks (pixel-centre convention: p' = (p + ½)·s − ½, as
// cv::resize maps pixels) and the kept masks, drawing those the file does not store.
TrainingFace Finish(RawFace raw, int size, const std::vector<face::MaskType>& kept) {
  TrainingFace face;
  face.path = std::move(raw.path);
  const float scale = static_cast<float>(size) / raw.image.cols;
  face.image = ResizeSquare(raw.image, size);
  face.landmarks.reserve(kNumLandmarks);
  for (const cv::Point2f& p : raw.landmarks) {
    face.landmarks.emplace_back((p.x + 0.5f) * scale - 0.5f, (p.y + 0.5f) * scale - 0.5f);
  }
  for (face::MaskType type : kept) {
    const int index = static_cast<int>(type);
    if (!raw.masks[index].empty()) {
      face.masks[index] = ResizeSquare(raw.masks[index], size);
    } else {
      face.masks[index] = face::BuildLandmarkMask(face.landmarks, cv::Size(size, size), type);
    }
  }
  return face;
}

}  // namespace

absl::StatusOr<FaceSet> FaceSet::Load(const std::string& dir, const FaceSetOptions& options) {
  if (options.size < 0 || (options.size > 0 && options.size < 8)) {
    return absl::InvalidArgumentError(
        absl::StrCat("face set size ", options.size, " is out of range; use 0 or at least 8"));
  }
  std::error_code error;
  if (!fs::exists(dir, error)) {
    return absl::NotFoundError(absl::StrCat(
        "face folder ", dir, " does not exist; run fsc extract INPUT -o ", dir, " first"));
  }
  if (!fs::is_directory(dir, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, " is not a folder; give the folder of faces fsc extract wrote"));
  }
  std::vector<std::string> paths;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->is_regular_file(error) && IsPng(it->path())) paths.push_back(it->path().string());
  }
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot list face folder ", dir, ": ", error.message()));
  }
  if (paths.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no faces in ", dir, " (no .png files); run fsc extract first"));
  }
  std::sort(paths.begin(), paths.end());

  std::vector<RawFace> raws(paths.size());
  ParallelFor(static_cast<int64_t>(paths.size()), options.threads,
              [&](int64_t i) { raws[i] = ReadFace(paths[i], options.masks); });

  FaceSet set;
  set.dir_ = dir;
  std::vector<RawFace> good;
  for (RawFace& raw : raws) {
    if (raw.status.ok()) {
      good.push_back(std::move(raw));
    } else if (options.skip_invalid) {
      set.warnings_.push_back(absl::StrCat("skipped: ", raw.status.message()));
    } else {
      return raw.status;
    }
  }
  if (good.empty()) {
    return absl::NotFoundError(absl::StrCat("no usable faces in ", dir, ": all ", paths.size(),
                                            " PNG files were skipped (see the warnings); run fsc "
                                            "extract first"));
  }
  set.image_size_ = options.size > 0 ? options.size : good.front().image.cols;
  set.faces_.resize(good.size());
  ParallelFor(static_cast<int64_t>(good.size()), options.threads, [&](int64_t i) {
    set.faces_[i] = Finish(std::move(good[i]), set.image_size_, options.masks);
  });
  return set;
}

absl::StatusOr<FaceSet> FaceSet::FromFaces(std::vector<TrainingFace> faces) {
  if (faces.empty()) return absl::InvalidArgumentError("FaceSet::FromFaces: no faces");
  const int size = faces.front().image.cols;
  for (const TrainingFace& face : faces) {
    if (face.image.type() != CV_8UC3 || face.image.rows != size || face.image.cols != size) {
      return absl::InvalidArgumentError(absl::StrCat("FaceSet::FromFaces: face ", face.path,
                                                     " is not a ", size, "x", size,
                                                     " BGR 8-bit image"));
    }
    if (face.landmarks.size() != kNumLandmarks) {
      return absl::InvalidArgumentError(absl::StrCat("FaceSet::FromFaces: face ", face.path,
                                                     " has ", face.landmarks.size(),
                                                     " landmarks, expected 68"));
    }
    for (const cv::Mat& mask : face.masks) {
      if (!mask.empty() && (mask.type() != CV_8UC1 || mask.rows != size || mask.cols != size)) {
        return absl::InvalidArgumentError(absl::StrCat("FaceSet::FromFaces: a mask of face ",
                                                       face.path, " is not ", size, "x", size,
                                                       " 8-bit"));
      }
    }
  }
  FaceSet set;
  set.image_size_ = size;
  set.faces_ = std::move(faces);
  return set;
}

int64_t FaceSet::memory_bytes() const {
  int64_t total = 0;
  for (const TrainingFace& face : faces_) {
    total += static_cast<int64_t>(face.image.total() * face.image.elemSize());
    for (int i = 0; i < kNumMaskTypes; ++i) {
      total += static_cast<int64_t>(face.masks[i].total() * face.masks[i].elemSize());
    }
  }
  return total;
}

}  // namespace fsc::train
