// Face PNG metadata: FaceMetadata -> fsCm chunk, and back with the checks every reader needs.
#include "core/face/face_metadata.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/face/alignment.h"
#include "core/face/alignments_file.h"
#include "core/face/face_png.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

constexpr int kNumLandmarks = 68;

}  // namespace

absl::StatusOr<proto::FaceMetadata> ReadFaceMetadata(absl::string_view png_bytes,
                                                     absl::string_view name) {
  absl::StatusOr<std::string> bytes = ReadPngMetadata(png_bytes);
  if (absl::IsNotFound(bytes.status())) {
    return absl::NotFoundError(absl::StrCat(
        name,
        " has no fsc face metadata, so its landmarks are unknown (it was not written by fsc "
        "extract, or was re-saved by an editor that dropped the fsCm chunk); re-extract the "
        "faces with fsc extract or remove the file"));
  }
  if (!bytes.ok()) {
    return absl::DataLossError(absl::StrCat(name, ": ", bytes.status().message()));
  }
  proto::FaceMetadata metadata;
  if (!metadata.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(
        name, ": the fsc face metadata cannot be parsed; the file is corrupt, re-extract it"));
  }
  if (metadata.version() > kAlignmentsVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, ": face metadata version ", metadata.version(), " is newer than this fsc reads (",
        kAlignmentsVersion, "); update fsc or re-extract the faces with this version"));
  }
  if (metadata.aligned_landmarks_size() != kNumLandmarks) {
    return absl::DataLossError(absl::StrCat(name, ": face metadata holds ",
                                            metadata.aligned_landmarks_size(),
                                            " aligned landmarks, expected 68; re-extract it"));
  }
  for (const proto::Point& p : metadata.aligned_landmarks()) {
    for (float v : {p.x(), p.y()}) {
      if (!std::isfinite(v) || std::abs(v) > kMaxFaceCoordinate) {
        return absl::DataLossError(absl::StrCat(name, ": face metadata has the aligned landmark ",
                                                "coordinate ", v, "; re-extract the face"));
      }
    }
  }
  return metadata;
}

std::string FaceFileName(const std::string& source_path, const std::string& frame_name,
                         int64_t frame, int face_index) {
  namespace fs = std::filesystem;
  const std::string stem = frame_name.empty() ? fs::path(source_path).stem().string()
                                              : fs::path(frame_name).stem().string();
  return absl::StrFormat("%s_%06d_%d.png", stem, frame, face_index);
}

proto::FaceMetadata MakeFaceMetadata(const proto::SourceInfo& source, int64_t frame, int face_index,
                                     const proto::Face& face,
                                     const std::vector<cv::Point2f>& aligned_landmarks) {
  proto::FaceMetadata metadata;
  metadata.set_version(kAlignmentsVersion);
  metadata.set_source(source.path());
  metadata.set_source_sha256(source.sha256());
  metadata.set_frame(frame);
  metadata.set_face_index(face_index);
  *metadata.mutable_face() = face;
  SetLandmarkPoints(aligned_landmarks, metadata.mutable_aligned_landmarks());
  return metadata;
}

absl::Status WriteFacePng(const std::string& path, const cv::Mat& crop,
                          const proto::FaceMetadata& metadata) {
  FSC_ASSIGN_OR_RETURN(std::string png, EncodePngWithMetadata(crop, metadata.SerializeAsString()));
  return util::WriteFileAtomically(path, png);
}

}  // namespace fsc::face
