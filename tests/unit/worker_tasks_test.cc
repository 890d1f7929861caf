// The worker's task kinds on plain folders (no coordinator): extract over a frame range gives
// exactly the frames a full local extract gives (raw: ranges never smooth), merging range parts
// gives the full extract's alignments (stabilised once, as a local extract does) and faces, bad
// parts are refused, a short training task writes a model folder, and converting two frame ranges
// then merging the segments gives a playable, labelled video with the source's frame count, frame
// rate and audio.
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/convert/verify.h"
#include "core/face/alignments_file.h"
#include "core/face/extractor.h"
#include "core/face/face_recut.h"
#include "core/face/stabilize.h"
#include "core/train/trainer.h"
#include "core/util/artifact_names.h"
#include "core/util/file_io.h"
#include "core/util/subprocess.h"
#include "tests/hostile_images.h"
#include "tests/test_paths.h"
#include "worker/convert_task.h"
#include "worker/extract_task.h"
#include "worker/merge_alignments_task.h"
#include "worker/merge_video_task.h"
#include "worker/task_runner.h"
#include "worker/train_task.h"

namespace fsc::worker {
namespace {
namespace fs = std::filesystem;

constexpr int kEveryN = 3;

// Task folders for one extract task over `source` (hard-linked into in/input/).
struct TaskDirs {
  std::string in, out;
};
TaskDirs MakeTaskDirs(const std::string& root, const std::string& name,
                      const std::vector<std::string>& sources) {
  TaskDirs dirs{root + "/" + name + "/in", root + "/" + name + "/out"};
  fs::create_directories(dirs.in + "/input");
  fs::create_directories(dirs.out);
  for (const std::string& source : sources) {
    fs::copy_file(source, dirs.in + "/input/" + fs::path(source).filename().string());
  }
  return dirs;
}

proto::Task ExtractTask(int64_t begin, int64_t end) {
  proto::Task task;
  task.set_id("t" + std::to_string(begin));
  task.set_kind(proto::TASK_EXTRACT);
  task.set_frame_begin(begin);
  task.set_frame_end(end);
  task.mutable_spec()->mutable_extract()->set_every_n(kEveryN);
  return task;
}

TaskEnv Env(const TaskDirs& dirs, std::vector<TaskProgress>* reports = nullptr) {
  TaskEnv env;
  env.in_dir = dirs.in;
  env.out_dir = dirs.out;
  env.models_dir = testing::ModelsDir();
  env.threads = 1;
  env.report = [reports](const TaskProgress& p) {
    if (reports) reports->push_back(p);
  };
  return env;
}

// Same frames (histograms, shot cuts), faces, boxes, scores, landmarks (raw ones too), tracks,
// filled faces, transforms and face file names.
void ExpectSameFrames(const std::vector<const proto::Frame*>& got,
                      const std::vector<const proto::Frame*>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const proto::Frame& a = *got[i];
    const proto::Frame& b = *want[i];
    ASSERT_EQ(a.index(), b.index());
    EXPECT_EQ(a.name(), b.name());
    EXPECT_GT(a.histogram_size(), 0) << "frame " << a.index();
    EXPECT_EQ(a.histogram_size(), b.histogram_size()) << "frame " << a.index();
    for (int i = 0; i < a.histogram_size() && i < b.histogram_size(); ++i) {
      EXPECT_EQ(a.histogram(i), b.histogram(i)) << "frame " << a.index();
    }
    EXPECT_EQ(a.shot_cut(), b.shot_cut()) << "frame " << a.index();
    ASSERT_EQ(a.faces_size(), b.faces_size()) << "frame " << a.index();
    for (int f = 0; f < a.faces_size(); ++f) {
      const proto::Face& x = a.faces(f);
      const proto::Face& y = b.faces(f);
      EXPECT_EQ(x.box().SerializeAsString(), y.box().SerializeAsString()) << "frame " << a.index();
      EXPECT_EQ(x.score(), y.score());
      ASSERT_EQ(x.landmarks_size(), 68);
      for (int p = 0; p < 68; ++p) {
        EXPECT_EQ(x.landmarks(p).x(), y.landmarks(p).x());
        EXPECT_EQ(x.landmarks(p).y(), y.landmarks(p).y());
      }
      ASSERT_EQ(x.raw_landmarks_size(), y.raw_landmarks_size()) << "frame " << a.index();
      for (int p = 0; p < x.raw_landmarks_size(); ++p) {
        EXPECT_EQ(x.raw_landmarks(p).x(), y.raw_landmarks(p).x());
        EXPECT_EQ(x.raw_landmarks(p).y(), y.raw_landmarks(p).y());
      }
      EXPECT_EQ(x.track_id(), y.track_id()) << "frame " << a.index();
      EXPECT_EQ(x.filled(), y.filled()) << "frame " << a.index();
      EXPECT_EQ(x.transform().SerializeAsString(), y.transform().SerializeAsString());
      EXPECT_EQ(x.face_file(), y.face_file());
    }
  }
}

std::vector<const proto::Frame*> FramesIn(const proto::Alignments& a, int64_t begin, int64_t end) {
  std::vector<const proto::Frame*> frames;
  for (const proto::Frame& f : a.frames()) {
    if (f.index() >= begin && f.index() < end) frames.push_back(&f);
  }
  return frames;
}

bool SamePixels(const std::string& a, const std::string& b) {
  cv::Mat x = cv::imread(a, cv::IMREAD_UNCHANGED), y = cv::imread(b, cv::IMREAD_UNCHANGED);
  return !x.empty() && x.size() == y.size() && x.type() == y.type() && cv::norm(x, y) == 0;
}

class WorkerTasksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir("worker_tasks"));
    video_ = new std::string(testing::DataDir() + "/Megamind.avi");
  }
  // One full local extract of the sample video (the slow part), made on first use and shared:
  // ctest runs each test in its own process, so tests that do not need it do not pay for it.
  // Raw (--smooth off), to compare with range tasks, which never smooth.
  static const proto::Alignments* Full() {
    if (full_ != nullptr) return full_;
    face::ExtractOptions options;
    options.models_dir = testing::ModelsDir();
    options.every_n = kEveryN;
    options.threads = 1;
    options.smooth = face::SmoothMode::kOff;
    auto report =
        face::RunExtraction(*video_, *root_ + "/full", *root_ + "/full/alignments.fsa", options);
    EXPECT_TRUE(report.ok()) << report.status();
    auto full = face::ReadAlignments(*root_ + "/full/alignments.fsa");
    if (!full.ok()) return nullptr;
    full_ = new proto::Alignments(*full);
    return full_;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete video_;
    delete full_;
    full_ = nullptr;
  }

  static std::string* root_;
  static std::string* video_;
  static proto::Alignments* full_;
};
std::string* WorkerTasksTest::root_ = nullptr;
std::string* WorkerTasksTest::video_ = nullptr;
proto::Alignments* WorkerTasksTest::full_ = nullptr;

