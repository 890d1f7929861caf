// The conversion stage (`fsc convert`): every face of the alignments file is swapped by a trained
// model and blended back into its frame; video in gives video out (the source's size, exact frame
// rate and audio, via ffmpeg), images in give images out under the same names. Every frame that
// gets a swapped face carries fsc's watermark, and every output carries the synthetic metadata
// tag (synthetic_label.h); there is no way to turn either off.
//
// Everything that can be checked is checked before any frame is touched: the source opens, the
// alignments file belongs to it (fingerprint and frame count), the model folder is a verified fsc
// model, the output location is writable, the codec exists, option values are known.
//
// Pipeline (threads joined by bounded queues, so the slowest stage sets the pace and memory
// stays bounded):
//   decode     frames from the source; each face warped into the model's input square (cheap,
//              and done here so the inference thread only runs the model)
//   infer      faces batched across frames (batch_size) through encoder + the other decoder
//              (int8 inference calibrates first on the first faces of the source, read
//              separately, so the quantisation does not depend on how batches fall)
//   composite  mask, sharpening, colour matching and blend per face; watermark per swapped frame
//   encode     raw frames into ffmpeg (video) or labelled image files
// Outputs are atomic: a temporary beside the output, renamed at the end; on any error it is
// removed and nothing is left at the output path.
#ifndef FSC_CORE_CONVERT_CONVERTER_H_
#define FSC_CORE_CONVERT_CONVERTER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/convert/composite.h"
#include "core/convert/swap_model.h"
#include "core/media/video_writer.h"

namespace fsc::convert {

struct ConvertOptions {
  std::string alignments_path;  // the alignments file fsc extract wrote for the input
  SwapDirection direction = SwapDirection::kAToB;
  // "auto" (the learned mask when the model has one, else the landmark mask it was trained
  // with), "learned", "hull", "components", "extended".
  std::string mask = "auto";
  BlendOptions blend;
  media::VideoWriterOptions video;  // codec, crf, preset, ffmpeg program
  std::string ffprobe = "ffprobe";
  int threads = 2;                 // LibTorch intra-op threads for the model
  int batch_size = 32;             // faces per model call (larger batches run the model faster)
  std::string precision = "auto";  // auto | fp32 | bf16 | int8 (see SwapOptions)
  std::string device = "auto";     // where the model runs (see SwapOptions)
  int jpeg_quality = 95;
  int queue_frames = 8;  // frames each queue between stages holds
  // int8 calibration faces: by default the first faces of the input. A task converting one
  // range of a longer source names the whole source and its alignments file here, so that every
  // range is quantised alike and no seam shows where two ranges meet.
  std::string calibration_input;
  std::string calibration_alignments_path;
};

struct StageSeconds {  // busy time of each stage (waiting excluded), for profiling
  double decode = 0, infer = 0, composite = 0, encode = 0;
};

struct ConvertReport {
  std::string output;
  bool video = false;
  int64_t frames = 0;          // frames written
  int64_t frames_swapped = 0;  // frames with at least one face blended in
  int64_t faces_swapped = 0;
  double seconds = 0;            // whole run, model loading included
  double frames_per_second = 0;  // frames / pipeline seconds (after loading)
  StageSeconds stages;
  SwapModelInfo model;
  std::string mask;                   // the mask used
  std::vector<std::string> warnings;  // undecodable frames/images (each named)
  // int8 only: where the calibration faces came from, and the source frames that held them.
  std::string calibration_input;
  std::vector<int64_t> calibration_frames;
};

// INVALID_ARGUMENT naming the option when a number is out of range or the preset is unknown.
absl::Status ValidateConvertOptions(const ConvertOptions& options);

// Called from the writing thread with (frames written, frames expected or 0).
using ConvertProgress = std::function<void(int64_t, int64_t)>;

// The checks listed above are INVALID_ARGUMENT (bad option values, alignments of another
// source, video/image mismatch between input and output), NOT_FOUND (input, alignments or model
// missing), DATA_LOSS (corrupt model or alignments), FAILED_PRECONDITION (output location not
// writable or an existing non-empty output folder). Later failures (ffmpeg dying, a full disk)
// come back as errors with nothing left at `output`.
absl::StatusOr<ConvertReport> RunConversion(const std::string& input, const std::string& model_dir,
                                            const std::string& output,
                                            const ConvertOptions& options,
                                            const ConvertProgress& progress = nullptr);

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_CONVERTER_H_
