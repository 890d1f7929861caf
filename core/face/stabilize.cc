// StabilizeAlignments: restore raw landmarks, find cuts, link tracks, fill gaps, smooth, and
// re-derive every changed face's transform and masks as the extractor derives them.
#include "core/face/stabilize.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/face/alignment.h"
#include "core/face/extract_spec.h"
#include "core/face/face_tracks.h"
#include "core/face/landmark_smoother.h"
#include "core/face/mask.h"
#include "core/face/shot_cuts.h"
#include "core/rpc/option_schema.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

// Undoes an earlier stabilisation: raw landmarks back, filled faces and derived fields gone.
// Returns the faces whose landmarks were restored (their transform and masks followed smoothed
// landmarks and must be derived again) by frame index and position in the frame.
std::set<std::pair<int64_t, int>> RestoreRaw(proto::Alignments* alignments) {
  std::set<std::pair<int64_t, int>> restored;
  for (proto::Frame& frame : *alignments->mutable_frames()) {
    auto* faces = frame.mutable_faces();
    faces->erase(std::remove_if(faces->begin(), faces->end(),
                                [](const proto::Face& f) { return f.filled(); }),
                 faces->end());
    frame.set_shot_cut(false);
    for (int i = 0; i < faces->size(); ++i) {
      proto::Face& face = (*faces)[i];
      face.set_track_id(0);
      if (face.raw_landmarks_size() == 0) continue;
      face.mutable_landmarks()->Swap(face.mutable_raw_landmarks());
      face.clear_raw_landmarks();
      restored.insert({frame.index(), i});
    }
  }
  return restored;
}

struct TrackSample {
  int64_t index;
  proto::Face* face;
};

// Every track's faces in frame order.
std::map<int, std::vector<TrackSample>> CollectTracks(proto::Alignments* alignments) {
  std::map<int, std::vector<TrackSample>> tracks;
  for (proto::Frame& frame : *alignments->mutable_frames()) {
    for (proto::Face& face : *frame.mutable_faces()) {
      if (face.track_id() > 0) tracks[face.track_id()].push_back({frame.index(), &face});
    }
  }
  return tracks;
}

// Smooths one track's landmarks; observed faces whose landmarks change keep the raw ones.
void SmoothTrack(const std::vector<TrackSample>& track, int64_t step, double strength) {
  std::vector<double> times;
  std::vector<Landmarks> landmarks;
  std::vector<bool> observed;
  for (const TrackSample& s : track) {
    times.push_back(static_cast<double>(s.index - track.front().index) / step);
    landmarks.push_back(LandmarksFromPoints(s.face->landmarks()));
    observed.push_back(!s.face->filled());
  }
  SmootherOptions options;
  options.strength = strength;
  const std::vector<Landmarks> smooth = SmoothLandmarkTrack(times, landmarks, observed, options);
  for (size_t k = 0; k < track.size(); ++k) {
    proto::Face* face = track[k].face;
    if (smooth[k] == landmarks[k]) continue;
    if (!face->filled()) *face->mutable_raw_landmarks() = face->landmarks();
    SetLandmarkPoints(smooth[k], face->mutable_landmarks());
  }
}

// The transform and masks of `face` from its landmarks, exactly as the extractor derives them
// (AlignFace's transform at aligned_size; masks drawn on the aligned landmarks scaled to the
// mask's size), for the mask kinds and sizes the face has.
absl::Status DeriveTransformAndMasks(int64_t index, proto::Face* face) {
  if (face->aligned_size() <= 0) return absl::OkStatus();
  const Landmarks landmarks = LandmarksFromPoints(face->landmarks());
  absl::StatusOr<cv::Mat> transform = AlignmentTransform(landmarks, face->aligned_size());
  if (!transform.ok()) {
    return absl::DataLossError(absl::StrCat("frame ", index, ": a face's landmarks give no ",
                                            "transform: ", transform.status().message()));
  }
  face->mutable_transform()->clear_m();
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) face->mutable_transform()->add_m(transform->at<double>(r, c));
  }
  const Landmarks aligned = TransformPoints(*transform, landmarks);
  for (proto::Mask& mask : *face->mutable_masks()) {
    const MaskType type = MaskTypeOf(mask.kind()).value_or(MaskType::kHull);
    mask = EncodeLandmarkMask(aligned, face->aligned_size(), mask.size(), type);
  }
  return absl::OkStatus();
}

bool IsStill(const proto::Alignments& alignments) {
  if (alignments.frames_size() <= 1) return true;
  for (const proto::Frame& frame : alignments.frames()) {
    if (!frame.name().empty()) return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateStabilizeOptions(const StabilizeOptions& options) {
  FSC_RETURN_IF_ERROR(rpc::ValidateOptionFlags(StabilizeSpecOf(options)));
  // Not a job option (no flag offers it): its range is only the code's.
  if (!(options.cut_threshold > 0 && options.cut_threshold <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--cut-threshold ", options.cut_threshold,
                                                   " is out of range; use a value in (0, 1]"));
  }
  return absl::OkStatus();
}

absl::Status StabilizeAlignments(const StabilizeOptions& options, proto::Alignments* alignments) {
  FSC_RETURN_IF_ERROR(ValidateStabilizeOptions(options));
  if (IsStill(*alignments)) return absl::OkStatus();
  auto* frames = alignments->mutable_frames();
  auto by_index = [](const proto::Frame& a, const proto::Frame& b) {
    return a.index() < b.index();
  };
  if (!std::is_sorted(frames->begin(), frames->end(), by_index)) {
    std::stable_sort(frames->begin(), frames->end(), by_index);
  }
  const std::set<std::pair<int64_t, int>> restored = RestoreRaw(alignments);
  proto::Smoothing* smoothing = alignments->mutable_smoothing();
  smoothing->set_strength(options.strength);
  smoothing->set_max_gap(options.max_gap);
  smoothing->set_shot_cuts(MarkShotCuts(options.cut_threshold, alignments));
  smoothing->set_tracks(AssignTracks(options.max_gap, alignments));
  smoothing->set_faces_filled(FillTrackGaps(options.max_gap, alignments));
  const int64_t step = FrameStep(*alignments);
  std::map<int, std::vector<TrackSample>> tracks = CollectTracks(alignments);
  if (options.strength > 0) {
    for (const auto& [id, track] : tracks) SmoothTrack(track, step, options.strength);
  }
  // Filled faces are appended to their frames: the others keep their positions.
  for (proto::Frame& frame : *frames) {
    for (int i = 0; i < frame.faces_size(); ++i) {
      proto::Face& face = *frame.mutable_faces(i);
      if (!face.filled() && face.raw_landmarks_size() == 0 && !restored.count({frame.index(), i}))
        continue;
      FSC_RETURN_IF_ERROR(DeriveTransformAndMasks(frame.index(), &face));
    }
  }
  return absl::OkStatus();
}

}  // namespace fsc::face