TEST_F(WorkerTasksTest, RangeExtractEqualsTheSameFramesOfAFullExtract) {
  ASSERT_NE(Full(), nullptr);
  ASSERT_GT(full_->frames_size(), 40) << "the sample video should give faces in most frames";
  // 100 is not a multiple of every_n: frames are picked by index, as in the full run.
  TaskDirs dirs = MakeTaskDirs(*root_, "range", {*video_});
  std::vector<TaskProgress> reports;
  absl::Status status = RunTaskKind(ExtractTask(100, 200), Env(dirs, &reports));
  ASSERT_TRUE(status.ok()) << status;
  auto part = face::ReadAlignments(dirs.out + "/" + kAlignmentsFileName);
  ASSERT_TRUE(part.ok()) << part.status();
  ExpectSameFrames(FramesIn(*part, 0, 1 << 30), FramesIn(*full_, 100, 200));
  // The whole source's description, not the range's.
  EXPECT_EQ(part->source().sha256(), full_->source().sha256());
  EXPECT_EQ(part->source().frame_count(), 270);
  for (const proto::Frame* frame : FramesIn(*part, 0, 1 << 30)) {
    for (const proto::Face& face : frame->faces()) {
      EXPECT_TRUE(
          SamePixels(dirs.out + "/faces/" + face.face_file(), *root_ + "/full/" + face.face_file()))
          << face.face_file();
    }
  }
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().fraction, 1.0);
  EXPECT_EQ(reports.back().unit, "frames");
  EXPECT_GT(reports.back().rate, 0);
}

