// FaceExtractor (one frame) and RunExtraction (a whole source over worker threads).
#include "core/face/extractor.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "core/face/alignment.h"
#include "core/face/alignments_file.h"
#include "core/face/extract_spec.h"
#include "core/face/face_metadata.h"
#include "core/face/face_png.h"
#include "core/face/face_recut.h"
#include "core/face/mask.h"
#include "core/media/frame_source.h"
#include "core/media/image_reader.h"
#include "core/rpc/option_schema.h"
#include "core/util/artifact_names.h"
#include "core/util/file_io.h"
#include "core/util/limits.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

namespace fs = std::filesystem;

constexpr char kAlignerName[] = "face-api-landmark68";

// The descriptor of the face in the filter image: an fsc face PNG carries its aligned landmarks;
// any other photo goes through detection and the landmark net.
absl::StatusOr<Descriptor> ReferenceDescriptor(const std::string& path, FaceDetector& detector,
                                               LandmarkNet& landmarks,
                                               RecognitionNet& recognition) {
  FSC_ASSIGN_OR_RETURN(std::string bytes, media::ReadImageFile(path));
  absl::StatusOr<cv::Mat> decoded = media::DecodeImage(bytes, cv::IMREAD_COLOR, "--filter " + path);
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(decoded.status().message(), "; give a photo of the person"));
  }
  const cv::Mat& image = *decoded;
  Landmarks points;
  absl::StatusOr<proto::FaceMetadata> metadata = ReadFaceMetadata(bytes, path);
  if (metadata.ok()) {
    points = LandmarksFromPoints(metadata->aligned_landmarks());
  } else {
    FSC_ASSIGN_OR_RETURN(auto detections, detector.Detect(image));
    if (detections.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--filter ", path, ": no face found in the image; give a clear photo of the person"));
    }
    FSC_ASSIGN_OR_RETURN(auto found, landmarks.Predict(image, {detections.front().box}));
    points = found.front();
  }
  FSC_ASSIGN_OR_RETURN(auto descriptors, recognition.Describe(image, {points}));
  return descriptors.front();
}

// Faceswap's re-feed (align/_base/aligner.py, _get_adjusted_boxes): each edge of a box moves by
// uniform(-1, 1) times kReFeedShift of the box's shorter side (fsc keeps the sub-pixel edges
// that Faceswap rounds).
constexpr float kReFeedShift = 0.05f;
constexpr uint32_t kReFeedSeed = 0x5eedf00d;

// Uniform in [-1, 1) from the generator's raw bits: std::uniform_real_distribution differs
// between standard libraries, and a worker's landmarks must equal a local run's.
float Symmetric(std::mt19937& random) {
  return static_cast<float>(static_cast<double>(random()) / 2147483648.0 - 1.0);
}

// The landmarks of every box, averaged over the box and `re_feed` jittered copies of it, all in
// one batch. Each frame restarts the jitter sequence, so the result depends on the frame only
// (threads and cluster ranges agree) and the averaging bias is the same in every frame.
absl::StatusOr<std::vector<Landmarks>> PredictReFed(LandmarkNet& net, const cv::Mat& image,
                                                    const std::vector<cv::Rect2f>& boxes,
                                                    int re_feed) {
  if (re_feed == 0) return net.Predict(image, boxes);
  std::mt19937 random(kReFeedSeed);
  std::vector<cv::Rect2f> fed;
  fed.reserve(boxes.size() * (re_feed + 1));
  for (const cv::Rect2f& box : boxes) {
    fed.push_back(box);
    const float shift = kReFeedShift * std::min(box.width, box.height);
    for (int k = 0; k < re_feed; ++k) {
      float left = box.x + shift * Symmetric(random);
      float top = box.y + shift * Symmetric(random);
      float right = box.x + box.width + shift * Symmetric(random);
      float bottom = box.y + box.height + shift * Symmetric(random);
      fed.emplace_back(left, top, right - left, bottom - top);
    }
  }
  FSC_ASSIGN_OR_RETURN(std::vector<Landmarks> all, net.Predict(image, fed));
  std::vector<Landmarks> averaged(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    std::vector<cv::Point2d> sum(all[i * (re_feed + 1)].size());
    for (int k = 0; k <= re_feed; ++k) {
      const Landmarks& points = all[i * (re_feed + 1) + k];
      for (size_t p = 0; p < sum.size(); ++p) sum[p] += cv::Point2d(points[p]);
    }
    for (const cv::Point2d& p : sum) {
      averaged[i].emplace_back(static_cast<float>(p.x / (re_feed + 1)),
                               static_cast<float>(p.y / (re_feed + 1)));
    }
  }
  return averaged;
}

}  // namespace

