// Steady faces: the faces of a video's alignments linked into tracks, short dropouts inside a
// track filled, and each track's landmarks smoothed over time without lag and never across a
// shot cut; the transform and masks of every smoothed face follow its smoothed landmarks.
//
// Runs on a whole alignments file, after extraction (locally) or after the cluster's merge task,
// so a distributed extraction gives exactly what a local one gives. The landmark net's own
// output stays in the file (Face.raw_landmarks), so stabilising again with other settings, or
// with strength 0, starts from the raw landmarks: the function is idempotent.
//
// One algorithm per file: shot cuts (shot_cuts.h), tracks (face_tracks.h), the smoother
// (landmark_smoother.h); this file orders them.
#ifndef FSC_CORE_FACE_STABILIZE_H_
#define FSC_CORE_FACE_STABILIZE_H_

#include <opencv2/core.hpp>
#include <vector>

#include "absl/status/status.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

struct StabilizeOptions {
  // 0: tracks, cuts and gap filling only (landmarks stay raw); 1: the default smoothing; higher
  // trades more steadiness for less detail of fast motion. Range [0, 8].
  double strength = 1.0;
  // Longest run of frames without a detection that is filled inside a track; a longer gap ends
  // the track. Range [0, 60] (in processed frames).
  int max_gap = 5;
  // Histogram distance (0..1) between neighbouring frames above which a new shot starts.
  double cut_threshold = 0.4;
};

// INVALID_ARGUMENT naming the first option out of its range (the flag, its value, the range).
absl::Status ValidateStabilizeOptions(const StabilizeOptions& options);

// The coarse colour histogram stored per processed video frame (Frame.histogram): an 8-bit BGR
// image -> a fixed number of bins, normalised to sum 1.
std::vector<float> FrameHistogram(const cv::Mat& bgr);

// Assigns track ids, finds shot cuts from the stored histograms, fills gaps up to max_gap, and
// smooths each track's landmarks (keeping raw_landmarks), re-deriving transform and masks at the
// face's aligned_size. Records the settings and counts in `alignments->smoothing`.
// Still images (one frame, or a folder of images) are left as they are. Errors: DATA_LOSS for a
// face whose landmarks cannot give a transform.
absl::Status StabilizeAlignments(const StabilizeOptions& options, proto::Alignments* alignments);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_STABILIZE_H_