TEST_F(WorkerTasksTest, MergedRangesEqualTheFullExtract) {
  ASSERT_NE(Full(), nullptr);
  TaskDirs a = MakeTaskDirs(*root_, "a", {*video_});
  TaskDirs b = MakeTaskDirs(*root_, "b", {*video_});
  ASSERT_TRUE(RunTaskKind(ExtractTask(0, 131), Env(a)).ok());
  ASSERT_TRUE(RunTaskKind(ExtractTask(131, 270), Env(b)).ok());

  // Lay the parts out as the coordinator does: parts/<task id>/..., listed in reverse to show
  // that the frame order, not the part order, decides.
  // The merge gets the video too (input/), to cut the faces smoothing moved again.
  TaskDirs merge = MakeTaskDirs(*root_, "merge", {*video_});
  fs::create_directories(merge.in + "/parts");
  fs::rename(fs::path(b.out), merge.in + "/parts/tb");
  fs::rename(fs::path(a.out), merge.in + "/parts/ta");
  proto::Task task;
  task.set_kind(proto::TASK_MERGE_ALIGNMENTS);
  task.add_depends_on("tb");
  task.add_depends_on("ta");
  absl::Status status = RunTaskKind(task, Env(merge));
  ASSERT_TRUE(status.ok()) << status;
  auto merged = face::ReadAlignments(merge.out + "/" + kAlignmentsFileName);
  ASSERT_TRUE(merged.ok());
  // The merge stabilised the whole once (smoothing is on by default) and cut the faces again:
  // what a local extract with smoothing gives, i.e. the raw full extract stabilised and cut again.
  proto::Alignments smoothed = *full_;
  ASSERT_TRUE(face::StabilizeAlignments(face::StabilizeOptions(), &smoothed).ok());
  const std::string recut = *root_ + "/full-recut";
  fs::create_directories(recut);
  for (const auto& entry : fs::directory_iterator(*root_ + "/full")) {
    if (entry.path().extension() == ".png")
      fs::copy_file(entry.path(), fs::path(recut) / entry.path().filename());
  }
  auto cut = face::RecutFacePngs(*video_, recut, &smoothed);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_GT(cut->faces_recut, 0);
  ExpectSameFrames(FramesIn(*merged, 0, 1 << 30), FramesIn(smoothed, 0, 1 << 30));
  EXPECT_EQ(merged->smoothing().SerializeAsString(), smoothed.smoothing().SerializeAsString());
  EXPECT_GT(merged->smoothing().tracks(), 0);
  EXPECT_EQ(merged->source().sha256(), full_->source().sha256());
  EXPECT_EQ(merged->detector(), full_->detector());
  // The same face files, with the same pixels.
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(merge.out + "/faces")) {
    ++files;
    EXPECT_TRUE(SamePixels(entry.path().string(), recut + "/" + entry.path().filename().string()))
        << entry.path();
  }
  size_t full_files = 0;
  for (const auto& entry : fs::directory_iterator(recut)) {
    full_files += entry.path().extension() == ".png";
  }
  EXPECT_EQ(files, full_files);
  // The parts' own PNGs, which the merged folder hard-links, are left as the ranges cut them.
  for (const proto::Frame& frame : full_->frames()) {
    for (const proto::Face& face : frame.faces()) {
      const std::string part = frame.index() < 131 ? "ta" : "tb";
      EXPECT_TRUE(SamePixels(merge.in + "/parts/" + part + "/faces/" + face.face_file(),
                             *root_ + "/full/" + face.face_file()))
          << face.face_file();
    }
  }

  // Overlapping parts are refused, naming the frame.
  TaskDirs again = MakeTaskDirs(*root_, "again", {*video_});
  ASSERT_TRUE(RunTaskKind(ExtractTask(120, 140), Env(again)).ok());
  absl::Status overlap =
      MergeAlignmentParts({merge.in + "/parts/ta", again.out}, *root_ + "/overlap-out");
  EXPECT_EQ(overlap.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(overlap.message().find("frame 120"), std::string::npos) << overlap;
}

