// `fsc eval`'s engine: input checks, then one pass over both inputs in step, measuring every face
// of the alignments file, then the summaries (see evaluator.h).
#include "core/eval/evaluator.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/eval/net_pool.h"
#include "core/face/alignment.h"
#include "core/face/alignments_file.h"
#include "core/face/mask.h"
#include "core/media/frame_source.h"
#include "core/util/status_macros.h"

namespace fsc::eval {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kAlignedReference = 256;  // kSeamBandAligned is in pixels of a face this size
constexpr int kSampleSide = 192;        // close-ups on the report sheet
constexpr int kSampleFrameWidth = 480;  // whole frames on the report sheet
constexpr double kRelativeFpsTolerance = 1e-3;

const char* KindName(media::SourceKind kind) {
  switch (kind) {
    case media::SourceKind::kVideo:
      return "a video";
    case media::SourceKind::kImage:
      return "an image";
    case media::SourceKind::kImageFolder:
      return "a folder of images";
  }
  return "?";
}

// --- inputs -------------------------------------------------------------------------------------

struct Inputs {
  std::unique_ptr<media::FrameSource> source, swapped;
  proto::Alignments alignments;
};

// The swapped output must be the source, frame for frame: same kind, count, size and rate.
absl::Status CheckSameShape(const std::string& swapped_path, const media::SourceDescription& src,
                            const media::SourceDescription& swp) {
  const std::string advice =
      " (fsc eval compares the output of 'fsc convert' with the input it "
      "converted; pass that input as --source)";
  if (src.kind != swp.kind) {
    return absl::InvalidArgumentError(absl::StrCat(swapped_path, " is ", KindName(swp.kind),
                                                   " but the source ", src.path, " is ",
                                                   KindName(src.kind), advice));
  }
  if (src.frame_count != swp.frame_count) {
    return absl::InvalidArgumentError(
        absl::StrCat(swapped_path, " has ", swp.frame_count,
                     src.kind == media::SourceKind::kVideo ? " frames" : " images",
                     " but the source ", src.path, " has ", src.frame_count, advice));
  }
  if (src.kind == media::SourceKind::kImageFolder) return absl::OkStatus();
  if (src.width != swp.width || src.height != swp.height) {
    return absl::InvalidArgumentError(absl::StrCat(swapped_path, " is ", swp.width, "x", swp.height,
                                                   " but the source ", src.path, " is ", src.width,
                                                   "x", src.height, advice));
  }
  if (src.kind == media::SourceKind::kVideo &&
      std::abs(src.fps - swp.fps) > kRelativeFpsTolerance * std::max(src.fps, swp.fps)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s runs at %.4g frames/s but the source %s at %.4g%s", swapped_path,
                        swp.fps, src.path, src.fps, advice));
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::Alignments> ReadSourceAlignments(const std::string& path,
                                                       const media::SourceDescription& source) {
  absl::StatusOr<proto::Alignments> alignments = face::ReadAlignments(path);
  if (!alignments.ok()) {
    if (alignments.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat("alignments file ", path,
                                              " not found; pass --alignments DIR, the folder "
                                              "'fsc extract ",
                                              source.path, " -o DIR' wrote"));
    }
    return alignments.status();
  }
  FSC_ASSIGN_OR_RETURN(std::string fingerprint, face::SourceFingerprint(source.path));
  const proto::SourceInfo& made_from = alignments->source();
  if (made_from.sha256() != fingerprint) {
    return absl::InvalidArgumentError(
        absl::StrCat("alignments file ", path, " belongs to another source (", made_from.path(),
                     ", ", made_from.frame_count(), " frames), not to ", source.path,
                     ": pass the alignments that 'fsc extract ", source.path, " -o DIR' wrote"));
  }
  if (made_from.frame_count() != source.frame_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("alignments file ", path, " lists ", made_from.frame_count(), " frames but ",
                     source.path, " has ", source.frame_count, "; extract it again"));
  }
  return alignments;
}

