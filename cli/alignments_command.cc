// fsc alignments: inspect alignments files.
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "core/face/alignments_file.h"
#include "core/util/flags.h"

namespace fsc::cli {

int RunAlignmentsCommand(const Args& args) {
  bool json = false, pretty = true;
  util::FlagSet flags("fsc alignments", "dump FILE|DIR [--json]",
                      "Prints an alignments file written by 'fsc extract': a summary, or with\n"
                      "--json every frame's faces (box [x, y, w, h], score, 68 landmarks) in\n"
                      "source pixel coordinates. DIR: an extract output folder or a cluster\n"
                      "job's fetched folder (the alignments file in it).\n"
                      "Damaged files (checksum, impossible landmarks) are refused, exit 1.");
  flags.Bool("json", 0, &json, "print the whole file as JSON");
  flags.Bool("pretty", 0, &pretty, "indent the JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 2 || positional[0] != "dump") {
    std::cerr << "fsc alignments: usage: fsc alignments dump FILE|DIR [--json]\n";
    return 2;
  }
  auto alignments = face::ReadAlignments(face::ResolveAlignmentsPath(positional[1]));
  if (!alignments.ok()) {
    std::cerr << "fsc alignments: " << alignments.status().message() << "\n";
    return 1;
  }
  if (json) {
    std::cout << face::AlignmentsToJson(*alignments, pretty) << "\n";
    return 0;
  }
  int64_t faces = 0;
  for (const auto& frame : alignments->frames()) faces += frame.faces_size();
  const auto& source = alignments->source();
  std::cout << absl::StrFormat(
      "source:     %s (%dx%d, %d frames, %.2f fps)\nsha256:     %s\ndetector:   %s\n"
      "aligner:    %s\nframes with faces: %d\nfaces:      %d\n",
      source.path(), source.width(), source.height(), source.frame_count(), source.fps(),
      source.sha256(), alignments->detector(), alignments->aligner(), alignments->frames_size(),
      faces);
  return 0;
}

}  // namespace fsc::cli
