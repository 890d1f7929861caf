// fsc alignments: inspect alignments files (dump) and stabilise them again (smooth).
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "core/face/alignments_file.h"
#include "core/face/extract_spec.h"
#include "core/face/stabilize.h"
#include "core/util/flags.h"

namespace fsc::cli {
namespace {

constexpr char kUsage[] =
    "fsc alignments: usage: fsc alignments dump FILE|DIR [--json]\n"
    "                       fsc alignments smooth FILE|DIR [--strength S] [--max-gap N] [--json]\n";

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

int RunSmooth(const Args& args) {
  face::StabilizeOptions options;
  bool json = false;
  util::FlagSet flags(
      "fsc alignments smooth", "FILE|DIR [--strength S] [--max-gap N] [--json]",
      "Stabilises a video's alignments file again, in place: links its faces into tracks\n"
      "(ending at shot cuts and at gaps longer than --max-gap), fills short dropouts and\n"
      "smooths each track's landmarks, transforms and masks with --strength. It always\n"
      "starts from the raw landmarks kept in the file, so --strength 0 undoes the smoothing\n"
      "(tracks and filled faces stay). The file is rewritten atomically (a temporary file,\n"
      "then a rename). Files of still images are left as they are.\n"
      "Exit status: 0 done, 1 error (the file is unchanged), 2 usage.");
  face::AddStabilizeSpecFlags(&flags, &options);
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
  absl::Status stabilized = face::StabilizeAlignments(options, &*alignments);
  if (stabilized.ok()) stabilized = face::WriteAlignments(path, *alignments);
  if (!stabilized.ok()) {
    std::cerr << "fsc alignments smooth: " << path << ": " << stabilized.message() << "\n";
    return 1;
  }
  const proto::Smoothing& smoothing = alignments->smoothing();
  if (json) {
    nlohmann::json out = {{"alignments", path},
                          {"strength", smoothing.strength()},
                          {"max_gap", smoothing.max_gap()},
                          {"tracks", smoothing.tracks()},
                          {"shot_cuts", smoothing.shot_cuts()},
                          {"faces_filled", smoothing.faces_filled()}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << absl::StrFormat(
        "%s: %d tracks, %d shot cuts, %d missed faces filled (strength %g, max gap %d)\n", path,
        smoothing.tracks(), smoothing.shot_cuts(), smoothing.faces_filled(), smoothing.strength(),
        smoothing.max_gap());
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