absl::Status ValidateExtractOptions(const ExtractOptions& options) {
  // The job options' ranges are fsc.proto's (the flags and the coordinator check the same ones).
  FSC_RETURN_IF_ERROR(rpc::ValidateOptionFlags(ExtractSpecOf(options)));
  if (options.threads < 0 || options.threads > util::kMaxThreads) {
    return absl::InvalidArgumentError(absl::StrCat("--threads ", options.threads, " not in 0..",
                                                   util::kMaxThreads, " (0: one thread)"));
  }
  return ValidateStabilizeOptions(options.stabilize);
}

absl::StatusOr<std::unique_ptr<FaceExtractor>> FaceExtractor::Create(
    const ExtractOptions& options) {
  FSC_RETURN_IF_ERROR(ValidateExtractOptions(options));
  std::unique_ptr<FaceExtractor> extractor(new FaceExtractor(options));
  DetectorOptions detector_options;
  detector_options.models_dir = options.models_dir;
  detector_options.min_score = options.min_score;
  detector_options.input_size = options.detector_input_size;
  FSC_ASSIGN_OR_RETURN(extractor->detector_, CreateDetector(options.detector, detector_options));
  FSC_ASSIGN_OR_RETURN(extractor->landmarks_, LandmarkNet::Load(options.models_dir));
  // Descriptors serve the identity filter and, when the faces will be tracked, tell apart the
  // people of a frame with several faces (see Process).
  if (!options.filter_path.empty() || options.smooth != SmoothMode::kOff) {
    FSC_ASSIGN_OR_RETURN(extractor->recognition_, RecognitionNet::Load(options.models_dir));
  }
  if (!options.filter_path.empty()) {
    FSC_ASSIGN_OR_RETURN(extractor->reference_,
                         ReferenceDescriptor(options.filter_path, *extractor->detector_,
                                             *extractor->landmarks_, *extractor->recognition_));
  }
  return extractor;
}

