// Names of the files fsc's stages hand to each other, shared by the local verbs, the worker's
// tasks and the coordinator's planner, so that a local extract and a cluster job's fetched folder
// look alike.
#ifndef FSC_CORE_UTIL_ARTIFACT_NAMES_H_
#define FSC_CORE_UTIL_ARTIFACT_NAMES_H_

namespace fsc {

// The alignments file of a source (core/face/alignments_file.h), as `fsc extract -o DIR` writes
// it into DIR and a cluster extract returns it.
inline constexpr char kAlignmentsFileName[] = "alignments.fsa";

// The folder of aligned face PNGs beside the alignments file in a cluster job's results.
inline constexpr char kFacesFolderName[] = "faces";

// The folder of a convert task's inputs that holds its source's alignments file: the
// coordinator's planner places it there and the worker's convert task reads it from there.
inline constexpr char kConvertAlignmentsFolderName[] = "alignments";

}  // namespace fsc

#endif  // FSC_CORE_UTIL_ARTIFACT_NAMES_H_
