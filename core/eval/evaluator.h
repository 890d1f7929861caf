// `fsc eval`'s engine: how good is a face swap? It compares a converted video (or image folder)
// with the source it was made from, frame by frame, on the faces the source's alignments file
// lists, the way the face-swap papers (FaceShifter, SimSwap, HifiFace on FaceForensics++) and
// users judge a swap:
//
//   identity     identity.h: the swapped face against person B (centroid of B's extracted
//                faces), person A (centroid of the source faces) and the source face of the
//                same frame; ID retrieval share (closer to B than to A).
//   pose         head pose (core/face/head_pose.h) of the swapped face vs the source face, from
//                68 landmarks re-detected on both frames with the alignments' face box
//                (landmark_errors.h).
//   expression   NME of the re-detected landmarks after similarity alignment
//                (landmark_errors.h).
//   temporal     landmark jitter of the source alignments and of the landmarks re-detected on
//                both videos (jitter.h); flicker inside the face mask relative to the source's
//                own (flicker.h). Videos only: images in a folder are not a sequence.
//   seam         colour step and gradient along the mask's outline vs the source (seam.h).
//   label        whether the output carries fsc's synthetic label (core/convert/verify.h).
//
// The mask is the "extended" landmark mask (convert's default for models without a learned mask)
// drawn from the alignments' landmarks, i.e. where convert blended the face; models with a
// learned mask blend inside a mask of their own, which this approximates.
//
// Everything that can be checked is checked before any frame is measured: both inputs open and
// are the same kind (video/folder), with the same frame count, size and frame rate (folders: the
// same file names); the alignments file belongs to the source (fingerprint and frame count); the
// identity folder holds extracted faces. Each refusal says what differs and what to pass instead.
#ifndef FSC_CORE_EVAL_EVALUATOR_H_
#define FSC_CORE_EVAL_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/convert/verify.h"
#include "core/eval/flicker.h"
#include "core/eval/identity.h"
#include "core/eval/jitter.h"
#include "core/eval/landmark_errors.h"
#include "core/eval/seam.h"
#include "core/eval/stats.h"
#include "core/face/head_pose.h"

namespace fsc::eval {

// Half-width of the seam band in pixels of a 256 px aligned face (scaled to each face's size in
// the frame): convert's default feather (--mask-blur 8) plus a margin.
inline constexpr double kSeamBandAligned = 12.0;
// Identity-distance histograms: bins of 0.1 over [0, 1.2).
inline constexpr double kHistogramHigh = 1.2;
inline constexpr int kHistogramBins = 12;

struct EvalOptions {
  std::string source;           // the video or image folder that was converted
  std::string alignments_path;  // its alignments file, as fsc extract wrote it
  std::string identity_dir;     // person B's extracted faces; empty: no identity-to-B figures
  std::string models_dir = "models";
  int64_t max_frames = 0;    // 0: every frame; N: the first N frames of the source
  int threads = 2;           // LibTorch threads for the landmark and recognition nets
  int identity_faces = 200;  // at most this many of B's faces make B's centroid
  int sample_faces = 4;      // faces kept as close-ups for the report sheet
  bool check_label = true;   // run fsc verify's check on the swapped output
};

// One face of the alignments file, measured. Figures that could not be measured are NaN (e.g. no
// pose fit, or the first frame of a track for flicker).
struct FaceRecord {
  int64_t frame = 0;
  int face = 0;   // index within the frame in the alignments file
  int track = 0;  // tracks link a face across consecutive frames (jitter.h)
  face::Landmarks source_landmarks, swapped_landmarks;  // re-detected, frame pixels
  face::Descriptor source_id, swapped_id;               // on those landmarks
  IdentitySample identity;                              // to_b / source_to_b NaN without --identity
  face::HeadPose source_pose, swapped_pose;
  bool pose_measured = false;
  PoseError pose;
  double nme = std::numeric_limits<double>::quiet_NaN();
  SeamSample seam;
  FlickerSample flicker;  // against the previous frame of the track (pixels 0: none)
  // sqrt(SecondDifferenceEnergy) of the alignments' landmarks here; NaN at a track's ends.
  double alignments_jitter = std::numeric_limits<double>::quiet_NaN();
};

// A face kept for the report sheet.
struct SampleFace {
  int64_t frame = 0;
  cv::Mat source, swapped;              // square close-ups, 8-bit BGR
  cv::Mat source_frame, swapped_frame;  // whole frames, downscaled
};

struct EvalReport {
  std::string swapped, source, alignments, identity_dir;
  bool video = false;
  int width = 0, height = 0;
  double fps = 0;
  int64_t source_frames = 0;     // in the source
  int64_t frames_evaluated = 0;  // frames read from both inputs
  int64_t faces_listed = 0;      // faces of the alignments file in the evaluated frames
  int64_t faces_measured = 0;    // faces whose landmarks were found on both frames

  // Identity.
  IdentityReference identity;   // B's reference (faces 0: not given)
  face::Descriptor a_centroid;  // of the source faces measured
  double a_spread = 0;          // their mean distance to it
  Summary to_b, to_a, to_source, source_to_b;
  double retrieval = 0;  // share of faces closer to B's centroid than to A's (0..1)
  Histogram to_b_histogram, to_source_histogram;
  // Pose, degrees.
  Summary pose_yaw, pose_pitch, pose_roll, pose_rotation;
  // Expression.
  Summary nme;
  // Temporal (videos).
  JitterFigures alignments_jitter, source_jitter, swapped_jitter;
  FlickerSample flicker;
  double flicker_ratio = 0;  // NaN when not measured
  // Seam.
  SeamSample seam;
  double seam_color_excess = 0;    // mean Delta E step, swapped minus source
  double seam_gradient_ratio = 0;  // mean band gradient, swapped / source
  // Synthetic label.
  bool label_checked = false;
  bool labelled_synthetic = false;
  convert::VerifyReport label;
  std::string label_error;  // why the label could not be checked

  std::vector<FaceRecord> faces;
  std::vector<SampleFace> samples;
  std::vector<std::string> unreadable;  // frames or images that could not be decoded (each named)
  std::vector<std::string> warnings;    // faces left out of a figure, and why
  double seconds = 0;
};

// Called after each evaluated frame with (frames done, frames expected).
using EvalProgress = std::function<void(int64_t, int64_t)>;

// Evaluates `swapped` against options.source. INVALID_ARGUMENT for inputs that do not belong
// together (the message names both and the difference), NOT_FOUND for missing inputs or an
// identity folder without faces, DATA_LOSS for a corrupt alignments file.
absl::StatusOr<EvalReport> RunEvaluation(const std::string& swapped, const EvalOptions& options,
                                         const EvalProgress& progress = nullptr);

// The summary figures from the per-face records (RunEvaluation calls it; exposed for tests).
void Summarise(EvalReport* report);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_EVALUATOR_H_