absl::StatusOr<Inputs> OpenInputs(const std::string& swapped, const EvalOptions& options) {
  if (options.source.empty()) {
    return absl::InvalidArgumentError("no source: pass --source, the input 'fsc convert' read");
  }
  Inputs in;
  FSC_ASSIGN_OR_RETURN(in.source, media::FrameSource::Open(options.source));
  FSC_ASSIGN_OR_RETURN(in.swapped, media::FrameSource::Open(swapped));
  FSC_RETURN_IF_ERROR(CheckSameShape(swapped, in.source->description(), in.swapped->description()));
  if (options.alignments_path.empty()) {
    return absl::InvalidArgumentError(
        "no alignments: pass --alignments DIR, the folder 'fsc extract SOURCE -o DIR' wrote");
  }
  FSC_ASSIGN_OR_RETURN(in.alignments,
                       ReadSourceAlignments(face::ResolveAlignmentsPath(options.alignments_path),
                                            in.source->description()));
  return in;
}

// --- the plan: which faces, in which tracks, which kept for the sheet ---------------------------

struct PlannedFace {
  const proto::Face* face;
  int index;                  // within its frame
  face::Landmarks landmarks;  // the alignments' landmarks, frame pixels
  cv::Rect2f box;
};

struct Plan {
  std::map<int64_t, std::vector<int>> by_frame;  // frame -> indices into faces
  std::vector<PlannedFace> faces;
  std::vector<FrameFace> frame_faces;  // parallel to faces, for tracking
  std::vector<int> track_of;           // parallel to faces
  std::vector<std::vector<int>> tracks;
  std::vector<int> samples;  // indices into faces
};

Plan MakePlan(const proto::Alignments& alignments, int64_t max_frames, int sample_faces,
              std::vector<std::string>* warnings) {
  Plan plan;
  for (const proto::Frame& frame : alignments.frames()) {
    if (max_frames > 0 && frame.index() >= max_frames) continue;
    for (int i = 0; i < frame.faces_size(); ++i) {
      const proto::Face& f = frame.faces(i);
      if (f.landmarks_size() != 68) {
        warnings->push_back(absl::StrCat("frame ", frame.index(), " face ", i, ": ",
                                         f.landmarks_size(), " landmarks, not 68; skipped"));
        continue;
      }
      PlannedFace planned{
          &f, i, {}, cv::Rect2f(f.box().x(), f.box().y(), f.box().width(), f.box().height())};
      for (const proto::Point& p : f.landmarks()) planned.landmarks.emplace_back(p.x(), p.y());
      plan.by_frame[frame.index()].push_back(static_cast<int>(plan.faces.size()));
      plan.frame_faces.push_back({frame.index(), planned.box});
      plan.faces.push_back(std::move(planned));
    }
  }
  plan.tracks = LinkTracks(plan.frame_faces);
  plan.track_of.assign(plan.faces.size(), 0);
  for (size_t t = 0; t < plan.tracks.size(); ++t) {
    for (int f : plan.tracks[t]) plan.track_of[f] = static_cast<int>(t);
  }
  const int n = static_cast<int>(plan.faces.size());
  const int k = std::min(n, std::max(0, sample_faces));
  for (int s = 0; s < k; ++s) plan.samples.push_back((2 * s + 1) * n / (2 * k));
  return plan;
}

// --- measuring one frame ------------------------------------------------------------------------

// The frame rectangle a face's mask can reach (the extended mask lifts the brows up the
// forehead), clipped to the frame.
cv::Rect MaskRoi(const face::Landmarks& landmarks, cv::Size frame) {
  const cv::Rect2f bounds = cv::boundingRect(landmarks);
  const float grow = 0.5f * std::max(bounds.width, bounds.height);
  const cv::Rect2f grown(bounds.x - grow, bounds.y - grow, bounds.width + 2 * grow,
                         bounds.height + 2 * grow);
  return cv::Rect(cvFloor(grown.x), cvFloor(grown.y), cvCeil(grown.width) + 1,
                  cvCeil(grown.height) + 1) &
         cv::Rect(0, 0, frame.width, frame.height);
}