TEST_F(WorkerTasksTest, MergeRefusesPartsOfAnotherSourceAndMissingFaces) {
  std::string dir = *root_ + "/foreign";
  proto::Alignments one;
  one.set_version(face::kAlignmentsVersion);
  one.mutable_source()->set_sha256(std::string(64, 'a'));
  one.add_frames()->set_index(0);
  proto::Alignments two = one;
  two.mutable_source()->set_sha256(std::string(64, 'b'));
  two.mutable_frames(0)->set_index(5);
  ASSERT_TRUE(face::WriteAlignments(dir + "/p1/" + kAlignmentsFileName, one).ok());
  ASSERT_TRUE(face::WriteAlignments(dir + "/p2/" + kAlignmentsFileName, two).ok());
  absl::Status status = MergeAlignmentParts({dir + "/p1", dir + "/p2"}, dir + "/out");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("another source"), std::string::npos) << status;

  // A face listed without its file.
  two.mutable_source()->set_sha256(std::string(64, 'a'));
  two.mutable_frames(0)->add_faces()->set_face_file("missing.png");
  ASSERT_TRUE(face::WriteAlignments(dir + "/p2/" + kAlignmentsFileName, two).ok());
  status = MergeAlignmentParts({dir + "/p1", dir + "/p2"}, dir + "/out");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("missing.png"), std::string::npos) << status;
  // A face path that escapes the part.
  two.mutable_frames(0)->mutable_faces(0)->set_face_file("../../evil.png");
  ASSERT_TRUE(face::WriteAlignments(dir + "/p2/" + kAlignmentsFileName, two).ok());
  EXPECT_EQ(MergeAlignmentParts({dir + "/p1", dir + "/p2"}, dir + "/out").code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing to merge, and a part that is not an alignments file.
  EXPECT_FALSE(MergeAlignmentParts({}, dir + "/out").ok());
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/p3/" + kAlignmentsFileName, "junk").ok());
  EXPECT_FALSE(MergeAlignmentParts({dir + "/p1", dir + "/p3"}, dir + "/out").ok());
}

TEST_F(WorkerTasksTest, ImageFolderRangesAreImagesInSortedOrder) {
  std::vector<std::string> images = {testing::DataDir() + "/astronaut.png",
                                     testing::DataDir() + "/sample1.jpg",
                                     testing::DataDir() + "/sample2.jpg"};
  TaskDirs full = MakeTaskDirs(*root_, "images-full", images);
  proto::Task whole = ExtractTask(0, 0);  // [0, 0): the whole input
  ASSERT_TRUE(RunTaskKind(whole, Env(full)).ok());
  TaskDirs part = MakeTaskDirs(*root_, "images-part", images);
  proto::Task range = ExtractTask(1, 3);
  range.mutable_spec()->mutable_extract()->set_every_n(1);
  ASSERT_TRUE(RunTaskKind(range, Env(part)).ok());
  auto a = face::ReadAlignments(full.out + "/" + kAlignmentsFileName);
  auto b = face::ReadAlignments(part.out + "/" + kAlignmentsFileName);
  ASSERT_TRUE(a.ok() && b.ok());
  // every_n 3 over 3 images keeps image 0 only; the range [1, 3) with every_n 1 holds
  // sample1 and sample2.
  for (const proto::Frame& f : a->frames()) EXPECT_EQ(f.index(), 0);
  ASSERT_FALSE(b->frames().empty());
  for (const proto::Frame& f : b->frames()) {
    EXPECT_GE(f.index(), 1);
    EXPECT_EQ(f.name(), f.index() == 1 ? "sample1.jpg" : "sample2.jpg");
  }
}

