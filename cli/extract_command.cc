// fsc extract: flags and wiring for core/face/extractor.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "core/face/extract_spec.h"
#include "core/face/extractor.h"
#include "core/media/image_header.h"
#include "core/util/flags.h"
#include "core/util/paths.h"
#include "core/util/progress.h"

namespace fsc::cli {

int RunExtractCommand(const Args& args) {
  face::ExtractOptions options;
  options.models_dir = util::DefaultModelsDir();
  std::string output, alignments;
  double filter_threshold = options.filter_threshold;
  bool json = false, write_faces = true;
  util::FlagSet flags(
      "fsc extract", "INPUT -o DIR [options]",
      "Detects faces in INPUT (a video, an image or a folder of images), finds 68 landmarks,\n"
      "aligns each face onto the mean face and writes the aligned crops (PNG, with their\n"
      "alignment metadata embedded) plus one alignments file for the whole source.\n"
      "A video's faces are then linked into tracks, short dropouts filled and the landmarks\n"
      "smoothed over time (--smooth); the face PNGs and the alignments file (which convert\n"
      "follows) both hold the smoothed alignment: a smoothed video's PNGs are cut after\n"
      "smoothing, in a second pass over it, and filled faces get PNGs too.\n"
      "Exit status: 0 done, 1 error (nothing written), 2 usage, 3 done but some frames or images\n"
      "could not be decoded (they are listed; everything else was extracted).\n" +
          media::ImageLimitsText());
  flags.String("output", 'o', &output, "folder for the aligned faces (created if missing)");
  flags.String("alignments", 0, &alignments, "alignments file (default DIR/alignments.fsa)");
  // The options a cluster job can set as well: fsc.proto's ExtractOptions (extract_spec.h).
  face::AddExtractSpecFlags(&flags, &options);
  flags.String("filter", 'f', &options.filter_path,
               "keep only faces of the person in this image (photo or fsc face PNG)");
  flags.Double("filter-threshold", 0, &filter_threshold,
               "max face-descriptor distance to the --filter face", {0, 10});
  flags.Int("threads", 'j', &options.threads, "worker threads");
  flags.String("models-dir", 0, &options.models_dir, "pretrained models (from scripts/setup)");
  flags.Bool("faces", 0, &write_faces, "write aligned face PNGs (--no-faces: alignments only)");
  flags.Bool("json", 0, &json, "print the summary as JSON on stdout");

  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1 || output.empty()) {
    std::cerr << "fsc extract: needs one INPUT and -o DIR (see 'fsc extract --help')\n";
    return 2;
  }
  options.filter_threshold = static_cast<float>(filter_threshold);
  options.write_faces = write_faces;
  if (absl::Status valid = face::ValidateExtractOptions(options); !valid.ok()) {
    std::cerr << "fsc extract: " << valid.message() << " (see 'fsc extract --help')\n";
    return 2;
  }

  std::unique_ptr<util::Progress> bar;
  auto progress = [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<util::Progress>("extract", total, "frames");
    bar->Update(done);
  };
  auto report = face::RunExtraction(positional[0], output, alignments, options, progress);
  if (bar) bar->Finish();
  if (!report.ok()) {
    std::cerr << "fsc extract: " << report.status().message() << "\n";
    return 1;
  }
  for (const std::string& warning : report->warnings) {
    std::cerr << "fsc extract: error: " << warning << "\n";
  }
  double fps = report->seconds > 0 ? report->frames_processed / report->seconds : 0;
  if (json) {
    nlohmann::json out = {{"input", positional[0]},
                          {"output", output},
                          {"alignments", report->alignments_path},
                          {"frames_read", report->frames_read},
                          {"frames_processed", report->frames_processed},
                          {"faces_found", report->faces_found},
                          {"faces_written", report->faces_written},
                          {"faces_filtered", report->faces_filtered},
                          {"seconds", report->seconds},
                          {"frames_per_second", fps},
                          {"errors", report->warnings}};
    if (report->smoothed) {
      out["smoothing"] = {{"strength", report->smoothing.strength()},
                          {"max_gap", report->smoothing.max_gap()},
                          {"tracks", report->smoothing.tracks()},
                          {"shot_cuts", report->smoothing.shot_cuts()},
                          {"faces_filled", report->smoothing.faces_filled()},
                          {"faces_recut", report->faces_recut},
                          {"recut_seconds", report->recut_seconds}};
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << absl::StrFormat(
        "extracted %d faces from %d frames in %.1f s (%.1f frames/s)\n  faces:      %s\n"
        "  alignments: %s\n",
        report->faces_found, report->frames_processed, report->seconds, fps, output,
        report->alignments_path);
    if (report->faces_filtered > 0) {
      std::cout << absl::StrFormat("  %d faces of other people dropped by --filter\n",
                                   report->faces_filtered);
    }
    if (report->smoothed) {
      std::cout << absl::StrFormat(
          "  smoothed:   %d tracks, %d shot cuts, %d missed faces filled (strength %g)\n",
          report->smoothing.tracks(), report->smoothing.shot_cuts(),
          report->smoothing.faces_filled(), report->smoothing.strength());
      if (report->faces_written > 0) {
        std::cout << absl::StrFormat("  face PNGs:  %d cut from the smoothed landmarks (%.1f s)\n",
                                     report->faces_recut, report->recut_seconds);
      }
    }
  }
  return report->warnings.empty() ? 0 : 3;
}

}  // namespace fsc::cli