// Frame pixels per pixel of a kAlignedReference aligned face.
double FramePerAligned(const face::Landmarks& landmarks) {
  absl::StatusOr<cv::Mat> transform = face::AlignmentTransform(landmarks, kAlignedReference);
  if (!transform.ok()) return 1.0;
  const double scale = std::sqrt(std::abs(cv::determinant(transform->colRange(0, 2))));
  return scale > 0 ? 1.0 / scale : 1.0;
}

cv::Mat CloseUp(const cv::Mat& frame, const cv::Rect2f& box) {
  const float side = 1.6f * std::max(box.width, box.height);
  const cv::Point2f centre(box.x + box.width / 2, box.y + box.height / 2);
  const cv::Rect square(cvRound(centre.x - side / 2), cvRound(centre.y - side / 2), cvRound(side),
                        cvRound(side));
  cv::Mat crop = cv::Mat::zeros(square.size(), CV_8UC3);
  const cv::Rect inside = square & cv::Rect(0, 0, frame.cols, frame.rows);
  if (!inside.empty()) frame(inside).copyTo(crop(inside - square.tl()));
  cv::Mat out;
  cv::resize(crop, out, {kSampleSide, kSampleSide}, 0, 0, cv::INTER_AREA);
  return out;
}

cv::Mat Thumbnail(const cv::Mat& frame) {
  cv::Mat out;
  const double scale = static_cast<double>(kSampleFrameWidth) / frame.cols;
  cv::resize(frame, out, {}, scale, scale, cv::INTER_AREA);
  return out;
}

struct FramePair {
  int64_t index = 0;
  cv::Mat source, swapped;
};

// What the networks found for the faces of one frame pair, in the plan's order.
struct NetOutputs {
  std::vector<face::Landmarks> source_landmarks, swapped_landmarks;
  std::vector<face::Descriptor> source_ids, swapped_ids;
};

// Landmarks re-detected on both frames in the alignments' boxes, then descriptors of both.
absl::StatusOr<NetOutputs> RunNets(FaceNetPool& nets, const FramePair& pair,
                                   const std::vector<cv::Rect2f>& boxes) {
  NetOutputs out;
  FSC_ASSIGN_OR_RETURN(out.source_landmarks, nets.Landmarks(pair.source, boxes));
  FSC_ASSIGN_OR_RETURN(out.swapped_landmarks, nets.Landmarks(pair.swapped, boxes));
  FSC_ASSIGN_OR_RETURN(out.source_ids, nets.Describe(pair.source, out.source_landmarks));
  FSC_ASSIGN_OR_RETURN(out.swapped_ids, nets.Describe(pair.swapped, out.swapped_landmarks));
  return out;
}

class FrameMeasurer {
 public:
  FrameMeasurer(const Plan& plan, cv::Size frame_size, bool sequence, EvalReport* report)
      : plan_(plan), camera_(face::FrameCamera(frame_size)), sequence_(sequence), report_(report) {}

  // The boxes of the faces the plan lists in frame `index` (empty: nothing to measure).
  std::vector<cv::Rect2f> Boxes(int64_t index) const {
    std::vector<cv::Rect2f> boxes;
    auto found = plan_.by_frame.find(index);
    if (found == plan_.by_frame.end()) return boxes;
    for (int i : found->second) boxes.push_back(plan_.faces[i].box);
    return boxes;
  }