absl::StatusOr<std::vector<ExtractedFace>> FaceExtractor::Process(const cv::Mat& image) {
  FSC_ASSIGN_OR_RETURN(std::vector<Detection> detections, detector_->Detect(image));
  std::vector<Detection> kept;
  for (const Detection& d : detections) {
    if (std::min(d.box.width, d.box.height) < options_.min_size) continue;
    if (d.score < options_.min_score) continue;
    kept.push_back(d);
  }
  std::vector<ExtractedFace> faces;
  if (kept.empty()) return faces;
  std::vector<cv::Rect2f> boxes;
  for (const Detection& d : kept) boxes.push_back(d.box);
  FSC_ASSIGN_OR_RETURN(std::vector<Landmarks> landmarks,
                       PredictReFed(*landmarks_, image, boxes, options_.re_feed));

  // Face tracks link faces by box overlap and motion, which cannot tell two people apart where
  // they cross: faces that share a frame get descriptors so their tracks keep them apart. A lone
  // face needs none (the recognition net costs about what the landmark net does).
  std::vector<Descriptor> descriptors;
  if (reference_ || (recognition_ != nullptr && kept.size() >= 2)) {
    FSC_ASSIGN_OR_RETURN(descriptors, recognition_->Describe(image, landmarks));
  }

  for (size_t i = 0; i < kept.size(); ++i) {
    ExtractedFace out;
    proto::Face& face = out.face;
    face.mutable_box()->set_x(kept[i].box.x);
    face.mutable_box()->set_y(kept[i].box.y);
    face.mutable_box()->set_width(kept[i].box.width);
    face.mutable_box()->set_height(kept[i].box.height);
    face.set_score(kept[i].score);
    SetLandmarkPoints(landmarks[i], face.mutable_landmarks());
    if (reference_) {
      float distance = DescriptorDistance(descriptors[i], *reference_);
      face.set_identity_distance(distance);
      if (distance > options_.filter_threshold) {
        ++faces_filtered_;
        continue;
      }
    }
    if (!descriptors.empty()) {
      for (float v : descriptors[i]) face.add_identity(v);
    }
    // AlignFace, with the crop only when it is written now.
    FSC_ASSIGN_OR_RETURN(cv::Mat transform, AlignmentTransform(landmarks[i], options_.size));
    for (int r = 0; r < 2; ++r) {
      for (int c = 0; c < 3; ++c) face.mutable_transform()->add_m(transform.at<double>(r, c));
    }
    face.set_aligned_size(options_.size);
    out.aligned_landmarks = TransformPoints(transform, landmarks[i]);
    // Masks are stored small, in the aligned frame; consumers scale them to their crop.
    for (MaskType type : {MaskType::kHull, MaskType::kComponents, MaskType::kExtended}) {
      *face.add_masks() =
          EncodeLandmarkMask(out.aligned_landmarks, options_.size, options_.mask_size, type);
    }
    if (options_.write_faces) {
      FSC_ASSIGN_OR_RETURN(out.aligned, WarpAlignedCrop(image, transform, options_.size));
    }
    faces.push_back(std::move(out));
  }
  return faces;
}

namespace {

struct FrameResult {
  media::SourceFrame frame;
  absl::StatusOr<std::vector<ExtractedFace>> faces;
  std::vector<float> histogram;  // video frames only
};

// A bounded hand-off from the decoding thread to the workers, and an ordered collection of what
// they finish, so faces are written in frame order whatever the worker timing.
class WorkQueue {
 public:
  explicit WorkQueue(size_t capacity) : capacity_(capacity) {}

  void Push(media::SourceFrame frame) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](WorkQueue* q) { return q->pending_.size() < q->capacity_ || q->stopped_; }, this));
    pending_.push_back(std::move(frame));
  }
  std::optional<media::SourceFrame> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](WorkQueue* q) { return !q->pending_.empty() || q->closed_ || q->stopped_; }, this));
    if (pending_.empty() || stopped_) return std::nullopt;
    media::SourceFrame frame = std::move(pending_.front());
    pending_.pop_front();
    return frame;
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  void Finish(int64_t sequence, FrameResult result) {
    absl::MutexLock lock(&mu_);
    done_.emplace(sequence, std::move(result));
  }
  // The result with sequence number `sequence`, waiting for it if `wait`.
  std::optional<FrameResult> Take(int64_t sequence, bool wait) {
    absl::MutexLock lock(&mu_);
    auto ready = [&] { return done_.count(sequence) != 0; };
    if (wait) {
      mu_.Await(absl::Condition(&ready));
    } else if (!ready()) {
      return std::nullopt;
    }
    auto node = done_.extract(sequence);
    return std::move(node.mapped());
  }

 private:
  absl::Mutex mu_;
  size_t capacity_;
  std::deque<media::SourceFrame> pending_;
  std::map<int64_t, FrameResult> done_;
  bool closed_ = false;
  bool stopped_ = false;
};

using Extractors = std::vector<std::unique_ptr<FaceExtractor>>;

// One extractor per worker thread, with the detector's input size resolved for this source;
// they cut no crops when the faces are written later (`defer_faces`) or not at all.
absl::StatusOr<Extractors> CreateExtractors(const ExtractOptions& options,
                                            const media::SourceDescription& description,
                                            bool defer_faces) {
  ExtractOptions resolved = options;
  if (defer_faces) resolved.write_faces = false;
  if (resolved.detector_input_size == 0) {
    resolved.detector_input_size =
        DefaultInputSize(options.detector, description.width, description.height);
  }
  // Only a video's faces are tracked: images need no descriptors (nor the net) for it.
  if (description.kind != media::SourceKind::kVideo) resolved.smooth = SmoothMode::kOff;
  // Each worker owns its networks and runs them single-threaded: frames in parallel scale better
  // than one frame's small convolutions split over cores.
  const int workers = std::max(1, options.threads);
  if (workers > 1) at::set_num_threads(1);
  Extractors extractors;
  for (int i = 0; i < workers; ++i) {
    FSC_ASSIGN_OR_RETURN(auto extractor, FaceExtractor::Create(resolved));
    extractors.push_back(std::move(extractor));
  }
  return extractors;
}

