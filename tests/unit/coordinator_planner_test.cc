// The planner's task graphs: extract ranges cover [0, n) exactly, merges depend on every range,
// convert adds extraction when no alignments are given, image inputs end without a video
// merge, and swap wires extract A/B -> train -> convert A -> merge video with the documented
// input prefixes.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "coordinator/planner.h"
#include "coordinator/task_inputs.h"

namespace fsc::coordinator {
namespace {

// Datasets by id: "vid<N>" is a video of N frames, "img<N>" N images, anything else in `files`
// a plain file tree.
absl::StatusOr<DatasetShape> FakeShape(const std::string& id, bool frames) {
  DatasetShape shape;
  if (id.rfind("vid", 0) == 0) {
    shape.is_video = true;
    shape.frame_count = std::stoll(id.substr(3));
    shape.file_count = 1;
  } else if (id.rfind("img", 0) == 0) {
    shape.frame_count = std::stoll(id.substr(3));
    shape.file_count = static_cast<int>(shape.frame_count);
  } else if (id.rfind("missing", 0) == 0) {
    return absl::InvalidArgumentError("no dataset of yours has this id");
  } else {
    shape.file_count = id == "align" ? 1 : 3;
  }
  (void)frames;
  return shape;
}

std::vector<TaskRecord> Plan(const proto::JobSpec& spec, int default_fpt = 64) {
  PlanOptions options;
  options.default_frames_per_task = default_fpt;
  absl::StatusOr<std::vector<TaskRecord>> tasks = PlanJob("j1", spec, FakeShape, options);
  EXPECT_TRUE(tasks.ok()) << tasks.status();
  return tasks.ok() ? *tasks : std::vector<TaskRecord>();
}

std::vector<const TaskRecord*> OfKind(const std::vector<TaskRecord>& tasks, proto::TaskKind kind) {
  std::vector<const TaskRecord*> out;
  for (const TaskRecord& task : tasks) {
    if (task.task.kind() == kind) out.push_back(&task);
  }
  return out;
}

// Every dependency precedes its dependent and exists.
void ExpectTopological(const std::vector<TaskRecord>& tasks) {
  std::set<std::string> seen;
  for (const TaskRecord& task : tasks) {
    for (const std::string& dep : task.task.depends_on()) {
      EXPECT_TRUE(seen.count(dep)) << task.task.id() << " depends on " << dep << " before it";
    }
    seen.insert(task.task.id());
  }
}

// The ranges of `tasks` tile [0, n) in order.
void ExpectTiles(const std::vector<const TaskRecord*>& tasks, int64_t n) {
  int64_t next = 0;
  for (const TaskRecord* task : tasks) {
    EXPECT_EQ(task->task.frame_begin(), next);
    EXPECT_GT(task->task.frame_end(), task->task.frame_begin());
    next = task->task.frame_end();
  }
  EXPECT_EQ(next, n);
}

TEST(PlannerTest, ExtractRangesCoverEveryFrameExactlyOnce) {
  for (int64_t frames : {1, 2, 63, 64, 65, 128, 270, 1000}) {
    for (int fpt : {0, 1, 7, 64, 300}) {
      proto::JobSpec spec;
      spec.set_kind(proto::JOB_EXTRACT);
      spec.set_input_dataset("vid" + std::to_string(frames));
      spec.set_frames_per_task(fpt);
      std::vector<TaskRecord> tasks = Plan(spec);
      auto extracts = OfKind(tasks, proto::TASK_EXTRACT);
      int per = fpt > 0 ? fpt : 64;
      EXPECT_EQ(static_cast<int64_t>(extracts.size()), (frames + per - 1) / per);
      ExpectTiles(extracts, frames);
      auto merges = OfKind(tasks, proto::TASK_MERGE_ALIGNMENTS);
      ASSERT_EQ(merges.size(), 1u);
      EXPECT_EQ(merges[0]->task.depends_on_size(), static_cast<int>(extracts.size()));
      EXPECT_TRUE(merges[0]->final);
      EXPECT_EQ(merges[0]->role, proto::ROLE_EXTRACT);
      // The video itself too: the merge cuts the smoothed faces' PNGs again from it.
      ASSERT_EQ(merges[0]->sources.size(), extracts.size() + 1);
      EXPECT_EQ(merges[0]->sources[0].kind, InputSource::kDataset);
      EXPECT_EQ(merges[0]->sources[0].id, spec.input_dataset());
      EXPECT_EQ(merges[0]->sources[0].to, "input/");
      ExpectTopological(tasks);
    }
  }
}

TEST(PlannerTest, ExtractInputsAndMergeParts) {
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_EXTRACT);
  spec.set_input_dataset("img5");
  spec.set_frames_per_task(2);
  spec.set_max_attempts(4);
  std::vector<TaskRecord> tasks = Plan(spec);
  ASSERT_EQ(tasks.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(tasks[i].task.id(), "j1-t000" + std::to_string(i));
    ASSERT_EQ(tasks[i].sources.size(), 1u);
    EXPECT_EQ(tasks[i].sources[0].kind, InputSource::kDataset);
    EXPECT_EQ(tasks[i].sources[0].id, "img5");
    EXPECT_EQ(tasks[i].sources[0].to, "input/");
    EXPECT_EQ(tasks[i].task.max_attempts(), 4);
    EXPECT_FALSE(tasks[i].final);
  }
  const TaskRecord& merge = tasks[3];
  ASSERT_EQ(merge.sources.size(), 3u) << "images are not smoothed: their merge needs no input";
  EXPECT_EQ(merge.sources[1].kind, InputSource::kTaskOutputs);
  EXPECT_EQ(merge.sources[1].id, "j1-t0001");
  EXPECT_EQ(merge.sources[1].to, "parts/j1-t0001/");
}

TEST(PlannerTest, ConvertWithoutAlignmentsExtractsFirst) {
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_CONVERT);
  spec.set_input_dataset("vid100");
  spec.set_model_dataset("model");
  std::vector<TaskRecord> tasks = Plan(spec, 40);
  ExpectTopological(tasks);
  auto extracts = OfKind(tasks, proto::TASK_EXTRACT);
  auto converts = OfKind(tasks, proto::TASK_CONVERT);
  auto merge = OfKind(tasks, proto::TASK_MERGE_ALIGNMENTS);
  auto video = OfKind(tasks, proto::TASK_MERGE_VIDEO);
  ASSERT_EQ(merge.size(), 1u);
  ASSERT_EQ(video.size(), 1u);
  ExpectTiles(extracts, 100);
  ExpectTiles(converts, 100);
  for (const TaskRecord* convert : converts) {
    EXPECT_EQ(convert->role, proto::ROLE_CONVERT);
    ASSERT_EQ(convert->task.depends_on_size(), 1);
    EXPECT_EQ(convert->task.depends_on(0), merge[0]->task.id());
    ASSERT_EQ(convert->sources.size(), 3u);
    EXPECT_EQ(convert->sources[1].to, "model/");
    EXPECT_EQ(convert->sources[2].from, "alignments.fsa");
    EXPECT_EQ(convert->sources[2].to, "alignments/alignments.fsa");
    EXPECT_FALSE(convert->final);
  }
  EXPECT_TRUE(video[0]->final);
  EXPECT_FALSE(merge[0]->final);
  EXPECT_EQ(video[0]->task.depends_on_size(), static_cast<int>(converts.size()));
  EXPECT_EQ(video[0]->role, proto::ROLE_CONVERT);
  EXPECT_EQ(video[0]->sources[1].to, "parts/" + converts[0]->task.id() + "/segment.mkv");
}

