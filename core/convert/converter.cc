// The conversion pipeline of fsc convert (see converter.h).
#include "core/convert/converter.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/convert/bounded_queue.h"
#include "core/convert/convert_spec.h"
#include "core/convert/face_warp.h"
#include "core/convert/synthetic_label.h"
#include "core/convert/watermark.h"
#include "core/face/alignment.h"
#include "core/face/alignments_file.h"
#include "core/face/mask.h"
#include "core/media/frame_source.h"
#include "core/media/image_reader.h"
#include "core/rpc/option_schema.h"
#include "core/util/limits.h"
#include "core/util/status_macros.h"

namespace fsc::convert {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct FaceJob {
  FaceGeometry geometry;
  SwappedFace swapped;  // face / learned_mask filled in by the inference stage
  cv::Mat input;        // S x S model input
};

struct FrameJob {
  int64_t index = 0;
  std::string name;
  cv::Mat image;
  std::vector<FaceJob> faces;
};

using FrameQueue = BoundedQueue<FrameJob>;

// The first error any stage meets; it cancels every queue so all stages stop.
class ErrorSlot {
 public:
  void Set(absl::Status status, std::initializer_list<FrameQueue*> queues) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (status_.ok()) status_ = std::move(status);
    }
    for (FrameQueue* q : queues) q->Cancel();
  }
  absl::Status Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  absl::Status status_;
};

// The geometry of a stored face in a frame of `frame_size`; nullopt when its transform is
// unusable (no 6 finite numbers, tiny aligned size) or it lies off the frame.
std::optional<FaceGeometry> GeometryOf(const proto::Face& stored, double coverage, int model_size,
                                       cv::Size frame_size) {
  cv::Mat to_aligned = face::TransformOf(stored);
  if (to_aligned.empty() || stored.aligned_size() < 8) return std::nullopt;
  absl::StatusOr<FaceGeometry> geometry =
      ComputeFaceGeometry(to_aligned, stored.aligned_size(), coverage, model_size, frame_size);
  if (!geometry.ok() || geometry->roi.empty()) return std::nullopt;
  return *std::move(geometry);
}

// int8 calibration faces: the model inputs of the first faces of the source in frame order, up to
// this many. A dozen or two give ranges that hold for the rest of a shot (the quantiser adds a
// margin): on Megamind, 8, 16 and 32 faces gave the same fidelity (convert_bench --fidelity),
// while every face costs a float forward pass before the first frame is swapped.
constexpr size_t kCalibrationFaces = 16;

// The most frame memory the inference stage holds while it fills a batch.
constexpr size_t kMaxPendingBytes = size_t{256} << 20;

std::map<int64_t, const proto::Frame*> FramesWithFaces(const proto::Alignments& alignments) {
  std::map<int64_t, const proto::Frame*> out;
  for (const proto::Frame& frame : alignments.frames()) {
    if (frame.faces_size() > 0) out[frame.index()] = &frame;
  }
  return out;
}

// Fills `frames` with the source frame of each face returned.
absl::StatusOr<std::vector<cv::Mat>> CalibrationFaces(
    const std::string& input, const std::map<int64_t, const proto::Frame*>& faces_by_frame,
    double coverage, int model_size, std::vector<int64_t>* frames) {
  std::vector<cv::Mat> faces;
  if (faces_by_frame.empty()) return faces;
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<media::FrameSource> source, media::FrameSource::Open(input));
  source->SkipTo(faces_by_frame.begin()->first);
  while (faces.size() < kCalibrationFaces) {
    std::optional<media::SourceFrame> frame = source->Next();
    if (!frame) break;
    auto it = faces_by_frame.find(frame->index);
    if (it == faces_by_frame.end()) continue;
    for (const proto::Face& stored : it->second->faces()) {
      std::optional<FaceGeometry> geometry =
          GeometryOf(stored, coverage, model_size, frame->image.size());
      if (!geometry) continue;
      faces.push_back(WarpToModel(frame->image, *geometry));
      frames->push_back(frame->index);
    }
    if (std::next(it) == faces_by_frame.end()) break;
  }
  return faces;
}