  // Measures the faces of `pair` given what the networks found on them.
  void Measure(const FramePair& pair, const FramePair* previous, NetOutputs nets) {
    auto found = plan_.by_frame.find(pair.index);
    if (found == plan_.by_frame.end()) return;
    const std::vector<int>& indices = found->second;
    for (size_t k = 0; k < indices.size(); ++k) {
      const int i = indices[k];
      FaceRecord record;
      record.frame = pair.index;
      record.face = plan_.faces[i].index;
      record.track = plan_.track_of[i];
      record.source_landmarks = std::move(nets.source_landmarks[k]);
      record.swapped_landmarks = std::move(nets.swapped_landmarks[k]);
      record.source_id = std::move(nets.source_ids[k]);
      record.swapped_id = std::move(nets.swapped_ids[k]);
      MeasureGeometry(&record);
      MeasureBlend(pair, previous, plan_.faces[i], &record);
      if (std::find(plan_.samples.begin(), plan_.samples.end(), i) != plan_.samples.end()) {
        KeepSample(pair, plan_.faces[i].box);
      }
      record_index_[i] = static_cast<int>(report_->faces.size());
      report_->faces.push_back(std::move(record));
    }
  }

  // Index into report->faces of plan face `i`, -1 when it was not measured.
  int RecordOf(int i) const {
    auto found = record_index_.find(i);
    return found == record_index_.end() ? -1 : found->second;
  }

 private:
  void MeasureGeometry(FaceRecord* record) {
    record->nme = kNaN;
    absl::StatusOr<double> nme = AlignedNme(record->source_landmarks, record->swapped_landmarks);
    if (nme.ok()) record->nme = *nme;
    absl::StatusOr<face::HeadPose> source_pose =
        face::EstimateHeadPose(record->source_landmarks, camera_);
    absl::StatusOr<face::HeadPose> swapped_pose =
        face::EstimateHeadPose(record->swapped_landmarks, camera_);
    if (source_pose.ok() && swapped_pose.ok()) {
      record->source_pose = *source_pose;
      record->swapped_pose = *swapped_pose;
      record->pose = ComparePoses(*source_pose, *swapped_pose);
      record->pose_measured = true;
    } else {
      report_->warnings.push_back(
          absl::StrCat("frame ", record->frame, " face ", record->face, ": no head pose (",
                       (source_pose.ok() ? swapped_pose.status() : source_pose.status()).message(),
                       "); left out of the pose figures"));
    }
  }

  void MeasureBlend(const FramePair& pair, const FramePair* previous, const PlannedFace& planned,
                    FaceRecord* record) {
    const cv::Size frame_size = pair.source.size();
    const cv::Rect roi = MaskRoi(planned.landmarks, frame_size);
    if (roi.empty()) return;
    face::Landmarks local = planned.landmarks;
    for (cv::Point2f& p : local) p -= cv::Point2f(roi.tl());
    const cv::Mat mask = face::BuildLandmarkMask(local, roi.size(), face::MaskType::kExtended);
    if (mask.empty()) return;
    const double band = kSeamBandAligned * FramePerAligned(planned.landmarks);
    record->seam = MeasureSeam(pair.source, pair.swapped, mask, roi, band);
    // Flicker against the previous frame of the same track.
    if (!sequence_ || previous == nullptr || previous->index != pair.index - 1) return;
    const std::vector<int>& track = plan_.tracks[record->track];
    const auto at = std::find_if(track.begin(), track.end(), [&](int f) {
      return plan_.frame_faces[f].frame == pair.index && plan_.faces[f].index == record->face;
    });
    if (at == track.begin() || at == track.end()) return;
    record->flicker =
        MeasureFlicker(previous->source, pair.source, previous->swapped, pair.swapped, mask, roi);
  }

  void KeepSample(const FramePair& pair, const cv::Rect2f& box) {
    SampleFace sample;
    sample.frame = pair.index;
    sample.source = CloseUp(pair.source, box);
    sample.swapped = CloseUp(pair.swapped, box);
    sample.source_frame = Thumbnail(pair.source);
    sample.swapped_frame = Thumbnail(pair.swapped);
    report_->samples.push_back(std::move(sample));
  }

