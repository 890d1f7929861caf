// fsc eval: flags and wiring for core/eval (how good is a swap?).
#include <iostream>
#include <limits>
#include <memory>

#include "cli/commands.h"
#include "core/eval/evaluator.h"
#include "core/eval/report_format.h"
#include "core/eval/report_sheet.h"
#include "core/util/flags.h"
#include "core/util/limits.h"
#include "core/util/paths.h"
#include "core/util/progress.h"

namespace fsc::cli {
namespace {

// B's reference needs a few dozen faces to be stable; past this many it only costs time.
constexpr int kMaxIdentityFaces = 100000;

}  // namespace

int RunEvalCommand(const Args& args) {
  eval::EvalOptions options;
  options.models_dir = util::DefaultModelsDir();
  std::string report_dir;
  int max_frames = 0;
  bool json = false;
  util::FlagSet flags(
      "fsc eval", "SWAPPED --source SOURCE --alignments A_DIR [--identity B_FACES] [options]",
      "Measures a face swap: compares SWAPPED (what 'fsc convert' wrote: a video, an image or a\n"
      "folder of images) with SOURCE (what it converted), frame by frame, on the faces of\n"
      "SOURCE's alignments file:\n"
      "  identity    face-api descriptor distance of each swapped face to person B (centroid of\n"
      "              B_FACES, an 'fsc extract' output) and to the source face of the same frame;\n"
      "              ID retrieval: the share of faces closer to B than to the source face\n"
      "  pose        head yaw/pitch/roll error (degrees) from 68 landmarks re-detected on both\n"
      "  expression  landmark NME after similarity alignment (fraction of inter-ocular distance)\n"
      "  temporal    landmark jitter of the alignments; flicker inside the face mask vs the "
      "source\n"
      "  seam        colour step and gradient along the mask's edge vs the source\n"
      "  label       whether SWAPPED carries fsc's synthetic label (as 'fsc verify')\n"
      "SWAPPED must match SOURCE: same kind, frame count, size and frame rate (folders: the same\n"
      "file names); the alignments must be SOURCE's.\n"
      "Exit status: 0 evaluated, 1 refused or failed (the message says why), 2 usage, 3 evaluated\n"
      "but some frames could not be decoded (they are listed).");
  flags.String("source", 's', &options.source, "the video or images 'fsc convert' read");
  flags.String("alignments", 'a', &options.alignments_path,
               "SOURCE's alignments: the folder 'fsc extract SOURCE -o DIR' wrote, or the file");
  flags.String("identity", 'i', &options.identity_dir,
               "person B's faces: the folder 'fsc extract' wrote for B (empty: no B figures)");
  flags.Bool("json", 0, &json, "print every figure as JSON on stdout instead of the table");
  flags.String("report", 'r', &report_dir,
               "write DIR/report.png (sample frames and per-frame plots) and DIR/eval.json");
  flags.Int("max-frames", 'n', &max_frames, "evaluate the first N frames only (0: all)",
            {0, std::numeric_limits<int>::max()});
  flags.Int("identity-faces", 0, &options.identity_faces,
            "at most this many of B's faces make B's reference (evenly spread)",
            {1, kMaxIdentityFaces});
  flags.Int("threads", 'j', &options.threads, "threads for the landmark and recognition nets",
            {1, util::kMaxThreads});
  flags.String("models-dir", 0, &options.models_dir, "pretrained models (from scripts/setup)");

  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  auto usage = [](const std::string& message) {
    std::cerr << "fsc eval: " << message << " (see 'fsc eval --help')\n";
    return 2;
  };
  if (positional.size() != 1) return usage("needs exactly one SWAPPED video or folder");
  if (options.source.empty()) return usage("needs --source SOURCE, the input 'fsc convert' read");
  if (options.alignments_path.empty()) {
    return usage("needs --alignments A_DIR, the folder 'fsc extract SOURCE -o A_DIR' wrote");
  }
  options.max_frames = max_frames;

  if (!report_dir.empty()) {
    if (absl::Status created = eval::CreateReportFolder(report_dir); !created.ok()) {
      std::cerr << "fsc eval: " << created.message() << "\n";
      return 1;
    }
  }

  std::unique_ptr<util::Progress> bar;
  auto progress = [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<util::Progress>("eval", total, "frames");
    bar->Update(done);
  };
  auto report = eval::RunEvaluation(positional[0], options, progress);
  if (bar) bar->Finish();
  if (!report.ok()) {
    std::cerr << "fsc eval: " << report.status().message() << "\n";
    return 1;
  }
  for (const std::string& problem : report->unreadable) {
    std::cerr << "fsc eval: error: " << problem << "\n";
  }
  if (!report_dir.empty()) {
    if (absl::Status written = eval::WriteReportFolder(*report, report_dir); !written.ok()) {
      std::cerr << "fsc eval: " << written.message() << "\n";
      return 1;
    }
  }
  if (json) {
    std::cout << eval::ReportToJson(*report, /*per_face=*/true, /*pretty=*/true) << "\n";
  } else {
    std::cout << eval::FormatSummary(*report);
    if (!report_dir.empty()) {
      std::cout << "  report: " << report_dir << "/" << eval::kReportSheetName << " and "
                << report_dir << "/" << eval::kReportJsonName << "\n";
    }
  }
  return report->unreadable.empty() ? 0 : 3;
}

}  // namespace fsc::cli