// The alignments file before any frame: format, models and the source with its fingerprint.
absl::StatusOr<proto::Alignments> AlignmentsHeader(const std::string& input,
                                                   const ExtractOptions& options,
                                                   const media::SourceDescription& description) {
  proto::Alignments alignments;
  alignments.set_version(kAlignmentsVersion);
  alignments.set_detector(options.detector);
  alignments.set_aligner(kAlignerName);
  alignments.set_created_by("fsc extract");
  proto::SourceInfo* info = alignments.mutable_source();
  info->set_path(input);
  info->set_width(description.width);
  info->set_height(description.height);
  info->set_frame_count(description.frame_count);
  info->set_fps(description.fps);
  FSC_ASSIGN_OR_RETURN(std::string fingerprint, SourceFingerprint(input));
  info->set_sha256(fingerprint);
  return alignments;
}

absl::Status CheckFrameRange(const ExtractOptions& options) {
  if (options.frame_begin < 0 ||
      (options.frame_end >= 0 && options.frame_end < options.frame_begin)) {
    return absl::InvalidArgumentError(absl::StrCat("frame range [", options.frame_begin, ", ",
                                                   options.frame_end, ") is invalid"));
  }
  return absl::OkStatus();
}

absl::Status CreateOutputFolder(const std::string& output_dir) {
  std::error_code ec;
  fs::create_directories(output_dir, ec);
  if (ec || !fs::is_directory(output_dir)) {
    return absl::PermissionDeniedError(
        absl::StrCat(output_dir, ": cannot create the output folder (", ec.message(), ")"));
  }
  return absl::OkStatus();
}

// Which frames a run processes: those with index % every_n == 0 inside [frame_begin, frame_end)
// for a range, every every_n-th delivered frame for a whole run.
struct FrameSelection {
  bool ranged = false;
  int64_t expected = 0;  // frames to process; 0 when the source's length is unknown
};

FrameSelection SelectFrames(const ExtractOptions& options, int64_t frame_count) {
  FrameSelection selection;
  selection.ranged = options.frame_begin > 0 || options.frame_end >= 0;
  int64_t range_end = frame_count;
  if (options.frame_end >= 0 && (range_end <= 0 || options.frame_end < range_end)) {
    range_end = options.frame_end;
  }
  auto selected_below = [&](int64_t n) {
    return n <= 0 ? 0 : (n + options.every_n - 1) / options.every_n;
  };
  selection.expected =
      range_end > 0
          ? std::max<int64_t>(0, selected_below(range_end) - selected_below(options.frame_begin))
          : 0;
  return selection;
}

// Adds each frame's result to the alignments (called in frame order) and writes its face PNGs.
class ResultWriter {
 public:
  ResultWriter(const std::string& input, const std::string& output_dir,
               const ExtractOptions& options, const media::SourceDescription& description,
               const ExtractProgress& progress, int64_t expected, proto::Alignments* alignments,
               ExtractReport* report)
      : input_(input),
        output_dir_(output_dir),
        options_(options),
        description_(description),
        progress_(progress),
        expected_(expected),
        alignments_(alignments),
        report_(report) {}

  // A video that is smoothed once extracted gets all its face PNGs then, cut once from the
  // smoothed landmarks (FinishExtraction); until then faces are not written.
  void DeferFaces() { defer_faces_ = true; }