  const Plan& plan_;
  const cv::Matx33d camera_;
  const bool sequence_;
  EvalReport* report_;
  std::map<int, int> record_index_;
};

// --- the pass over both inputs ------------------------------------------------------------------

// A frame pair whose networks run on a worker thread.
struct InFlight {
  FramePair pair;
  bool follows = false;  // the previous frame read is this one's predecessor
  std::future<absl::StatusOr<NetOutputs>> nets;
};

// Reads both inputs in step. The networks of up to 2 x threads frames run at once on the pool;
// everything else is measured in frame order on this thread as their results come in.
absl::Status EvaluateFrames(Inputs& in, FaceNetPool& nets, FrameMeasurer& measurer,
                            const EvalOptions& options, EvalReport* report,
                            const EvalProgress& progress) {
  const media::SourceDescription& src = in.source->description();
  int64_t total = src.frame_count;
  if (options.max_frames > 0) total = std::min(total, options.max_frames);
  std::deque<InFlight> window;
  std::optional<FramePair> previous;
  // Measures the oldest frame in flight.
  auto finish = [&]() -> absl::Status {
    InFlight oldest = std::move(window.front());
    window.pop_front();
    FSC_ASSIGN_OR_RETURN(NetOutputs outputs, oldest.nets.get());
    const bool adjacent = oldest.follows && previous && previous->index == oldest.pair.index - 1;
    measurer.Measure(oldest.pair, adjacent ? &*previous : nullptr, std::move(outputs));
    ++report->frames_evaluated;
    if (progress) progress(report->frames_evaluated, total);
    previous = std::move(oldest.pair);
    return absl::OkStatus();
  };
  const size_t depth = 2 * static_cast<size_t>(nets.size());
  int64_t last_read = -2;
  std::optional<media::SourceFrame> a = in.source->Next(), b = in.swapped->Next();
  while (a && b && (options.max_frames <= 0 || a->index < options.max_frames)) {
    if (a->index != b->index) {  // one side failed to decode a frame: catch up with the other
      if (a->index < b->index) {
        a = in.source->Next();
      } else {
        b = in.swapped->Next();
      }
      continue;
    }
    if (a->name != b->name) {
      return absl::InvalidArgumentError(absl::StrCat(
          report->swapped, " holds ", b->name, " where the source ", src.path, " holds ", a->name,
          "; pass the folder 'fsc convert' wrote from this source (same file names)"));
    }
    if (a->image.size() != b->image.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "frame ", a->index, (a->name.empty() ? "" : " (" + a->name + ")"), " is ", b->image.cols,
          "x", b->image.rows, " in ", report->swapped, " but ", a->image.cols, "x", a->image.rows,
          " in the source; pass the output 'fsc convert' wrote from it"));
    }
    InFlight next;
    next.pair = FramePair{a->index, std::move(a->image), std::move(b->image)};
    next.follows = last_read == a->index - 1;
    last_read = a->index;
    std::vector<cv::Rect2f> boxes = measurer.Boxes(a->index);
    if (boxes.empty()) {
      std::promise<absl::StatusOr<NetOutputs>> none;
      none.set_value(NetOutputs());
      next.nets = none.get_future();
    } else {
      next.nets =
          std::async(std::launch::async, RunNets, std::ref(nets), next.pair, std::move(boxes));
    }
    window.push_back(std::move(next));
    if (window.size() >= depth) FSC_RETURN_IF_ERROR(finish());
    a = in.source->Next();
    b = in.swapped->Next();
  }
  while (!window.empty()) FSC_RETURN_IF_ERROR(finish());
  for (const auto* frames : {in.source.get(), in.swapped.get()}) {
    for (const std::string& w : frames->warnings()) report->unreadable.push_back(w);
  }
  if (report->frames_evaluated < total) {
    report->unreadable.push_back(absl::StrCat("only ", report->frames_evaluated, " of ", total,
                                              " frames could be read from both inputs"));
  }
  return absl::OkStatus();
}

