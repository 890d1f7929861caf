// fsc alignments: inspect alignments files (dump) and stabilise them again (smooth), cutting
// their face PNGs again to follow.
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "core/face/alignments_file.h"
#include "core/face/extract_spec.h"
#include "core/face/face_recut.h"
#include "core/face/stabilize.h"
#include "core/util/artifact_names.h"
#include "core/util/flags.h"

namespace fsc::cli {
namespace {

constexpr char kUsage[] =
    "fsc alignments: usage: fsc alignments dump FILE|DIR [--json]\n"
    "                       fsc alignments smooth FILE|DIR [--strength S] [--max-gap N]\n"
    "                                         [--source VIDEO] [--faces DIR] [--json]\n";

// Per track: its faces, filled ones among them, and its first and last frame.
struct TrackSummary {
  int64_t faces = 0, filled = 0, first = -1, last = -1;
};

std::map<int, TrackSummary> Tracks(const proto::Alignments& alignments) {
  std::map<int, TrackSummary> tracks;
  for (const proto::Frame& frame : alignments.frames()) {
    for (const proto::Face& face : frame.faces()) {
      if (face.track_id() == 0) continue;
      TrackSummary& track = tracks[face.track_id()];
      ++track.faces;
      track.filled += face.filled() ? 1 : 0;
      if (track.first < 0) track.first = frame.index();
      track.last = frame.index();
    }
  }
  return tracks;
}

int RunDump(const Args& args) {
  bool json = false, pretty = true;
  util::FlagSet flags("fsc alignments dump", "FILE|DIR [--json]",
                      "Prints an alignments file written by 'fsc extract': a summary (with the\n"
                      "face tracks of a smoothed video), or with --json every frame's faces\n"
                      "(box [x, y, w, h], score, 68 landmarks, track; raw_landmarks and filled\n"
                      "where smoothing changed or added them) in source pixel coordinates.\n"
                      "DIR: an extract output folder or a cluster job's fetched folder (the\n"
                      "alignments file in it).\n"
                      "Damaged files (checksum, impossible landmarks) are refused, exit 1.");
  flags.Bool("json", 0, &json, "print the whole file as JSON");
  flags.Bool("pretty", 0, &pretty, "indent the JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << kUsage;
    return 2;
  }
  auto alignments = face::ReadAlignments(face::ResolveAlignmentsPath(positional[0]));
  if (!alignments.ok()) {
    std::cerr << "fsc alignments: " << alignments.status().message() << "\n";
    return 1;
  }
  if (json) {
    std::cout << face::AlignmentsToJson(*alignments, pretty) << "\n";
    return 0;
  }
  int64_t faces = 0, frames_with_faces = 0;
  for (const auto& frame : alignments->frames()) {
    faces += frame.faces_size();
    frames_with_faces += frame.faces_size() > 0 ? 1 : 0;
  }
  const auto& source = alignments->source();
  std::cout << absl::StrFormat(
      "source:     %s (%dx%d, %d frames, %.2f fps)\nsha256:     %s\ndetector:   %s\n"
      "aligner:    %s\nframes with faces: %d\nfaces:      %d\n",
      source.path(), source.width(), source.height(), source.frame_count(), source.fps(),
      source.sha256(), alignments->detector(), alignments->aligner(), frames_with_faces, faces);
  if (!alignments->has_smoothing()) {
    std::cout << "smoothing:  none (raw landmarks, no tracks)\n";
    return 0;
  }
  const proto::Smoothing& smoothing = alignments->smoothing();
  std::cout << absl::StrFormat(
      "smoothing:  strength %g, max gap %d; %d tracks, %d shot cuts, %d faces filled\n",
      smoothing.strength(), smoothing.max_gap(), smoothing.tracks(), smoothing.shot_cuts(),
      smoothing.faces_filled());
  for (const auto& [id, track] : Tracks(*alignments)) {
    std::cout << absl::StrFormat("  track %d: frames %d-%d, %d faces (%d filled)\n", id,
                                 track.first, track.last, track.faces, track.filled);
  }
  return 0;
}

// The folder of face PNGs that belongs to the alignments file at `path`: `faces` beside it (a
// cluster job's fetched folder) or the file's own folder (an extract output folder); empty when
// neither holds PNGs.
std::string FacesFolderOf(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (const std::filesystem::path& candidate : {dir / kFacesFolderName, dir}) {
    if (face::HasFacePngs(candidate.string())) return candidate.string();
  }
  return "";
}

// What became of the face PNGs: how many were cut again, or why they were not.
struct RecutOutcome {
  std::string faces_dir;  // empty: no PNGs, nothing to do
  face::RecutReport report;
  std::string not_recut;  // why the PNGs were left as they were (the source is not there)
};

// Cuts the PNGs of `faces_dir` again to follow `alignments` (naming filled faces' new PNGs in it).
// A source that is missing leaves the PNGs alone (`not_recut` says so); another error, such as a
// source that is not the file the alignments were made from, is returned.
absl::StatusOr<RecutOutcome> RecutFaces(const std::string& faces_dir, const std::string& source,
                                        proto::Alignments* alignments) {
  RecutOutcome outcome;
  outcome.faces_dir = faces_dir;
  if (faces_dir.empty()) return outcome;
  proto::Alignments recut = *alignments;
  face::RecutOptions options;
  options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  absl::StatusOr<face::RecutReport> report =
      face::RecutFacePngs(source, faces_dir, &recut, options);
  if (absl::IsNotFound(report.status())) {
    outcome.not_recut =
        absl::StrCat("the face PNGs in ", faces_dir,
                     " were NOT cut again to follow the new landmarks: ", report.status().message(),
                     " (run this again with --source VIDEO)");
    return outcome;
  }
  if (!report.ok()) return report.status();
  *alignments = std::move(recut);
  outcome.report = *report;
  return outcome;
}

void PrintSmoothSummary(const std::string& path, const proto::Smoothing& smoothing,
                        const RecutOutcome& recut, bool json) {
  if (json) {
    nlohmann::json out = {{"alignments", path},
                          {"strength", smoothing.strength()},
                          {"max_gap", smoothing.max_gap()},
                          {"tracks", smoothing.tracks()},
                          {"shot_cuts", smoothing.shot_cuts()},
                          {"faces_filled", smoothing.faces_filled()},
                          {"faces_dir", recut.faces_dir},
                          {"faces_recut", recut.report.faces_recut},
                          {"filled_pngs_removed", recut.report.stale_removed},
                          {"frames_decoded", recut.report.frames_decoded},
                          {"recut_seconds", recut.report.seconds}};
    if (!recut.not_recut.empty()) out["not_recut"] = recut.not_recut;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << absl::StrFormat(
      "%s: %d tracks, %d shot cuts, %d missed faces filled (strength %g, max gap %d)\n", path,
      smoothing.tracks(), smoothing.shot_cuts(), smoothing.faces_filled(), smoothing.strength(),
      smoothing.max_gap());
  if (!recut.faces_dir.empty() && recut.not_recut.empty()) {
    std::cout << absl::StrFormat(
        "%s: %d face PNGs cut again to follow it from %d decoded frames (%.1f s)\n",
        recut.faces_dir, recut.report.faces_recut, recut.report.frames_decoded,
        recut.report.seconds);
  }
}

int RunSmooth(const Args& args) {
  face::StabilizeOptions options;
  bool json = false;
  std::string source, faces_dir;
  util::FlagSet flags(
      "fsc alignments smooth",
      "FILE|DIR [--strength S] [--max-gap N] [--source VIDEO] [--faces DIR] [--json]",
      "Stabilises a video's alignments file again, in place: links its faces into tracks\n"
      "(ending at shot cuts and at gaps longer than --max-gap), fills short dropouts and\n"
      "smooths each track's landmarks, transforms and masks with --strength. It always\n"
      "starts from the raw landmarks kept in the file, so --strength 0 undoes the smoothing\n"
      "(tracks and filled faces stay). The file is rewritten atomically (a temporary file,\n"
      "then a rename). Files of still images are left as they are.\n"
      "The aligned face PNGs extract wrote (beside the file, or in faces/ of a fetched cluster\n"
      "job) are cut again from the source video where their landmarks changed, and filled\n"
      "faces get theirs; the video is the one the file names, or --source.\n"
      "Exit status: 0 done, 1 error (the file is unchanged), 2 usage, 3 the file was rewritten\n"
      "but the face PNGs were not cut again (the source video is not there: give --source).");
  face::AddStabilizeSpecFlags(&flags, &options);
  flags.String("source", 0, &source,
               "the video the alignments were extracted from (default: the path in the file)");
  flags.String("faces", 0, &faces_dir,
               "the folder of the face PNGs (default: beside the file, or its faces/)");
  flags.Bool("json", 0, &json, "print the summary as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << kUsage;
    return 2;
  }
  if (absl::Status valid = face::ValidateStabilizeOptions(options); !valid.ok()) {
    std::cerr << "fsc alignments smooth: " << valid.message()
              << " (see 'fsc alignments smooth --help')\n";
    return 2;
  }
  const std::string path = face::ResolveAlignmentsPath(positional[0]);
  auto alignments = face::ReadAlignments(path);
  if (!alignments.ok()) {
    std::cerr << "fsc alignments smooth: " << alignments.status().message() << "\n";
    return 1;
  }
  if (source.empty()) source = alignments->source().path();
  if (faces_dir.empty()) faces_dir = FacesFolderOf(path);
  absl::StatusOr<RecutOutcome> recut = RecutOutcome{};
  absl::Status done = face::StabilizeAlignments(options, &*alignments);
  if (done.ok()) {
    recut = RecutFaces(faces_dir, source, &*alignments);
    done = recut.status();
  }
  if (done.ok()) done = face::WriteAlignments(path, *alignments);
  if (!done.ok()) {
    std::cerr << "fsc alignments smooth: " << path << ": " << done.message() << "\n";
    return 1;
  }
  PrintSmoothSummary(path, alignments->smoothing(), *recut, json);
  if (!recut->not_recut.empty()) {
    std::cerr << "fsc alignments smooth: " << recut->not_recut << "\n";
    return 3;
  }
  return 0;
}

}  // namespace

int RunAlignmentsCommand(const Args& args) {
  if (!args.empty() && args[0] == "dump") return RunDump(Args(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "smooth") return RunSmooth(Args(args.begin() + 1, args.end()));
  util::FlagSet flags("fsc alignments", "dump|smooth FILE|DIR [options]",
                      "Alignments files written by 'fsc extract':\n"
                      "  dump    print a summary, or every face as JSON (--json)\n"
                      "  smooth  re-run the tracking and temporal smoothing of a video's file\n"
                      "See 'fsc alignments dump --help' and 'fsc alignments smooth --help'.");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  std::cerr << kUsage;
  return 2;
}

}  // namespace fsc::cli
