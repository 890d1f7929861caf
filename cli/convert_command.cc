// fsc convert: flags and wiring for core/convert/converter.
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "core/convert/convert_spec.h"
#include "core/convert/converter.h"
#include "core/face/alignments_file.h"
#include "core/media/image_header.h"
#include "core/util/flags.h"
#include "core/util/progress.h"

namespace fsc::cli {

int RunConvertCommand(const Args& args) {
  convert::ConvertOptions options;
  std::string model_dir, output;
  bool json = false;
  util::FlagSet flags(
      "fsc convert", "INPUT -m MODEL_DIR -o OUTPUT --alignments FILE [options]",
      "Swaps every face listed in the alignments file of INPUT (a video, an image or a folder of\n"
      "images) with a model trained by fsc train: the face is warped to the model, encoded and\n"
      "decoded by the OTHER side's decoder, warped back, colour-matched and blended in with the\n"
      "mask. A video gives a video (same size, frame rate and audio; OUTPUT's extension picks the\n"
      "container); images give images with the same names in the OUTPUT folder (or OUTPUT itself\n"
      "for one image). Every output is labelled as synthetic: a metadata tag and an invisible\n"
      "watermark in every swapped frame (fsc verify finds it). Nothing is left at OUTPUT on "
      "error.\n"
      "Exit status: 0 done, 1 error, 2 usage, 3 done but some frames or images could not be\n"
      "decoded (they are listed).\n" +
          media::ImageLimitsText());
  flags.String("model", 'm', &model_dir, "model folder written by fsc train");
  flags.String("output", 'o', &output, "output video file, image file or folder of images");
  flags.String("alignments", 'a', &options.alignments_path,
               "alignments file of INPUT written by fsc extract (its -o DIR/alignments.fsa), or "
               "that folder, or a cluster extract job's fetched folder");
  // The options a cluster job can set as well: fsc.proto's ConvertOptions (convert_spec.h).
  convert::AddConvertSpecFlags(&flags, &options);
  flags.Int("threads", 'j', &options.threads, "threads for the model");
  flags.String("device", 0, &options.device,
               "where the model runs: auto (a CUDA GPU if this build has one), cpu, cuda, cuda:N");
  flags.Bool("json", 0, &json, "print the summary as JSON on stdout");

  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1 || output.empty() || model_dir.empty()) {
    std::cerr << "fsc convert: needs one INPUT, -m MODEL_DIR and -o OUTPUT "
                 "(see 'fsc convert --help')\n";
    return 2;
  }
  if (options.alignments_path.empty()) {
    std::cerr << "fsc convert: needs --alignments FILE: the alignments.fsa that 'fsc extract "
              << positional[0] << " -o DIR' wrote into DIR (see 'fsc convert --help')\n";
    return 2;
  }
  auto usage_error = [](const absl::Status& status) {
    std::cerr << "fsc convert: " << status.message() << " (see 'fsc convert --help')\n";
    return 2;
  };
  if (absl::Status valid = convert::ValidateConvertOptions(options); !valid.ok()) {
    return usage_error(valid);
  }
  options.alignments_path = face::ResolveAlignmentsPath(options.alignments_path);

  std::unique_ptr<util::Progress> bar;
  auto progress = [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<util::Progress>("convert", total, "frames");
    bar->Update(done);
  };
  auto report = convert::RunConversion(positional[0], model_dir, output, options, progress);
  if (bar) bar->Finish();
  if (!report.ok()) {
    std::cerr << "fsc convert: " << report.status().message() << "\n";
    return 1;
  }
  for (const std::string& warning : report->warnings) {
    std::cerr << "fsc convert: error: " << warning << "\n";
  }
  if (json) {
    nlohmann::json out = {{"input", positional[0]},
                          {"output", report->output},
                          {"video", report->video},
                          {"model", report->model.model},
                          {"model_dir", model_dir},
                          {"iteration", report->model.iteration},
                          {"mask", report->mask},
                          {"precision", report->model.precision},
                          {"device", report->model.device},
                          {"color", convert::ColorMethodName(options.blend.color)},
                          {"frames", report->frames},
                          {"frames_swapped", report->frames_swapped},
                          {"faces_swapped", report->faces_swapped},
                          {"seconds", report->seconds},
                          {"frames_per_second", report->frames_per_second},
                          {"stage_seconds",
                           {{"decode", report->stages.decode},
                            {"infer", report->stages.infer},
                            {"composite", report->stages.composite},
                            {"encode", report->stages.encode}}},
                          {"errors", report->warnings}};
    if (!report->calibration_input.empty()) {
      out["calibration"] = {{"input", report->calibration_input},
                            {"frames", report->calibration_frames}};
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << absl::StrFormat(
        "converted %d frames (%d faces swapped in %d frames) in %.1f s (%.1f frames/s)\n"
        "  output: %s\n",
        report->frames, report->faces_swapped, report->frames_swapped, report->seconds,
        report->frames_per_second, report->output);
  }
  return report->warnings.empty() ? 0 : 3;
}

}  // namespace fsc::cli
