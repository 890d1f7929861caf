// Shot cuts from the coarse colour histograms stored per processed frame (Frame.histogram; the
// histogram itself is FrameHistogram in stabilize.h, implemented in shot_cuts.cc). A cut is a
// jump in the colour distribution between two neighbouring processed frames; gradual changes
// (pans, zooms, lighting drifts) move the histogram little from one frame to the next.
#ifndef FSC_CORE_FACE_SHOT_CUTS_H_
#define FSC_CORE_FACE_SHOT_CUTS_H_

#include <vector>

#include "proto/fsc.pb.h"

namespace fsc::face {

// Bins of FrameHistogram: a joint 4x4x4 BGR histogram.
inline constexpr int kFrameHistogramBins = 64;

// Half the L1 distance of two histograms normalised to sum 1 (= 1 - their intersection): 0 for
// equal, 1 for disjoint colour distributions. 0 when either is empty or their sizes differ, so a
// frame without a histogram (files older than version 3) never starts a shot.
double HistogramDistance(const std::vector<float>& a, const std::vector<float>& b);
double HistogramDistance(const google::protobuf::RepeatedField<float>& a,
                         const google::protobuf::RepeatedField<float>& b);

// Sets Frame.shot_cut on every frame (frames in index order) whose histogram is more than
// `threshold` away from that of the closest earlier frame with one; clears it on all others.
// Returns the cuts found.
int MarkShotCuts(double threshold, proto::Alignments* alignments);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_SHOT_CUTS_H_