  void Write(FrameResult result) {
    if (!failure_.ok()) return;
    ++report_->frames_processed;
    proto::Frame* frame = nullptr;
    auto add_frame = [&] {
      if (frame != nullptr) return;
      frame = alignments_->add_frames();
      frame->set_index(result.frame.index);
      frame->set_name(result.frame.name);
      frame->mutable_histogram()->Assign(result.histogram.begin(), result.histogram.end());
    };
    // A video frame is kept for its histogram even without faces: shot cuts are found from it.
    if (!result.histogram.empty()) add_frame();
    if (!result.faces.ok()) {
      report_->warnings.push_back(absl::StrCat(input_, " frame ", result.frame.index, ": ",
                                               result.faces.status().message()));
      return;
    }
    int face_index = 0;
    for (ExtractedFace& face : *result.faces) {
      add_frame();
      ++report_->faces_found;
      if (options_.write_faces && !defer_faces_) {
        failure_ = WriteFacePng(result.frame, face_index, &face);
        if (!failure_.ok()) return;
        ++report_->faces_written;
      }
      *frame->add_faces() = std::move(face.face);
      ++face_index;
    }
    if (progress_) progress_(report_->frames_processed, expected_);
  }

  // The first face PNG that could not be written; later results are dropped once it is set.
  const absl::Status& failure() const { return failure_; }

 private:
  // Writes the aligned crop with its metadata and names the file in `face`.
  absl::Status WriteFacePng(const media::SourceFrame& source_frame, int face_index,
                            ExtractedFace* face) {
    std::string file =
        FaceFileName(description_.path, source_frame.name, source_frame.index, face_index);
    face->face.set_face_file(file);
    return fsc::face::WriteFacePng(
        (fs::path(output_dir_) / file).string(), face->aligned,
        MakeFaceMetadata(alignments_->source(), source_frame.index, face_index, face->face,
                         face->aligned_landmarks));
  }

  const std::string& input_;
  const std::string& output_dir_;
  const ExtractOptions& options_;
  const media::SourceDescription& description_;
  const ExtractProgress& progress_;
  const int64_t expected_;
  proto::Alignments* alignments_;
  ExtractReport* report_;
  bool defer_faces_ = false;
  absl::Status failure_;
};

// Decodes the selected frames on this thread, runs them through one worker thread per extractor
// and hands the results to `writer` in frame order. Stops at the writer's first failure (and
// returns it) or when options.cancelled says so (CANCELLED).
absl::Status RunFrameWorkers(const std::string& input, const ExtractOptions& options,
                             const FrameSelection& selection, media::FrameSource& source,
                             const Extractors& extractors, ResultWriter& writer,
                             ExtractReport* report) {
  if (selection.ranged) source.SkipTo(options.frame_begin);
  const bool video = source.description().kind == media::SourceKind::kVideo;
  WorkQueue queue(extractors.size() * 2);
  std::vector<std::thread> threads;
  for (const auto& extractor : extractors) {
    threads.emplace_back([&queue, video, extractor = extractor.get()] {
      while (auto frame = queue.Pop()) {
        FrameResult result{std::move(*frame), std::vector<ExtractedFace>{}, {}};
        if (video) result.histogram = FrameHistogram(result.frame.image);
        result.faces = extractor->Process(result.frame.image);
        int64_t key = result.frame.index;
        queue.Finish(key, std::move(result));
      }
    });
  }

  std::vector<int64_t> order;  // frame indices in submission order
  size_t next_to_write = 0;
  auto drain = [&](bool wait) {
    while (next_to_write < order.size()) {
      auto result = queue.Take(order[next_to_write], wait);
      if (!result) return;
      ++next_to_write;
      writer.Write(std::move(*result));
    }
  };

  int64_t seen = 0;
  bool cancelled = false;
  while (writer.failure().ok()) {
    if (options.cancelled && options.cancelled()) {
      cancelled = true;
      break;
    }
    std::optional<media::SourceFrame> frame = source.Next();
    if (!frame) break;
    if (selection.ranged && options.frame_end >= 0 && frame->index >= options.frame_end) break;
    ++report->frames_read;
    // A whole run counts delivered frames (unchanged behaviour of `fsc extract`); a range picks
    // by index so that its frames line up with the whole run's.
    const int64_t position = selection.ranged ? frame->index : seen;
    ++seen;
    if (position % options.every_n != 0) continue;
    order.push_back(frame->index);
    queue.Push(std::move(*frame));
    drain(/*wait=*/false);
  }
  queue.Close();
  drain(/*wait=*/true);
  queue.Stop();
  for (std::thread& t : threads) t.join();
  if (!writer.failure().ok()) return writer.failure();
  if (cancelled) return absl::CancelledError(absl::StrCat("extraction of ", input, " cancelled"));
  return absl::OkStatus();
}