TEST_F(WorkerTasksTest, BadInputsAndCancellation) {
  TaskDirs empty{*root_ + "/empty/in", *root_ + "/empty/out"};
  fs::create_directories(empty.in);
  absl::Status status = RunTaskKind(ExtractTask(0, 10), Env(empty));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(IsRetryable(status));

  TaskDirs garbage = MakeTaskDirs(*root_, "garbage", {});
  ASSERT_TRUE(util::WriteFileAtomically(garbage.in + "/input/clip.avi", "not a video").ok());
  status = RunTaskKind(ExtractTask(0, 10), Env(garbage));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(IsRetryable(status));

  // An image that declares 100000x100000 pixels fails the same way on every worker: the
  // coordinator must not lease it again.
  TaskDirs huge = MakeTaskDirs(*root_, "huge", {});
  ASSERT_TRUE(
      util::WriteFileAtomically(huge.in + "/input/huge.png", testing::PngHeader(100000, 100000))
          .ok());
  status = RunTaskKind(ExtractTask(0, 1), Env(huge));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("huge.png"), std::string::npos) << status;
  EXPECT_FALSE(IsRetryable(status)) << status;

  // A range past the end of the video: its upload declared more frames than it holds. The worker
  // says so when it decodes, and that is not retried either.
  TaskDirs short_video = MakeTaskDirs(*root_, "short", {*video_});
  status = RunTaskKind(ExtractTask(260, 400), Env(short_video));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("fewer frames than were declared"), std::string::npos) << status;
  EXPECT_FALSE(IsRetryable(status));

  TaskDirs cancelled = MakeTaskDirs(*root_, "cancelled", {*video_});
  TaskEnv env = Env(cancelled);
  env.cancelled = [] { return true; };
  status = RunTaskKind(ExtractTask(0, 270), env);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_FALSE(fs::exists(cancelled.out + "/" + kAlignmentsFileName));

  proto::Task unknown;
  unknown.set_kind(proto::TASK_KIND_UNSPECIFIED);
  EXPECT_EQ(RunTaskKind(unknown, Env(cancelled)).code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(IsRetryable(absl::InternalError("disk hiccup")));
}

TEST_F(WorkerTasksTest, TrainTaskWritesAResumableModelFolder) {
  ASSERT_NE(Full(), nullptr);
  TaskDirs dirs{*root_ + "/train/in", *root_ + "/train/out"};
  // faces_a as a merge output (alignments + faces/), faces_b as a bare folder of faces.
  fs::create_directories(dirs.in + "/faces_a/faces");
  fs::create_directories(dirs.in + "/faces_b");
  int n = 0;
  for (const auto& entry : fs::directory_iterator(*root_ + "/full")) {
    if (entry.path().extension() != ".png") continue;
    if (n == 16) break;  // 8 faces a side are plenty for batch 2 and keep loading quick
    std::string name = entry.path().filename().string();
    fs::copy_file(entry.path(), dirs.in + (n++ % 2 ? "/faces_a/faces/" : "/faces_b/") + name);
  }
  fs::copy_file(*root_ + "/full/alignments.fsa", dirs.in + "/faces_a/alignments.fsa");
  proto::Task task;
  task.set_kind(proto::TASK_TRAIN);
  proto::TrainOptions* train = task.mutable_spec()->mutable_train();
  train->set_model("lightweight");
  train->set_batch(2);
  train->set_iterations(2);
  train->set_seed(7);
  std::vector<TaskProgress> reports;
  absl::Status status = RunTaskKind(task, Env(dirs, &reports));
  ASSERT_TRUE(status.ok()) << status;
  auto saved = train::Trainer::LoadOptions(dirs.out + "/model");
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->model, "lightweight");
  EXPECT_EQ(saved->batch_size, 2);
  EXPECT_FALSE(fs::exists(dirs.out + "/model/snapshots") &&
               !fs::is_empty(dirs.out + "/model/snapshots"));
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().fraction, 1.0);
  EXPECT_EQ(reports.back().unit, "it");

  // Resume: model/* among the inputs continues to the new iteration count.
  fs::rename(dirs.out + "/model", dirs.in + "/model");
  train->set_iterations(3);
  status = RunTaskKind(task, Env(dirs));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(fs::exists(dirs.out + "/model/fsc_model.json"));

  // Data-parallel ranks need the coordinator's rendezvous, which a bare TaskEnv lacks.
  train->set_ranks(2);
  absl::Status ranks = RunTaskKind(task, Env(dirs));
  EXPECT_EQ(ranks.code(), absl::StatusCode::kFailedPrecondition) << ranks;
  EXPECT_NE(ranks.message().find("rendezvous"), std::string::npos) << ranks;

  // A spec outside the schema (only an older coordinator would send one) is refused before any
  // of it is used, not applied in part.
  train->set_batch(0);
  absl::Status bad = RunTaskKind(task, Env(dirs));
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_EQ(bad.message(), "spec.train.batch: 0 is outside 1..4096");
  EXPECT_FALSE(IsRetryable(bad));
}

