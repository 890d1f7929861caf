// Conversion speed: frames per second of `fsc convert` on a video with the lightweight model,
// next to its floor measured in the same run: `ffmpeg` alone decoding and re-encoding the same
// video with the same codec, crf and preset (and the same audio handling). Convert cannot beat
// that floor (it decodes and encodes the same frames, plus the model and the blend); the target
// is to stay within 2x of it.
//
//   convert_bench [--fsc build/bin/fsc] [--video data/Megamind.avi] [--model DIR]
//                 [--alignments FILE] [--rounds 3] [--codec libx264] [--crf 23]
//                 [--preset medium] [--threads 2] [--batch 32] [--precisions fp32,bf16,int8]
//                 [--color avg-color] [--model-batches 1,8,32] [--fidelity] [--work DIR] [--json]
//
// Without --model/--alignments it prepares them once (not timed): `fsc extract` of the video and
// `fsc train --model lightweight` for 1 iteration (speed does not depend on how well a model is
// trained). Rounds alternate floor and convert runs; the best (fastest) of each is reported, as
// the machine may be shared. Convert is timed as a whole process (model loading included) and
// its own pipeline figure (frames / seconds after loading, from --json) is printed beside it,
// with the busy seconds of each pipeline stage to show which one sets the pace.
// --model-batches 1,8,32 also times the model alone (SwapModel::Swap on the video's own model
// inputs is not needed for speed: random faces of the model's size), per batch size and
// precision, to show what the inference stage can reach at best, and with the floor gives a
// lower bound for convert on this machine (model alone + encoder alone over all cores). --fidelity
// compares each precision's swapped faces with float32's on the video's own aligned faces (8-bit
// levels, PSNR).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/convert/swap_model.h"
#include "core/face/alignments_file.h"
#include "core/media/video_writer.h"
#include "core/train/augment.h"
#include "core/train/face_set.h"
#include "core/util/flags.h"
#include "core/util/malloc_tuning.h"
#include "core/util/subprocess.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Timed {
  int exit_code = -1;
  double seconds = 0;
  double cpu_seconds = 0;  // user + system time of the process and its children
  std::string out, err;
};

double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

double ChildrenCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec * 1e-6;
}

// Runs a program to completion: wall time, and CPU time (which, unlike wall time, does not
// depend on how many threads each program has when the machine is shared with other work).
Timed Run(const std::vector<std::string>& argv) {
  const double cpu_before = ChildrenCpuSeconds();
  const Clock::time_point start = Clock::now();
  auto result = fsc::util::RunProcess(argv);
  Timed t;
  t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  t.cpu_seconds = ChildrenCpuSeconds() - cpu_before;
  if (!result.ok()) {
    t.err = std::string(result.status().message());
    return t;
  }
  t.exit_code = result->exit_code;
  t.out = result->out;
  t.err = result->err;
  return t;
}

// The video's own faces as the model sees them: the aligned crops `fsc extract` wrote beside the
// alignments, through the trainer's own coverage crop and scaling (train::PrepareFace).
std::vector<cv::Mat> ModelInputs(const std::string& faces_dir, double coverage, int size) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(faces_dir)) {
    if (entry.path().extension() == ".png") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());  // frame order: int8 calibrates on the first faces
  fsc::train::AugmentOptions crop;
  crop.size = size;
  crop.coverage = coverage;
  std::vector<cv::Mat> faces;
  for (const std::string& path : paths) {
    fsc::train::TrainingFace face;
    face.image = cv::imread(path, cv::IMREAD_COLOR);
    if (face.image.empty()) continue;
    faces.push_back(fsc::train::PrepareFace(face, crop, std::nullopt).image);
  }
  return faces;
}

