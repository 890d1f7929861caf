// Face tracks: the faces of consecutive processed frames linked into tracks (one person within
// one shot), and short dropouts inside a track filled by interpolation.
//
// Linking is greedy on a small score matrix per frame: the overlap of a face's box with the box
// the track's last two detections predict (constant velocity), plus, when both have a 128-d
// identity descriptor, how close the descriptors are, so two people crossing keep their tracks.
// A track ends at a shot cut (Frame.shot_cut) or after more than max_gap missed processed
// frames. Frames are identified by Frame.index; with --every-n the processed frames are N apart
// (FrameStep infers N from the indices present).
#ifndef FSC_CORE_FACE_FACE_TRACKS_H_
#define FSC_CORE_FACE_FACE_TRACKS_H_

#include <cstdint>

#include "proto/fsc.pb.h"

namespace fsc::face {

// The distance between processed frames: the most common positive difference of neighbouring
// frame indices (the smallest on a tie); 1 with fewer than two frames.
int64_t FrameStep(const proto::Alignments& alignments);

// Sets Face.track_id on every face (frames in index order, no filled faces), numbered from 1 in
// order of first appearance. Returns the number of tracks.
int AssignTracks(int max_gap, proto::Alignments* alignments);

// For every run of 1..max_gap processed frames where a track has no face between two of its
// detections (both with the same number of landmarks), adds a face (filled = true, score 0, no
// face_file or identity) whose box and landmarks are interpolated linearly; frames absent from the
// file are inserted in order. The filled face copies aligned_size and the masks' kinds and sizes
// from the detection before the gap; its transform and masks are the caller's to derive. Returns
// the faces added.
int64_t FillTrackGaps(int max_gap, proto::Alignments* alignments);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_FACE_TRACKS_H_