// Where the outputs go and how they are committed.
struct OutputPlan {
  bool video = false;
  bool single_image = false;  // one image in, OUTPUT is an image file
  std::string final_path;     // OUTPUT
  std::string temp_dir;       // images: the temporary folder renamed to OUTPUT at the end
};

absl::Status CheckWritableFolder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "output folder ", dir.string(), " does not exist; create it or choose another output"));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("output folder ", dir.string(), " is not writable; choose another output"));
  }
  return absl::OkStatus();
}

fs::path ParentOf(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  fs::path parent = p.has_filename() ? p.parent_path() : p.parent_path().parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

absl::StatusOr<OutputPlan> PlanOutput(const media::SourceDescription& source,
                                      const std::string& output) {
  OutputPlan plan;
  plan.final_path = output;
  std::error_code ec;
  const bool image_name = media::HasImageExtension(output);
  if (source.kind == media::SourceKind::kVideo) {
    if (image_name || fs::is_directory(output, ec)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the input is a video, so the output must be a video file name (e.g. out.mp4), not ",
          output));
    }
    if (fs::path(output).extension().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output ", output, " has no extension; name the container (e.g. out.mp4 or out.mkv)"));
    }
    plan.video = true;
    FSC_RETURN_IF_ERROR(CheckWritableFolder(ParentOf(output)));
    return plan;
  }
  if (source.kind == media::SourceKind::kImage && image_name) {
    plan.single_image = true;
    FSC_RETURN_IF_ERROR(CheckWritableFolder(ParentOf(output)));
    return plan;
  }
  // Images into a folder: a fresh one (or an empty one), filled under a temporary name.
  if (fs::exists(output, ec)) {
    if (!fs::is_directory(output, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "output ", output, " exists and is not a folder; images are written into a folder"));
    }
    if (!fs::is_empty(output, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "output folder ", output, " is not empty; choose a new folder (nothing is overwritten)"));
    }
  }
  const fs::path parent = ParentOf(output);
  FSC_RETURN_IF_ERROR(CheckWritableFolder(parent));
  plan.temp_dir = (parent / absl::StrCat(".fsc-tmp-", ::getpid(), "-",
                                         fs::path(output).lexically_normal().filename().string()))
                      .string();
  return plan;
}

// Resolves --mask against the model: the learned mask or a landmark mask type.
absl::StatusOr<std::optional<face::MaskType>> ResolveMask(const std::string& mask,
                                                          const SwapModelInfo& model,
                                                          std::string* used) {
  if (mask == "auto") {
    if (model.learn_mask) {
      *used = "learned";
      return std::optional<face::MaskType>();
    }
    *used = model.mask_type == "none" || model.mask_type.empty() ? "extended" : model.mask_type;
  } else if (mask == "learned") {
    if (!model.learn_mask) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--mask learned: the model in ", model.dir,
          " has no learned mask (train with --learn-mask); use hull, components or extended"));
    }
    *used = "learned";
    return std::optional<face::MaskType>();
  } else {
    *used = mask;
  }
  absl::StatusOr<face::MaskType> type = face::ParseMaskType(*used);
  if (!type.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown mask \"", mask, "\"; use one of: auto, learned, hull, components, extended"));
  }
  return std::optional<face::MaskType>(*type);
}

}  // namespace

absl::Status ValidateConvertOptions(const ConvertOptions& o) {
  if (o.calibration_input.empty() != o.calibration_alignments_path.empty()) {
    return absl::InvalidArgumentError(
        "a calibration input needs its alignments file, and an alignments file its input");
  }
  // The job options' ranges and spellings are fsc.proto's (the flags and the coordinator check
  // the same ones).
  FSC_RETURN_IF_ERROR(rpc::ValidateOptionFlags(ConvertSpecOf(o)));
  if (o.threads < 1 || o.threads > util::kMaxThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads ", o.threads, " not in 1..", util::kMaxThreads));
  }
  return absl::OkStatus();
}