// Jitter of the alignments' landmarks and of the re-detected ones, over the plan's tracks.
void MeasureTemporal(const Plan& plan, const FrameMeasurer& measurer, EvalReport* report) {
  std::vector<std::vector<face::Landmarks>> alignments, source, swapped;
  for (const std::vector<int>& track : plan.tracks) {
    std::vector<face::Landmarks> a, s, w;
    auto flush = [&] {
      if (a.size() >= 3) alignments.push_back(a);
      if (s.size() >= 3) source.push_back(s), swapped.push_back(w);
      a.clear(), s.clear(), w.clear();
    };
    for (size_t k = 0; k < track.size(); ++k) {
      const int record = measurer.RecordOf(track[k]);
      if (record < 0) {  // not read (frame undecodable): the run of frames ends here
        flush();
        continue;
      }
      a.push_back(plan.faces[track[k]].landmarks);
      s.push_back(report->faces[record].source_landmarks);
      w.push_back(report->faces[record].swapped_landmarks);
      // Per-face alignments jitter, for the per-frame records.
      if (k > 0 && k + 1 < track.size()) {
        report->faces[record].alignments_jitter = std::sqrt(SecondDifferenceEnergy(
            plan.faces[track[k - 1]].landmarks, plan.faces[track[k]].landmarks,
            plan.faces[track[k + 1]].landmarks));
      }
    }
    flush();
  }
  report->alignments_jitter = MeasureJitter(alignments);
  report->source_jitter = MeasureJitter(source);
  report->swapped_jitter = MeasureJitter(swapped);
}

void CheckLabel(const std::string& swapped, media::SourceKind kind, EvalReport* report) {
  std::string file = swapped;
  if (kind == media::SourceKind::kImageFolder) {  // the first image that has a face swapped
    auto frames = media::FrameSource::Open(swapped);
    if (!frames.ok()) return;
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(swapped, ec)) {
      if (media::HasImageExtension(entry.path().string())) names.push_back(entry.path().string());
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) return;
    file = names.front();
    for (const FaceRecord& f : report->faces) {
      if (f.frame < static_cast<int64_t>(names.size())) {
        file = names[f.frame];
        break;
      }
    }
  }
  absl::StatusOr<convert::VerifyReport> verified = convert::VerifyFile(file);
  if (!verified.ok()) {
    report->label_error = std::string(verified.status().message());
    return;
  }
  report->label_checked = true;
  report->label = *verified;
  report->labelled_synthetic = convert::IsLabelledSynthetic(*verified);
}

// Identity figures of every face: A's centroid is the mean of the source faces measured.
void ScoreIdentity(EvalReport* report) {
  std::vector<face::Descriptor> sources;
  for (const FaceRecord& f : report->faces) sources.push_back(f.source_id);
  report->a_centroid = MeanDescriptor(sources);
  report->a_spread = Spread(sources, report->a_centroid);
  for (FaceRecord& f : report->faces) {
    f.identity =
        CompareIdentity(f.swapped_id, f.source_id, report->a_centroid, report->identity.centroid);
  }
}

}  // namespace

