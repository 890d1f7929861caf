// Names of the files fsc's stages hand to each other, shared by the local verbs, the worker's
// tasks and the coordinator's planner, so that a local extract and a cluster job's fetched folder
// look alike.
#ifndef FSC_CORE_UTIL_ARTIFACT_NAMES_H_
#define FSC_CORE_UTIL_ARTIFACT_NAMES_H_

#include <string>

namespace fsc {

// "name/": the prefix of the paths inside folder `name` (as file lists and input mappings use).
inline std::string FolderPrefix(const char* name) { return std::string(name) + "/"; }

// The alignments file of a source (core/face/alignments_file.h), as `fsc extract -o DIR` writes
// it into DIR and a cluster extract returns it.
inline constexpr char kAlignmentsFileName[] = "alignments.fsa";

// The folder of aligned face PNGs beside the alignments file in a cluster job's results.
inline constexpr char kFacesFolderName[] = "faces";

// The folder of a convert task's inputs that holds its source's alignments file: the
// coordinator's planner places it there and the worker's convert task reads it from there.
inline constexpr char kConvertAlignmentsFolderName[] = "alignments";

// A task's folders. The coordinator's planner places a task's inputs under these names in the
// task's input folder and the worker's tasks read them from there; a task returns its outputs
// under them too (a train task's model, a convert task's segment or images).
inline constexpr char kTaskSourceFolder[] = "input";    // the media to extract or convert
inline constexpr char kTaskModelFolder[] = "model";     // a model folder, in or out
inline constexpr char kTaskFacesAFolder[] = "faces_a";  // training faces of identity A
inline constexpr char kTaskFacesBFolder[] = "faces_b";  // training faces of identity B
inline constexpr char kTaskPartsFolder[] = "parts";  // parts/<task id>/: the merged tasks' outputs
inline constexpr char kTaskImagesFolder[] = "images";  // a convert task's converted images
// The video a convert task returns for its frame range; the merge-video task joins them.
inline constexpr char kSegmentName[] = "segment.mkv";

}  // namespace fsc

#endif  // FSC_CORE_UTIL_ARTIFACT_NAMES_H_