// ffprobe's view of a file's first video stream, decoding every frame: "nb_read_frames=N",
// "r_frame_rate=A/B", plus "audio=1" when the file has an audio stream.
std::string Probe(const std::string& path) {
  auto video = util::RunProcess({"ffprobe", "-v", "error", "-count_frames", "-select_streams",
                                 "v:0", "-show_entries", "stream=nb_read_frames,r_frame_rate",
                                 "-of", "default=nw=1", path});
  auto audio = util::RunProcess({"ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                                 "stream=index", "-of", "csv=p=0", path});
  if (!video.ok() || video->exit_code != 0 || !audio.ok()) return "ffprobe failed on " + path;
  return video->out + (audio->out.empty() ? "" : "audio=1\n");
}

// Convert: a 40-frame clip of the sample video (with its audio), extracted locally, a model
// trained for a few iterations on its faces, two convert tasks and the merge.
TEST_F(WorkerTasksTest, ConvertRangesThenMergeGiveTheLabelledSourceVideo) {
  const std::string dir = *root_ + "/convert";
  const std::string clip = dir + "/clip/Clip.avi";
  fs::create_directories(dir + "/clip");
  auto cut = util::RunProcess(
      {"ffmpeg", "-v", "error", "-nostdin", "-i", *video_, "-frames:v", "40", "-c", "copy", clip});
  ASSERT_TRUE(cut.ok() && cut->exit_code == 0) << (cut.ok() ? cut->err : cut.status().ToString());
  const std::string source_probe = Probe(clip);
  ASSERT_NE(source_probe.find("nb_read_frames=40"), std::string::npos) << source_probe;
  ASSERT_NE(source_probe.find("audio=1"), std::string::npos) << source_probe;

  face::ExtractOptions extract;
  extract.models_dir = testing::ModelsDir();
  extract.every_n = kEveryN;
  extract.threads = 1;
  auto extracted = face::RunExtraction(clip, dir + "/extract", dir + "/alignments.fsa", extract);
  ASSERT_TRUE(extracted.ok()) << extracted.status();

  TaskDirs train_dirs{dir + "/train/in", dir + "/train/out"};
  fs::create_directories(train_dirs.in + "/faces_a");
  fs::create_directories(train_dirs.in + "/faces_b");
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir + "/extract")) {
    if (entry.path().extension() != ".png") continue;
    fs::copy_file(entry.path(), train_dirs.in + (n++ % 2 ? "/faces_a/" : "/faces_b/") +
                                    entry.path().filename().string());
  }
  ASSERT_GE(n, 4) << "too few faces in the clip";
  proto::Task train;
  train.set_kind(proto::TASK_TRAIN);
  train.mutable_spec()->mutable_train()->set_model("lightweight");
  train.mutable_spec()->mutable_train()->set_batch(2);
  train.mutable_spec()->mutable_train()->set_iterations(2);
  train.mutable_spec()->mutable_train()->set_seed(7);
  fs::create_directories(train_dirs.out);
  ASSERT_TRUE(RunTaskKind(train, Env(train_dirs)).ok());

  // Two convert tasks over [0, 25) and [25, 40), as the planner lays them out.
  auto convert_dirs = [&](const std::string& id) {
    TaskDirs dirs = MakeTaskDirs(dir, id, {clip});
    fs::create_directories(dirs.in + "/alignments");
    fs::copy_file(dir + "/alignments.fsa", dirs.in + "/alignments/alignments.fsa");
    fs::create_directory_symlink(train_dirs.out + "/model", dirs.in + "/model");
    return dirs;
  };
  std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 25}, {25, 40}};
  proto::Task merge;
  merge.set_kind(proto::TASK_MERGE_VIDEO);
  TaskDirs merge_dirs = MakeTaskDirs(dir, "merge", {clip});
  for (const auto& [begin, end] : ranges) {
    const std::string id = "c" + std::to_string(begin);
    TaskDirs dirs = convert_dirs(id);
    proto::Task task;
    task.set_id(id);
    task.set_kind(proto::TASK_CONVERT);
    task.set_frame_begin(begin);
    task.set_frame_end(end);
    std::vector<TaskProgress> reports;
    TaskEnv env = Env(dirs, &reports);
    env.scratch_dir = dir + "/" + id + "/scratch";
    absl::Status status = RunTaskKind(task, env);
    ASSERT_TRUE(status.ok()) << status;
    const std::string segment = dirs.out + "/" + kSegmentName;
    EXPECT_NE(Probe(segment).find("nb_read_frames=" + std::to_string(end - begin)),
              std::string::npos)
        << Probe(segment);
    EXPECT_EQ(std::distance(fs::directory_iterator(dirs.out), fs::directory_iterator()), 1)
        << "only the segment is uploaded";
    EXPECT_FALSE(fs::exists(env.scratch_dir + "/convert")) << "the frames are cleaned up";
    ASSERT_FALSE(reports.empty());
    EXPECT_EQ(reports.back().fraction, 1.0);
    fs::create_directories(merge_dirs.in + "/parts/" + id);
    fs::copy_file(segment, merge_dirs.in + "/parts/" + id + "/" + kSegmentName);
    merge.add_depends_on(id);
  }

  TaskEnv env = Env(merge_dirs);
  env.scratch_dir = dir + "/merge/scratch";
  absl::Status status = RunTaskKind(merge, env);
  ASSERT_TRUE(status.ok()) << status;
  const std::string merged = merge_dirs.out + "/Clip_swapped.mp4";
  ASSERT_TRUE(fs::exists(merged));
  // Same frames, same exact rate, the audio back in.
  EXPECT_EQ(Probe(merged), source_probe);

  // `fsc verify` finds the watermark; the container carries the synthetic tag.
  auto verify = util::RunProcess({testing::BinDir() + "/fsc", "verify", "--json", merged});
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_EQ(verify->exit_code, 0) << verify->out << verify->err;
  EXPECT_NE(verify->out.find("\"watermark_found\": true"), std::string::npos) << verify->out;
  auto report = convert::VerifyFile(merged);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->metadata_found);

  // A missing segment fails the merge instead of leaving a gap; nothing is written.
  merge.add_depends_on("c99");
  fs::remove(merged);
  EXPECT_EQ(RunTaskKind(merge, env).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(merge_dirs.out));

  // Image inputs: the range's images come back under their own names, labelled.
  const std::vector<std::string> images = {testing::DataDir() + "/astronaut.png",
                                           testing::DataDir() + "/sample1.jpg"};
  TaskDirs image_extract = MakeTaskDirs(dir, "images-extract", images);
  proto::Task extract_images = ExtractTask(0, 0);
  extract_images.mutable_spec()->mutable_extract()->set_every_n(1);
  ASSERT_TRUE(RunTaskKind(extract_images, Env(image_extract)).ok());
  TaskDirs image_convert = MakeTaskDirs(dir, "images-convert", images);
  fs::create_directories(image_convert.in + "/alignments");
  fs::copy_file(image_extract.out + "/" + kAlignmentsFileName,
                image_convert.in + "/alignments/alignments.fsa");
  fs::create_directory_symlink(train_dirs.out + "/model", image_convert.in + "/model");
  proto::Task convert_images;
  convert_images.set_kind(proto::TASK_CONVERT);
  convert_images.set_frame_begin(1);
  convert_images.set_frame_end(2);
  status = RunTaskKind(convert_images, Env(image_convert));
  ASSERT_TRUE(status.ok()) << status;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(image_convert.out + "/images")) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"sample1.jpg"});
  auto image_report = convert::VerifyFile(image_convert.out + "/images/sample1.jpg");
  ASSERT_TRUE(image_report.ok()) << image_report.status();
  EXPECT_TRUE(image_report->watermark_found);
  EXPECT_TRUE(image_report->metadata_found);

  // Alignments of another source are refused before any frame is converted.
  TaskDirs other = convert_dirs("other");
  fs::remove(other.in + "/input/Clip.avi");
  fs::copy_file(*video_, other.in + "/input/Megamind.avi");
  proto::Task task;
  task.set_kind(proto::TASK_CONVERT);
  task.set_frame_end(10);
  EXPECT_EQ(RunTaskKind(task, Env(other)).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsc::worker