absl::StatusOr<EvalReport> RunEvaluation(const std::string& swapped, const EvalOptions& options,
                                         const EvalProgress& progress) {
  const Clock::time_point start = Clock::now();
  if (options.max_frames < 0 || options.threads < 1 || options.identity_faces < 1 ||
      options.sample_faces < 0) {
    return absl::InvalidArgumentError(
        "eval options: max_frames >= 0, threads >= 1, identity_faces >= 1, sample_faces >= 0");
  }
  EvalReport report;
  report.swapped = swapped;
  report.source = options.source;
  report.identity_dir = options.identity_dir;
  report.alignments = face::ResolveAlignmentsPath(options.alignments_path);

  // 1. Checks: the inputs belong together.
  FSC_ASSIGN_OR_RETURN(Inputs in, OpenInputs(swapped, options));
  const media::SourceDescription& src = in.source->description();
  report.video = src.kind == media::SourceKind::kVideo;
  report.width = src.width;
  report.height = src.height;
  report.fps = src.fps;
  report.source_frames = src.frame_count;

  // 2. Networks (one set per thread, each call on its caller's thread: net_pool.h) and person
  // B's reference.
  torch::set_num_threads(1);
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<FaceNetPool> nets,
                       FaceNetPool::Load(options.models_dir, options.threads));
  if (!options.identity_dir.empty()) {
    FSC_ASSIGN_OR_RETURN(report.identity,
                         LoadIdentityReference(options.identity_dir, *nets, options.identity_faces,
                                               options.threads));
    for (const std::string& w : report.identity.warnings) report.warnings.push_back(w);
  }

  // 3. The faces to measure, in tracks.
  const Plan plan =
      MakePlan(in.alignments, options.max_frames, options.sample_faces, &report.warnings);
  report.faces_listed = static_cast<int64_t>(plan.faces.size());

  // 4. One pass over both inputs.
  FrameMeasurer measurer(plan, cv::Size(src.width, src.height), report.video, &report);
  FSC_RETURN_IF_ERROR(EvaluateFrames(in, *nets, measurer, options, &report, progress));
  ScoreIdentity(&report);
  if (report.video) MeasureTemporal(plan, measurer, &report);

  // 5. The label, then the summaries.
  if (options.check_label) CheckLabel(swapped, src.kind, &report);
  Summarise(&report);
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

void Summarise(EvalReport* report) {
  std::vector<double> to_b, to_a, to_source, source_to_b, yaw, pitch, roll, rotation, nme;
  int64_t retrieved = 0;
  report->flicker = FlickerSample();
  report->seam = SeamSample();
  for (const FaceRecord& f : report->faces) {
    to_b.push_back(f.identity.to_b);
    to_a.push_back(f.identity.to_a);
    to_source.push_back(f.identity.to_source);
    source_to_b.push_back(f.identity.source_to_b);
    if (f.identity.retrieved) ++retrieved;
    if (f.pose_measured) {
      yaw.push_back(f.pose.yaw);
      pitch.push_back(f.pose.pitch);
      roll.push_back(f.pose.roll);
      rotation.push_back(f.pose.rotation);
    }
    nme.push_back(f.nme);
    report->flicker += f.flicker;
    report->seam += f.seam;
  }
  report->faces_measured = static_cast<int64_t>(report->faces.size());
  report->to_b = Summarize(to_b);
  report->to_a = Summarize(to_a);
  report->to_source = Summarize(to_source);
  report->source_to_b = Summarize(source_to_b);
  report->retrieval =
      report->to_b.count > 0 ? static_cast<double>(retrieved) / report->to_b.count : kNaN;
  report->to_b_histogram = MakeHistogram(to_b, 0, kHistogramHigh, kHistogramBins);
  report->to_source_histogram = MakeHistogram(to_source, 0, kHistogramHigh, kHistogramBins);
  report->pose_yaw = Summarize(yaw);
  report->pose_pitch = Summarize(pitch);
  report->pose_roll = Summarize(roll);
  report->pose_rotation = Summarize(rotation);
  report->nme = Summarize(nme);
  report->flicker_ratio = report->flicker.pixels > 0 ? FlickerRatio(report->flicker) : kNaN;
  report->seam_color_excess = report->seam.points > 0 ? report->seam.color_step_swapped_mean() -
                                                            report->seam.color_step_source_mean()
                                                      : kNaN;
  report->seam_gradient_ratio = report->seam.gradient_source > 0
                                    ? report->seam.gradient_swapped / report->seam.gradient_source
                                    : kNaN;
}

}  // namespace fsc::eval
