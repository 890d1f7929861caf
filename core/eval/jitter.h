// Temporal stability of landmarks: how much the landmarks of one face shake from frame to frame.
//
// Faces of consecutive frames are linked into tracks (a face continues the track whose face in
// the previous frame overlaps it most). Along a track, the second difference of each landmark,
//   a(t) = x(t+1) - 2 x(t) + x(t-1),
// is zero for a face at rest or moving at constant speed, and large for jitter: a landmark that
// jumps by s pixels in one frame and back gives |a| = s, 2s, s. The jitter of a track is the RMS
// of |a| over its landmarks and frame triples, each divided by the face's inter-ocular distance
// in the middle frame: sqrt(mean |a|^2 / iod^2), a fraction of the face's size, so a close-up and
// a distant face with the same relative shake score alike. Landmarks that alternate by +-s every
// frame score 4 s / iod.
#ifndef FSC_CORE_EVAL_JITTER_H_
#define FSC_CORE_EVAL_JITTER_H_

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "core/face/landmark_net.h"

namespace fsc::eval {

// A face of one frame, as the alignments file lists it.
struct FrameFace {
  int64_t frame = 0;
  cv::Rect2f box;
};

// Minimum box overlap (intersection over union) for a face to continue a track.
inline constexpr double kTrackMinIou = 0.3;

// Links `faces` (sorted by frame) into tracks of consecutive frames; returns, per track, the
// indices into `faces` in frame order. A face without a match in the previous frame (or after a
// frame with no faces) starts a new track; each face continues at most one track.
std::vector<std::vector<int>> LinkTracks(const std::vector<FrameFace>& faces);

// mean |a|^2 / iod(current)^2 for one frame triple (0 when the current iod is 0).
double SecondDifferenceEnergy(const face::Landmarks& previous, const face::Landmarks& current,
                              const face::Landmarks& next);

struct JitterFigures {
  double jitter = 0;    // sqrt of the mean energy over all triples (0 when there are none)
  int64_t triples = 0;  // frame triples measured
};

// Jitter over `tracks`, each the landmarks of one face in consecutive frames.
JitterFigures MeasureJitter(const std::vector<std::vector<face::Landmarks>>& tracks);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_JITTER_H_