TEST(PlannerTest, ConvertWithAlignmentsAndImagesHasNoExtractAndNoVideoMerge) {
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_CONVERT);
  spec.set_input_dataset("img10");
  spec.set_model_dataset("model");
  spec.set_alignments_dataset("align");
  spec.set_frames_per_task(4);
  std::vector<TaskRecord> tasks = Plan(spec);
  ASSERT_EQ(tasks.size(), 3u);
  for (const TaskRecord& task : tasks) {
    EXPECT_EQ(task.task.kind(), proto::TASK_CONVERT);
    EXPECT_TRUE(task.final);
    EXPECT_EQ(task.task.depends_on_size(), 0);
    EXPECT_EQ(task.sources[2].from, "*");
    EXPECT_EQ(task.sources[2].to, "alignments/alignments.fsa");
  }
}

TEST(PlannerTest, SwapGraph) {
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_SWAP);
  spec.set_input_dataset("vid130");
  spec.set_input_b_dataset("img70");
  std::vector<TaskRecord> tasks = Plan(spec);
  ExpectTopological(tasks);
  auto merges = OfKind(tasks, proto::TASK_MERGE_ALIGNMENTS);
  auto trains = OfKind(tasks, proto::TASK_TRAIN);
  auto converts = OfKind(tasks, proto::TASK_CONVERT);
  auto videos = OfKind(tasks, proto::TASK_MERGE_VIDEO);
  ASSERT_EQ(merges.size(), 2u);
  ASSERT_EQ(trains.size(), 1u);
  ASSERT_EQ(videos.size(), 1u);
  EXPECT_EQ(OfKind(tasks, proto::TASK_EXTRACT).size(), 3u + 2u);
  const std::string merge_a = merges[0]->task.id();
  const std::string merge_b = merges[1]->task.id();
  // Each merge reads only its own side's extract tasks.
  for (const std::string& dep : merges[0]->task.depends_on()) {
    for (const TaskRecord& task : tasks) {
      if (task.task.id() == dep) {
        EXPECT_EQ(task.sources[0].id, "vid130");
      }
    }
  }
  const TaskRecord& train = *trains[0];
  EXPECT_EQ(std::set<std::string>(train.task.depends_on().begin(), train.task.depends_on().end()),
            (std::set<std::string>{merge_a, merge_b}));
  ASSERT_EQ(train.sources.size(), 2u);
  EXPECT_EQ(train.sources[0].id, merge_a);
  EXPECT_EQ(train.sources[0].from, "faces/");
  EXPECT_EQ(train.sources[0].to, "faces_a/");
  EXPECT_EQ(train.sources[1].id, merge_b);
  EXPECT_EQ(train.sources[1].to, "faces_b/");
  EXPECT_EQ(train.role, proto::ROLE_TRAIN);
  ExpectTiles(converts, 130);
  for (const TaskRecord* convert : converts) {
    EXPECT_EQ(
        std::set<std::string>(convert->task.depends_on().begin(), convert->task.depends_on().end()),
        (std::set<std::string>{merge_a, train.task.id()}));
    EXPECT_EQ(convert->sources[0].id, "vid130");
    EXPECT_EQ(convert->sources[1].id, train.task.id());
    EXPECT_EQ(convert->sources[1].from, "model/");
    EXPECT_EQ(convert->sources[2].id, merge_a);
  }
  EXPECT_TRUE(videos[0]->final);
  int finals = 0;
  for (const TaskRecord& task : tasks) finals += task.final ? 1 : 0;
  EXPECT_EQ(finals, 1);
}