namespace {

// The source opened, where its output goes, and its alignments, checked to belong to it.
struct CheckedInputs {
  std::unique_ptr<media::FrameSource> source;
  media::SourceDescription description;
  OutputPlan plan;
  proto::Alignments alignments;
};

// The alignments file of `input`: given, readable, and made from this very source.
absl::StatusOr<proto::Alignments> ReadSourceAlignments(const std::string& input,
                                                       const media::SourceDescription& description,
                                                       const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "no alignments file: pass --alignments DIR/alignments.fsa as written by fsc extract");
  }
  absl::StatusOr<proto::Alignments> alignments = face::ReadAlignments(path);
  if (!alignments.ok()) {
    if (alignments.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(
          absl::StrCat("alignments file ", path, " not found; run fsc extract ", input,
                       " -o DIR first and pass --alignments DIR/alignments.fsa"));
    }
    return alignments.status();
  }
  FSC_ASSIGN_OR_RETURN(std::string fingerprint, face::SourceFingerprint(input));
  const proto::SourceInfo& made_from = alignments->source();
  if (made_from.sha256() != fingerprint) {
    return absl::InvalidArgumentError(
        absl::StrCat("alignments file ", path, " belongs to another source (", made_from.path(),
                     ", ", made_from.frame_count(), " frames), not to ", input,
                     ": its fingerprint differs; run fsc extract ", input,
                     " -o DIR and use that folder's alignments.fsa"));
  }
  if (made_from.frame_count() != description.frame_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("alignments file ", path, " lists ", made_from.frame_count(), " frames but ",
                     input, " has ", description.frame_count, "; extract it again"));
  }
  return alignments;
}