// True when this run stabilises what it extracts: a whole video with smoothing on. A range is
// part of a whole the cluster's merge task stabilises once (see ExtractOptions).
bool SmoothsWhole(const ExtractOptions& options, const FrameSelection& selection,
                  const media::SourceDescription& description) {
  return description.kind == media::SourceKind::kVideo && !selection.ranged &&
         options.smooth == SmoothMode::kAuto;
}

// Collects the source's warnings and the filter's counts, stabilises a whole video's landmarks
// (and then cuts its face PNGs from them) and writes the alignments file.
absl::Status FinishExtraction(const ExtractOptions& options, const FrameSelection& selection,
                              const media::FrameSource& source, const Extractors& extractors,
                              const std::string& output_dir, proto::Alignments* alignments,
                              ExtractReport* report) {
  for (const std::string& warning : source.warnings()) report->warnings.push_back(warning);
  for (const auto& extractor : extractors) report->faces_filtered += extractor->faces_filtered();
  if (SmoothsWhole(options, selection, source.description())) {
    FSC_RETURN_IF_ERROR(StabilizeAlignments(options.stabilize, alignments));
    report->smoothed = true;
    report->smoothing = alignments->smoothing();
    if (options.write_faces) {
      RecutOptions recut_options;
      recut_options.threads = std::max(1, options.threads);
      recut_options.cut_unnamed = true;  // the frame pass deferred them (ResultWriter)
      FSC_ASSIGN_OR_RETURN(RecutReport recut, RecutFacePngs(source.description().path, output_dir,
                                                            alignments, recut_options));
      report->faces_written += recut.faces_recut;
      report->faces_recut = recut.faces_recut;
      report->recut_seconds = recut.seconds;
    }
  }
  return WriteAlignments(report->alignments_path, *alignments);
}

}  // namespace

absl::StatusOr<ExtractReport> RunExtraction(const std::string& input, const std::string& output_dir,
                                            const std::string& alignments_path,
                                            const ExtractOptions& options,
                                            const ExtractProgress& progress) {
  FSC_RETURN_IF_ERROR(ValidateExtractOptions(options));
  auto start = std::chrono::steady_clock::now();
  ExtractReport report;
  report.alignments_path = alignments_path.empty()
                               ? (fs::path(output_dir) / kAlignmentsFileName).string()
                               : alignments_path;
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<media::FrameSource> source, media::FrameSource::Open(input));
  const media::SourceDescription& description = source->description();
  const FrameSelection selection = SelectFrames(options, description.frame_count);
  const bool defer_faces = SmoothsWhole(options, selection, description);
  FSC_ASSIGN_OR_RETURN(Extractors extractors, CreateExtractors(options, description, defer_faces));
  FSC_ASSIGN_OR_RETURN(proto::Alignments alignments, AlignmentsHeader(input, options, description));
  FSC_RETURN_IF_ERROR(CheckFrameRange(options));
  // The output folder comes last, so that a refused input, model or filter leaves nothing.
  FSC_RETURN_IF_ERROR(CreateOutputFolder(output_dir));

  ResultWriter writer(input, output_dir, options, description, progress, selection.expected,
                      &alignments, &report);
  if (defer_faces) writer.DeferFaces();
  FSC_RETURN_IF_ERROR(
      RunFrameWorkers(input, options, selection, *source, extractors, writer, &report));
  FSC_RETURN_IF_ERROR(
      FinishExtraction(options, selection, *source, extractors, output_dir, &alignments, &report));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace fsc::face