TEST(PlannerTest, TrainIsOneTask) {
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_TRAIN);
  spec.set_faces_a_dataset("facesA");
  spec.set_faces_b_dataset("facesB");
  spec.set_model_dataset("resume");
  std::vector<TaskRecord> tasks = Plan(spec);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].task.kind(), proto::TASK_TRAIN);
  EXPECT_TRUE(tasks[0].final);
  ASSERT_EQ(tasks[0].sources.size(), 3u);
  EXPECT_EQ(tasks[0].sources[2].to, "model/");
}

TEST(PlannerTest, Refusals) {
  PlanOptions options;
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_EXTRACT);
  spec.set_input_dataset("vid0");
  EXPECT_EQ(PlanJob("j", spec, FakeShape, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  spec.set_input_dataset("missing");
  absl::Status missing = PlanJob("j", spec, FakeShape, options).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("spec.input_dataset"), std::string::npos);
  // More ranges than the task limit allows are refused, with the frames_per_task that would fit
  // (ranges are never widened behind the user's back), before any task is made.
  spec.set_input_dataset("vid2147483647");
  spec.set_frames_per_task(0);
  absl::Status huge = PlanJob("j", spec, FakeShape, options).status();
  EXPECT_EQ(huge.code(), absl::StatusCode::kResourceExhausted) << huge;
  EXPECT_NE(huge.message().find("10000 tasks per job"), std::string::npos) << huge;
  EXPECT_NE(huge.message().find("--frames-per-task 214770"), std::string::npos) << huge;
  spec.set_input_dataset("vid10000000");
  spec.set_frames_per_task(1001);  // 9991 ranges + the merge fit in 10000
  absl::StatusOr<std::vector<TaskRecord>> big = PlanJob("j", spec, FakeShape, options);
  ASSERT_TRUE(big.ok()) << big.status();
  ExpectTiles(OfKind(*big, proto::TASK_EXTRACT), 10000000);
  spec.set_frames_per_task(1000);  // 10000 ranges + the merge do not
  EXPECT_EQ(PlanJob("j", spec, FakeShape, options).status().code(),
            absl::StatusCode::kResourceExhausted);
  // The limit is the coordinator's to set.
  options.max_tasks_per_job = 20;
  spec.set_input_dataset("vid100");
  spec.set_frames_per_task(5);  // 20 ranges + merge
  absl::Status small = PlanJob("j", spec, FakeShape, options).status();
  EXPECT_EQ(small.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(small.message().find("--frames-per-task 6 or more"), std::string::npos) << small;
  options = PlanOptions();
  // An alignments dataset is one file.
  proto::JobSpec convert;
  convert.set_kind(proto::JOB_CONVERT);
  convert.set_input_dataset("vid10");
  convert.set_model_dataset("model");
  convert.set_alignments_dataset("tree");
  EXPECT_EQ(PlanJob("j", convert, FakeShape, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TaskInputsTest, MapSourcePath) {
  EXPECT_EQ(*MapSourcePath({InputSource::kDataset, "d", "", "input/"}, "a/b.png", 3),
            "input/a/b.png");
  EXPECT_EQ(
      *MapSourcePath({InputSource::kTaskOutputs, "t", "faces/", "faces_a/"}, "faces/x.png", 2),
      "faces_a/x.png");
  EXPECT_FALSE(
      MapSourcePath({InputSource::kTaskOutputs, "t", "faces/", "faces_a/"}, "alignments.fsa", 2));
  EXPECT_EQ(
      *MapSourcePath({InputSource::kDataset, "d", "*", "alignments/alignments.fsa"}, "mine.fsa", 1),
      "alignments/alignments.fsa");
  EXPECT_FALSE(MapSourcePath({InputSource::kDataset, "d", "*", "x"}, "a", 2));
  EXPECT_EQ(*MapSourcePath({InputSource::kTaskOutputs, "t", "segment.mkv", "parts/t/segment.mkv"},
                           "segment.mkv", 5),
            "parts/t/segment.mkv");
}

TEST(TaskInputsTest, ConvertTasksTakeAModelsWeightsButNotItsTrainingState) {
  EXPECT_TRUE(InputNeeded(proto::TASK_CONVERT, "model/fsc_model.json"));
  EXPECT_TRUE(InputNeeded(proto::TASK_CONVERT, "model/weights_000250.pt"));
  EXPECT_FALSE(InputNeeded(proto::TASK_CONVERT, "model/state/optimizer_000250.pt"));
  EXPECT_FALSE(InputNeeded(proto::TASK_CONVERT, "model/state/discriminators_000250.pt"));
  EXPECT_TRUE(InputNeeded(proto::TASK_CONVERT, "input/state/frame.png"));
  // Training resumes from the whole folder.
  EXPECT_TRUE(InputNeeded(proto::TASK_TRAIN, "model/state/optimizer_000250.pt"));
}

TEST(TaskInputsTest, ResolveInputsRefusesMissingAndCollidingFiles) {
  auto files = [](const InputSource& source) -> absl::StatusOr<std::vector<proto::FileEntry>> {
    proto::FileEntry a;
    a.set_path(source.id == "t1" ? "faces/1.png" : "x.png");
    a.set_sha256(std::string(64, '1'));
    return std::vector<proto::FileEntry>{a};
  };
  auto ok = ResolveInputs({{InputSource::kTaskOutputs, "t1", "faces/", "faces_a/"},
                           {InputSource::kDataset, "d", "", "input/"}},
                          files);
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].path(), "faces_a/1.png");
  EXPECT_EQ((*ok)[1].path(), "input/x.png");
  EXPECT_EQ(ResolveInputs({{InputSource::kTaskOutputs, "t1", "alignments.fsa", "a"}}, files)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      ResolveInputs(
          {{InputSource::kDataset, "d", "", "in/"}, {InputSource::kDataset, "e", "", "in/"}}, files)
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fsc::coordinator