absl::StatusOr<CheckedInputs> CheckInputs(const std::string& input, const std::string& output,
                                          const ConvertOptions& options) {
  CheckedInputs in;
  FSC_ASSIGN_OR_RETURN(in.source, media::FrameSource::Open(input));
  in.description = in.source->description();
  std::error_code ec;
  if (fs::exists(output, ec) && fs::equivalent(input, output, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output ", output, " is the input itself; write the conversion somewhere else"));
  }
  FSC_ASSIGN_OR_RETURN(in.plan, PlanOutput(in.description, output));
  FSC_ASSIGN_OR_RETURN(in.alignments,
                       ReadSourceAlignments(input, in.description, options.alignments_path));
  return in;
}

// The model with its blend mask resolved and, for int8, calibrated on faces of the source.
struct LoadedModel {
  std::unique_ptr<SwapModel> model;
  std::optional<face::MaskType> mask_type;  // nullopt: the model's learned mask
  media::VideoInfo video_info;              // of a video input
};

absl::StatusOr<LoadedModel> LoadModel(const std::string& input, const std::string& model_dir,
                                      const ConvertOptions& options, const CheckedInputs& in,
                                      ConvertReport* report) {
  // The encoder check and the probe run ffmpeg and ffprobe: they go on while the model loads, and
  // their errors still come first.
  std::future<absl::StatusOr<media::VideoInfo>> probed;
  if (in.plan.video) {
    probed = std::async(std::launch::async, [&]() -> absl::StatusOr<media::VideoInfo> {
      FSC_RETURN_IF_ERROR(media::CheckEncoder(options.video.codec, options.video.ffmpeg));
      return media::ProbeVideo(input, options.ffprobe);
    });
  }
  SwapOptions swap_options;
  swap_options.threads = options.threads;
  swap_options.precision = options.precision;
  swap_options.device = options.device;
  absl::StatusOr<std::unique_ptr<SwapModel>> loaded = SwapModel::Load(model_dir, swap_options);
  LoadedModel out;
  if (probed.valid()) {
    FSC_ASSIGN_OR_RETURN(out.video_info, probed.get());
  }
  FSC_ASSIGN_OR_RETURN(out.model, std::move(loaded));
  report->model = out.model->info();
  FSC_ASSIGN_OR_RETURN(out.mask_type, ResolveMask(options.mask, out.model->info(), &report->mask));
  if (report->model.precision != "int8") return out;

  report->calibration_input = input;
  std::optional<proto::Alignments> whole;
  if (!options.calibration_input.empty()) {
    FSC_ASSIGN_OR_RETURN(whole, face::ReadAlignments(options.calibration_alignments_path));
    report->calibration_input = options.calibration_input;
  }
  FSC_ASSIGN_OR_RETURN(
      std::vector<cv::Mat> calibration,
      CalibrationFaces(report->calibration_input, FramesWithFaces(whole ? *whole : in.alignments),
                       out.model->info().coverage, out.model->info().input_size,
                       &report->calibration_frames));
  if (!calibration.empty()) FSC_RETURN_IF_ERROR(out.model->Calibrate(calibration));
  return out;
}

// A video writer tagged synthetic with the source's audio, or (nullptr) the temporary folder
// that images are written into.
absl::StatusOr<std::unique_ptr<media::VideoWriter>> OpenOutput(const std::string& input,
                                                               const std::string& output,
                                                               const ConvertOptions& options,
                                                               const CheckedInputs& in,
                                                               const media::VideoInfo& info) {
  if (in.plan.video) {
    media::VideoWriterOptions video = options.video;
    if (info.has_audio) {
      video.audio_source = input;
      video.audio_codec = info.audio_codec;
    }
    const std::vector<std::string> tags = SyntheticMetadataArgs();
    video.extra_output_args.insert(video.extra_output_args.end(), tags.begin(), tags.end());
    return media::VideoWriter::Open(output, in.description.width, in.description.height,
                                    info.frame_rate, video);
  }
  if (!in.plan.single_image) {
    std::error_code ec;
    fs::create_directories(in.plan.temp_dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", in.plan.temp_dir, ": ", ec.message()));
    }
  }
  return std::unique_ptr<media::VideoWriter>();
}

// Removes the images' temporary folder on every early return; cleared once it is renamed.
struct TempDirGuard {
  std::string path;
  ~TempDirGuard() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

// The four stages of a conversion joined by bounded queues, each on its own thread: decode (the
// caller's: frames, and their faces warped to the model), infer (batches across frames),
// composite (blend and watermark) and encode (the video, or labelled images).
class ConversionPipeline {
 public:
  ConversionPipeline(const ConvertOptions& options, CheckedInputs* in, const LoadedModel& model,
                     media::VideoWriter* writer, const ConvertProgress& progress)
      : options_(options),
        in_(*in),
        model_(*model.model),
        mask_type_(model.mask_type),
        writer_(writer),
        progress_(progress),
        faces_by_frame_(FramesWithFaces(in->alignments)),
        depth_(static_cast<size_t>(std::max(2, options.queue_frames))),
        decoded_(depth_),
        swapped_(depth_),
        blended_(depth_) {
    // One face per frame is the common case, so a full batch needs batch_size frames; their
    // memory is bounded (kMaxPendingBytes) so that 4K sources do not hold gigabytes.
    const size_t frame_bytes = std::max<size_t>(
        1, static_cast<size_t>(in_.description.width) * in_.description.height * 3);
    max_pending_ = std::max(
        depth_, std::min(static_cast<size_t>(options.batch_size), kMaxPendingBytes / frame_bytes));
  }

  // Converts every frame; the first error of any stage.
  absl::Status Run() {
    std::thread infer([this] { Infer(); });
    std::thread composite([this] { Composite(); });
    std::thread encode([this] { Encode(); });
    Decode();
    infer.join();
    composite.join();
    encode.join();
    return error_.Get();
  }

  void Report(ConvertReport* report) const {
    report->stages = busy_;
    report->frames = frames_written_.load();
    report->frames_swapped = frames_swapped_.load();
    report->faces_swapped = faces_swapped_.load();
  }

 private:
  void Fail(absl::Status status) {
    error_.Set(std::move(status), {&decoded_, &swapped_, &blended_});
  }

  // The faces the alignments list for `frame`, each warped to the model's input.
  absl::Status AddFaces(const proto::Frame& frame, FrameJob* job) const {
    const SwapModelInfo& info = model_.info();
    for (const proto::Face& stored : frame.faces()) {
      FaceJob face;
      face.swapped.to_aligned = face::TransformOf(stored);
      face.swapped.aligned_size = stored.aligned_size();
      if (face.swapped.to_aligned.empty() || stored.aligned_size() < 8) {
        return absl::DataLossError(
            absl::StrCat("alignments file ", options_.alignments_path, ": frame ", job->index,
                         " has a face without a usable transform; extract the source again"));
      }
      std::optional<FaceGeometry> geometry =
          GeometryOf(stored, info.coverage, info.input_size, job->image.size());
      if (!geometry) continue;  // degenerate or off-frame
      face.geometry = *std::move(geometry);
      if (mask_type_.has_value()) {
        face.swapped.mask_type = *mask_type_;
        for (const proto::Point& p : stored.landmarks()) {
          face.swapped.landmarks.emplace_back(p.x(), p.y());
        }
        for (const proto::Mask& mask : stored.masks()) {
          if (mask.kind() != face::MaskKindOf(*mask_type_)) continue;
          // A stored mask that does not decode is drawn again from the landmarks.
          absl::StatusOr<cv::Mat> decoded =
              media::DecodeImage(mask.png(), cv::IMREAD_GRAYSCALE, "stored mask");
          face.swapped.stored_mask = decoded.ok() ? *std::move(decoded) : cv::Mat();
        }
      }
      face.input = WarpToModel(job->image, face.geometry);
      job->faces.push_back(std::move(face));
    }
    return absl::OkStatus();
  }

  void Decode() {
    while (true) {
      const Clock::time_point t0 = Clock::now();
      std::optional<media::SourceFrame> frame = in_.source->Next();
      if (!frame) break;
      FrameJob job;
      job.index = frame->index;
      job.name = frame->name;
      job.image = std::move(frame->image);
      auto it = faces_by_frame_.find(job.index);
      if (it != faces_by_frame_.end()) {
        if (absl::Status added = AddFaces(*it->second, &job); !added.ok()) {
          Fail(added);
          break;
        }
      }
      busy_.decode += Since(t0);
      if (!decoded_.Push(std::move(job))) break;
    }
    decoded_.Close();
  }

  // Swaps the faces of the pending frames in one model call and passes the frames on.
  bool Flush(std::vector<FrameJob>* pending, size_t* pending_faces) {
    if (*pending_faces > 0) {
      const Clock::time_point t0 = Clock::now();
      std::vector<cv::Mat> inputs;
      inputs.reserve(*pending_faces);
      for (FrameJob& job : *pending) {
        for (FaceJob& face : job.faces) inputs.push_back(face.input);
      }
      absl::StatusOr<std::vector<SwapOutput>> out = model_.Swap(inputs, options_.direction);
      if (!out.ok()) {
        Fail(out.status());
        return false;
      }
      size_t k = 0;
      for (FrameJob& job : *pending) {
        for (FaceJob& face : job.faces) {
          face.swapped.face = std::move((*out)[k].face);
          if (!mask_type_.has_value()) face.swapped.learned_mask = std::move((*out)[k].mask);
          face.input.release();
          ++k;
        }
      }
      busy_.infer += Since(t0);
    }
    for (FrameJob& job : *pending) {
      if (!swapped_.Push(std::move(job))) return false;
    }
    pending->clear();
    *pending_faces = 0;
    return true;
  }

  void Infer() {
    std::vector<FrameJob> pending;
    size_t pending_faces = 0;
    while (std::optional<FrameJob> job = decoded_.Pop()) {
      if (job->faces.empty() && pending.empty()) {
        if (!swapped_.Push(std::move(*job))) return;
        continue;
      }
      pending_faces += job->faces.size();
      pending.push_back(std::move(*job));
      // Batch across frames, holding at most max_pending_ frames for it.
      if (pending_faces >= static_cast<size_t>(options_.batch_size) ||
          pending.size() >= max_pending_) {
        if (!Flush(&pending, &pending_faces)) return;
      }
    }
    if (Flush(&pending, &pending_faces)) swapped_.Close();
  }

  void Composite() {
    while (std::optional<FrameJob> job = swapped_.Pop()) {
      const Clock::time_point t0 = Clock::now();
      int blended_faces = 0;
      for (FaceJob& face : job->faces) {
        absl::Status status = BlendFace(face.geometry, face.swapped, options_.blend, &job->image);
        if (!status.ok()) {
          Fail(absl::Status(status.code(),
                            absl::StrCat("frame ", job->index, ": ", status.message())));
          return;
        }
        ++blended_faces;
      }
      if (blended_faces > 0) {
        EmbedWatermark(&job->image);
        frames_swapped_ += 1;
        faces_swapped_ += blended_faces;
      }
      job->faces.clear();
      busy_.composite += Since(t0);
      if (!blended_.Push(std::move(*job))) return;
    }
    blended_.Close();
  }

  void Encode() {
    const OutputPlan& plan = in_.plan;
    while (std::optional<FrameJob> job = blended_.Pop()) {
      const Clock::time_point t0 = Clock::now();
      absl::Status status;
      if (writer_ != nullptr) {
        status = writer_->Write(job->image);
      } else if (plan.single_image) {
        status = WriteLabelledImage(plan.final_path, job->image, options_.jpeg_quality);
      } else {
        status = WriteLabelledImage((fs::path(plan.temp_dir) / job->name).string(), job->image,
                                    options_.jpeg_quality);
      }
      if (!status.ok()) {
        Fail(status);
        return;
      }
      busy_.encode += Since(t0);
      const int64_t done = ++frames_written_;
      if (progress_) progress_(done, in_.description.frame_count);
    }
  }

  const ConvertOptions& options_;
  CheckedInputs& in_;
  SwapModel& model_;
  const std::optional<face::MaskType> mask_type_;
  media::VideoWriter* const writer_;  // nullptr: images
  const ConvertProgress& progress_;
  const std::map<int64_t, const proto::Frame*> faces_by_frame_;
  const size_t depth_;
  size_t max_pending_ = 0;
  FrameQueue decoded_, swapped_, blended_;
  ErrorSlot error_;
  StageSeconds busy_;  // each field written by its own stage's thread
  std::atomic<int64_t> frames_swapped_{0}, faces_swapped_{0}, frames_written_{0};
};

// Finishes the video, or renames the images' temporary folder to `output`.
absl::Status Commit(media::VideoWriter* writer, const OutputPlan& plan, const std::string& output,
                    TempDirGuard* temp) {
  if (writer != nullptr) return writer->Finish();
  if (plan.single_image) return absl::OkStatus();
  std::error_code ec;
  if (fs::is_directory(output, ec)) fs::remove(output, ec);  // known to be empty
  fs::rename(plan.temp_dir, output, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", plan.temp_dir, " to ", output, ": ", ec.message()));
  }
  temp->path.clear();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ConvertReport> RunConversion(const std::string& input, const std::string& model_dir,
                                            const std::string& output,
                                            const ConvertOptions& options,
                                            const ConvertProgress& progress) {
  const Clock::time_point start = Clock::now();
  FSC_RETURN_IF_ERROR(ValidateConvertOptions(options));
  ConvertReport report;
  report.output = output;
  FSC_ASSIGN_OR_RETURN(CheckedInputs in, CheckInputs(input, output, options));
  report.video = in.plan.video;
  FSC_ASSIGN_OR_RETURN(LoadedModel model, LoadModel(input, model_dir, options, in, &report));
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<media::VideoWriter> writer,
                       OpenOutput(input, output, options, in, model.video_info));
  TempDirGuard temp{in.plan.temp_dir};

  const Clock::time_point pipeline_start = Clock::now();
  ConversionPipeline pipeline(options, &in, model, writer.get(), progress);
  FSC_RETURN_IF_ERROR(pipeline.Run());
  pipeline.Report(&report);
  report.warnings = in.source->warnings();
  FSC_RETURN_IF_ERROR(Commit(writer.get(), in.plan, output, &temp));

  const double pipeline_seconds = Since(pipeline_start);
  report.seconds = Since(start);
  report.frames_per_second = pipeline_seconds > 0 ? report.frames / pipeline_seconds : 0;
  return report;
}

}  // namespace fsc::convert