// How far each precision's swapped faces are from float32's on `faces`, in 8-bit levels.
absl::StatusOr<nlohmann::json> FidelityVsFp32(const std::string& model,
                                              const std::vector<std::string>& precisions,
                                              const std::string& faces_dir, int threads,
                                              int batch) {
  fsc::convert::SwapOptions fp32_options;
  fp32_options.precision = "fp32";
  auto reference_model = fsc::convert::SwapModel::Load(model, fp32_options);
  if (!reference_model.ok()) return reference_model.status();
  const std::vector<cv::Mat> inputs = ModelInputs(faces_dir, (*reference_model)->info().coverage,
                                                  (*reference_model)->info().input_size);
  if (inputs.empty()) return absl::NotFoundError("no aligned face PNGs in " + faces_dir);
  auto swap_all = [&](const std::string& precision) -> absl::StatusOr<std::vector<cv::Mat>> {
    fsc::convert::SwapOptions options;
    options.threads = threads;
    options.precision = precision;
    auto swap = fsc::convert::SwapModel::Load(model, options);
    if (!swap.ok()) return swap.status();
    std::vector<cv::Mat> out;
    for (size_t i = 0; i < inputs.size(); i += batch) {
      std::vector<cv::Mat> chunk(inputs.begin() + i,
                                 inputs.begin() + std::min(inputs.size(), i + batch));
      auto swapped = (*swap)->Swap(chunk, fsc::convert::SwapDirection::kAToB);
      if (!swapped.ok()) return swapped.status();
      for (auto& face : *swapped) out.push_back(face.face);
    }
    return out;
  };
  auto reference = swap_all("fp32");
  if (!reference.ok()) return reference.status();
  nlohmann::json out = {{"faces", inputs.size()}};
  for (const std::string& precision : precisions) {
    if (precision == "fp32") continue;
    auto faces = swap_all(precision);
    if (!faces.ok()) return faces.status();
    double sum = 0, sum_sq = 0, worst = 0, count = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      cv::Mat diff;
      cv::absdiff((*faces)[i], (*reference)[i], diff);
      diff *= 255.0;  // 8-bit levels
      double max_value = 0;
      cv::minMaxLoc(diff.reshape(1), nullptr, &max_value);
      worst = std::max(worst, max_value);
      sum += cv::sum(diff)[0] + cv::sum(diff)[1] + cv::sum(diff)[2];
      sum_sq += diff.dot(diff);
      count += diff.total() * diff.channels();
    }
    const double rms = std::sqrt(sum_sq / count);
    out[precision] = {{"mean_levels", sum / count},
                      {"rms_levels", rms},
                      {"max_levels", worst},
                      {"psnr_db", 20 * std::log10(255.0 / std::max(rms, 1e-9))}};
  }
  return out;
}

int Fail(const std::string& what, const Timed& t) {
  std::cerr << "convert_bench: " << what << " failed (exit " << t.exit_code << "):\n"
            << t.err << t.out << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  fsc::util::KeepFreedMemoryForReuse();  // as the fsc binaries do
  std::string fsc = "build/bin/fsc", video = "data/Megamind.avi", model, alignments, work,
              codec = "libx264", preset = "medium", precisions = "fp32,bf16,int8",
              color = "avg-color";
  int rounds = 3, crf = 23, threads = 2, batch = 32;
  std::string model_batches;
  bool json = false, whole = true, fidelity = false;
  fsc::util::FlagSet flags("convert_bench", "[options]",
                           "fsc convert frames/s next to ffmpeg's decode + re-encode floor.");
  flags.String("fsc", 0, &fsc, "the fsc binary");
  flags.String("video", 0, &video, "input video");
  flags.String("model", 'm', &model, "model folder (default: train a lightweight one)");
  flags.String("alignments", 0, &alignments, "alignments of the video (default: extract them)");
  flags.String("work", 0, &work, "scratch folder (default: a fresh one under /tmp)");
  flags.Int("rounds", 'r', &rounds, "alternating rounds; the best of each is kept");
  flags.String("codec", 0, &codec, "video encoder for both");
  flags.Int("crf", 0, &crf, "encoder crf for both");
  flags.String("preset", 0, &preset, "encoder preset for both");
  flags.Int("threads", 'j', &threads, "fsc convert --threads");
  flags.Int("batch", 'b', &batch, "fsc convert --batch");
  flags.String("precisions", 0, &precisions, "fsc convert --precision values to measure");
  flags.String("color", 0, &color, "fsc convert --color");
  flags.String("model-batches", 0, &model_batches,
               "also time the model alone at these batch sizes (e.g. 1,8,32)");
  flags.Bool("whole", 0, &whole, "time whole conversions and the floor (--no-whole: model only)");
  flags.Bool("fidelity", 0, &fidelity,
             "also compare each precision's swapped faces with fp32's on the video's own faces");
  flags.Bool("json", 0, &json, "print the figures as JSON");
  std::vector<std::string> args(argv + 1, argv + argc), positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (!fs::exists(fsc) || !fs::exists(video)) {
    std::cerr << "convert_bench: needs " << fsc << " and " << video << " (build, scripts/setup)\n";
    return 1;
  }
  if (work.empty()) {
    work = (fs::temp_directory_path() / absl::StrCat("fsc-convert-bench-", ::getpid())).string();
  }
  fs::create_directories(work);

  if (alignments.empty()) {
    std::cerr << "preparing: fsc extract " << video << "\n";
    Timed t = Run({fsc, "extract", video, "-o", work + "/faces", "--threads", "2"});
    if (t.exit_code != 0) return Fail("fsc extract", t);
    alignments = work + "/faces/alignments.fsa";
    if (model.empty()) {
      std::cerr << "preparing: fsc train --model lightweight (1 iteration)\n";
      t = Run({fsc, "train", "--model", "lightweight", "--a", work + "/faces", "--b",
               work + "/faces", "-m", work + "/model", "--iterations", "1", "--batch", "2",
               "--save-every", "1", "--preview-every", "0"});
      if (t.exit_code != 0) return Fail("fsc train", t);
      model = work + "/model";
    }
  }
  if (model.empty()) {
    std::cerr << "convert_bench: --alignments given without --model\n";
    return 2;
  }
  auto info = fsc::media::ProbeVideo(video);
  if (!info.ok()) {
    std::cerr << "convert_bench: " << info.status().message() << "\n";
    return 1;
  }
  const int64_t frames = info->frame_count;

  // The floor: ffmpeg decoding the source and encoding the same way convert's writer does.
  fsc::media::VideoWriterOptions encode;
  encode.codec = codec;
  encode.crf = crf;
  encode.preset = preset;
  const std::string floor_out = work + "/floor.mp4";
  std::vector<std::string> floor_cmd = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
                                        "-y",     "-i",           video,       "-map",  "0:v:0"};
  if (info->has_audio) {
    floor_cmd.insert(floor_cmd.end(), {"-map", "0:a:0?", "-c:a",
                                       fsc::media::AudioCodecFor(floor_out, info->audio_codec)});
  }
  floor_cmd.insert(floor_cmd.end(), {"-c:v", codec, "-crf", std::to_string(crf), "-preset", preset,
                                     "-pix_fmt", "yuv420p", floor_out});

  // Decoding alone, to tell the encoder's share of the floor's CPU time.
  const std::vector<std::string> decode_cmd = {"ffmpeg",   "-hide_banner", "-loglevel", "error",
                                               "-nostdin", "-i",           video,       "-map",
                                               "0:v:0",    "-f",           "null",      "-"};
  double best_floor = 1e30, best_floor_cpu = 1e30, best_decode_cpu = 1e30;
  std::vector<std::string> precision_list = absl::StrSplit(precisions, ',', absl::SkipEmpty());
  struct Best {
    double seconds = 1e30, cpu_seconds = 1e30, pipeline_fps = 0;
    nlohmann::json stages;
  };
  std::vector<Best> best(precision_list.size());
  for (int round = 0; whole && round < rounds; ++round) {
    Timed f = Run(floor_cmd);
    if (f.exit_code != 0) return Fail("ffmpeg floor", f);
    best_floor = std::min(best_floor, f.seconds);
    best_floor_cpu = std::min(best_floor_cpu, f.cpu_seconds);
    Timed d = Run(decode_cmd);
    if (d.exit_code != 0) return Fail("ffmpeg decode", d);
    best_decode_cpu = std::min(best_decode_cpu, d.cpu_seconds);
    for (size_t p = 0; p < precision_list.size(); ++p) {
      const std::string out = work + "/convert.mp4";
      Timed c = Run({fsc,
                     "convert",
                     video,
                     "-m",
                     model,
                     "--alignments",
                     alignments,
                     "-o",
                     out,
                     "--codec",
                     codec,
                     "--crf",
                     std::to_string(crf),
                     "--preset",
                     preset,
                     "--threads",
                     std::to_string(threads),
                     "--batch",
                     std::to_string(batch),
                     "--precision",
                     precision_list[p],
                     "--color",
                     color,
                     "--json"});
      if (c.exit_code != 0) return Fail("fsc convert", c);
      nlohmann::json report = nlohmann::json::parse(c.out, nullptr, false);
      best[p].cpu_seconds = std::min(best[p].cpu_seconds, c.cpu_seconds);
      if (c.seconds < best[p].seconds) {
        best[p].seconds = c.seconds;
        if (!report.is_discarded()) {
          best[p].pipeline_fps = report.value("frames_per_second", 0.0);
          best[p].stages = report["stage_seconds"];
        }
      }
      std::cerr << absl::StrFormat(
          "round %d: floor %.2f s (cpu %.2f s), convert %s %.2f s (cpu %.2f s)\n", round + 1,
          f.seconds, f.cpu_seconds, precision_list[p], c.seconds, c.cpu_seconds);
    }
  }

  // The model alone, in this process: faces per second per batch size and precision.
  nlohmann::json model_only = nlohmann::json::object();
  for (absl::string_view batch_text : absl::StrSplit(model_batches, ',', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(batch_text, &n) || n < 1) continue;
    for (const std::string& precision : precision_list) {
      fsc::convert::SwapOptions swap_options;
      swap_options.threads = threads;
      swap_options.precision = precision;
      auto swap = fsc::convert::SwapModel::Load(model, swap_options);
      if (!swap.ok()) {
        std::cerr << "convert_bench: " << swap.status().message() << "\n";
        return 1;
      }
      const int size = (*swap)->info().input_size;
      std::vector<cv::Mat> faces(n);
      cv::RNG rng(1);
      for (cv::Mat& face : faces) {
        face.create(size, size, CV_8UC3);
        rng.fill(face, cv::RNG::UNIFORM, 0, 256);
      }
      double best_seconds = 1e30, best_cpu = 1e30;
      const int calls = std::max(2, 64 / n);
      for (int round = 0; round < std::max(1, rounds) + 1; ++round) {  // the first warms up
        const Clock::time_point start = Clock::now();
        const double cpu_start = ProcessCpuSeconds();
        for (int c = 0; c < calls; ++c) {
          if (!(*swap)->Swap(faces, fsc::convert::SwapDirection::kAToB).ok()) return 1;
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        const double cpu = ProcessCpuSeconds() - cpu_start;
        if (round > 0) {
          best_seconds = std::min(best_seconds, seconds / calls);
          best_cpu = std::min(best_cpu, cpu / calls);
        }
      }
      model_only[precision][std::to_string(n)] = {{"faces_per_second", n / best_seconds},
                                                  {"cpu_ms_per_face", 1000 * best_cpu / n}};
      std::cerr << absl::StrFormat("model alone: %s batch %d: %.1f faces/s, %.1f cpu ms/face\n",
                                   precision, n, n / best_seconds, 1000 * best_cpu / n);
    }
  }

  nlohmann::json fidelity_figures;
  if (fidelity) {
    auto figures = FidelityVsFp32(model, precision_list,
                                  fs::path(alignments).parent_path().string(), threads, batch);
    if (!figures.ok()) {
      std::cerr << "convert_bench: fidelity: " << figures.status().message() << "\n";
      return 1;
    }
    fidelity_figures = *figures;
    for (const auto& [precision, f] : figures->items()) {
      if (!f.is_object()) continue;
      std::cerr << absl::StrFormat(
          "fidelity vs fp32 on %d faces: %s mean %.2f levels, rms %.2f, max %.0f, PSNR %.1f dB\n",
          (*figures)["faces"].get<int>(), precision, f["mean_levels"].get<double>(),
          f["rms_levels"].get<double>(), f["max_levels"].get<double>(), f["psnr_db"].get<double>());
    }
  }

  // A lower bound for convert on this machine: the model alone for the video's faces at its best
  // measured rate (using every core it is given), plus the encoder alone spread over all cores.
  // Convert does both and more (start-up, decoding, blending), so it cannot beat the sum.
  int64_t face_count = 0;
  if (auto read = fsc::face::ReadAlignments(alignments); read.ok()) {
    for (const auto& frame : read->frames()) face_count += frame.faces_size();
  }
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const double encode_cpu = std::max(0.0, best_floor_cpu - best_decode_cpu);
  std::vector<nlohmann::json> bounds(precision_list.size());
  for (size_t p = 0; whole && p < precision_list.size(); ++p) {
    if (!model_only.contains(precision_list[p]) || face_count == 0) continue;
    double fastest = 0;
    for (const auto& [n, figures] : model_only[precision_list[p]].items()) {
      fastest = std::max(fastest, figures["faces_per_second"].get<double>());
    }
    const double model_seconds = face_count / fastest;
    const double bound = model_seconds + encode_cpu / cores;
    bounds[p] = {{"faces", face_count},
                 {"model_alone_seconds", model_seconds},
                 {"encoder_cpu_seconds", encode_cpu},
                 {"cores", cores},
                 {"seconds", bound},
                 {"x_floor", bound / best_floor}};
  }

  nlohmann::json out = {{"video", video},
                        {"frames", frames},
                        {"codec", codec},
                        {"crf", crf},
                        {"preset", preset},
                        {"threads", threads},
                        {"batch", batch},
                        {"rounds", rounds},
                        {"floor_seconds", best_floor},
                        {"floor_fps", frames / best_floor},
                        {"floor_cpu_seconds", best_floor_cpu}};
  if (!whole) {
    out.erase("floor_seconds");
    out.erase("floor_fps");
    out.erase("floor_cpu_seconds");
    precision_list.clear();
  }
  for (size_t p = 0; p < precision_list.size(); ++p) {
    out["convert"][precision_list[p]] = {{"seconds", best[p].seconds},
                                         {"fps", frames / best[p].seconds},
                                         {"pipeline_fps", best[p].pipeline_fps},
                                         {"x_floor", best[p].seconds / best_floor},
                                         {"cpu_seconds", best[p].cpu_seconds},
                                         {"cpu_x_floor", best[p].cpu_seconds / best_floor_cpu},
                                         {"stage_busy_seconds", best[p].stages}};
    if (!bounds[p].is_null()) out["convert"][precision_list[p]]["lower_bound"] = bounds[p];
  }
  if (!model_only.empty()) out["model_alone_faces_per_second"] = model_only;
  if (!fidelity_figures.is_null()) out["fidelity_vs_fp32"] = fidelity_figures;
  if (json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << absl::StrFormat("%s, %d frames, %s crf %d preset %s, best of %d rounds\n", video,
                                 frames, codec, crf, preset, rounds);
    if (whole) {
      std::cout << absl::StrFormat(
          "  ffmpeg decode+encode (floor): %6.2f s  %6.1f frames/s  cpu %6.2f s\n", best_floor,
          frames / best_floor, best_floor_cpu);
    }
    for (size_t p = 0; p < precision_list.size(); ++p) {
      std::cout << absl::StrFormat(
          "  fsc convert %-5s:             %6.2f s  %6.1f frames/s  (pipeline %.1f frames/s)  "
          "%.2fx the floor\n",
          precision_list[p], best[p].seconds, frames / best[p].seconds, best[p].pipeline_fps,
          best[p].seconds / best_floor);
      std::cout << absl::StrFormat("      cpu %.2f s = %.2fx the floor's cpu time\n",
                                   best[p].cpu_seconds, best[p].cpu_seconds / best_floor_cpu);
      if (!best[p].stages.is_null()) {
        std::cout << "      busy seconds per stage: " << best[p].stages.dump() << "\n";
      }
      if (!bounds[p].is_null()) {
        std::cout << absl::StrFormat(
            "      lower bound here: model alone %.2f s for %d faces + encoder alone %.2f cpu s / "
            "%d cores = %.2f s = %.2fx the floor\n",
            bounds[p]["model_alone_seconds"].get<double>(), face_count, encode_cpu, cores,
            bounds[p]["seconds"].get<double>(), bounds[p]["x_floor"].get<double>());
      }
    }
  }
  return 0;
}
