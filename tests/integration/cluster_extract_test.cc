// End to end: a distributed extract of the sample video over a local cluster of two workers (real
// fsc-coordinator and fsc-worker processes, TLS) gives the same alignments as a local
// `fsc extract`, smoothing (on by default) included: the merge task stabilises the merged file
// once, across the ranges' borders, with the job's own --strength and --max-gap, and cuts the
// face PNGs again to follow it (the same files and pixels as locally); the client verbs
// around it (submit --wait, job, jobs, fetch, dataset dedupe) behave as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <set>

#include "tests/integration/cluster_harness.h"
#include "tests/png_pixels.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;

// Every nth frame keeps the test short; frames-per-task is deliberately not a multiple of it, so
// a range that does not start on a sampled frame would show up as missing or extra frames.
constexpr int kEveryN = 3;
constexpr int kFramesPerTask = 50;
// Steady-faces settings other than the defaults (1 and 5), given to both runs: the job's must
// reach the merge task, which records them in the alignments' smoothing.
constexpr char kSmoothFlags[] = " --strength 0.5 --max-gap 3";

json Dump(const std::string& alignments) {
  CommandResult run =
      testing::RunCommand(testing::BinDir() + "/fsc alignments dump " + alignments + " --json");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  return testing::ParseJsonOutput(run);
}

void ExpectSameAlignments(const json& local, const json& cluster) {
  ASSERT_TRUE(local.contains("frames"));
  ASSERT_TRUE(cluster.contains("frames"));
  const json& a = local["frames"];
  const json& b = cluster["frames"];
  ASSERT_EQ(a.size(), b.size()) << "frames with faces differ";
  // Both were stabilised, with the same tracks, cuts and filled faces.
  ASSERT_TRUE(local.contains("smoothing")) << "the local extract of a video smooths by default";
  EXPECT_EQ(local["smoothing"], cluster.value("smoothing", json())) << "smoothing differs";
  EXPECT_EQ(local["shot_cuts"], cluster["shot_cuts"]);
  int faces = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i]["frame"], b[i]["frame"]) << "at entry " << i;
    ASSERT_EQ(a[i]["faces"].size(), b[i]["faces"].size()) << "frame " << a[i]["frame"];
    for (size_t f = 0; f < a[i]["faces"].size(); ++f) {
      const json& fa = a[i]["faces"][f];
      const json& fb = b[i]["faces"][f];
      for (int k = 0; k < 4; ++k) {
        worst = std::max(worst, std::abs(fa["box"][k].get<double>() - fb["box"][k].get<double>()));
      }
      ASSERT_EQ(fa["landmarks"].size(), 68u);
      ASSERT_EQ(fb["landmarks"].size(), 68u);
      EXPECT_EQ(fa["track"], fb["track"]) << "frame " << a[i]["frame"];
      EXPECT_EQ(fa.value("filled", false), fb.value("filled", false)) << "frame " << a[i]["frame"];
      ASSERT_EQ(fa.contains("raw_landmarks"), fb.contains("raw_landmarks"));
      for (size_t p = 0; fa.contains("raw_landmarks") && p < 68; ++p) {
        for (int c = 0; c < 2; ++c) {
          worst = std::max(worst, std::abs(fa["raw_landmarks"][p][c].get<double>() -
                                           fb["raw_landmarks"][p][c].get<double>()));
        }
      }
      for (int p = 0; p < 68; ++p) {
        for (int c = 0; c < 2; ++c) {
          worst = std::max(worst, std::abs(fa["landmarks"][p][c].get<double>() -
                                           fb["landmarks"][p][c].get<double>()));
        }
      }
      EXPECT_NEAR(fa["score"].get<double>(), fb["score"].get<double>(), 1e-3);
      ++faces;
    }
  }
  // Same code on the same frames; only thread counts differ between the runs.
  EXPECT_LT(worst, 0.05) << "largest box/landmark difference in pixels";
  EXPECT_GT(faces, 0);
  std::cout << "compared " << a.size() << " frames, " << faces
            << " faces; largest box/landmark difference " << worst << " px\n";
}

TEST(ClusterExtractTest, TwoWorkersMatchALocalExtract) {
  const std::string video = testing::DataDir() + "/Megamind.avi";
  const std::string work = testing::MakeTempDir("fsc-cluster-extract");

  // The reference: the local verb, same options.
  CommandResult local = testing::RunCommand(
      testing::CleanEnv() + testing::BinDir() + "/fsc extract " + video + " -o " + work +
      "/local --threads 2 --every-n " + std::to_string(kEveryN) + kSmoothFlags + " 2>&1");
  ASSERT_EQ(local.exit_code, 0) << local.output;

  testing::LocalCluster cluster(2);
  ASSERT_TRUE(cluster.ok()) << cluster.up_result().output;
  EXPECT_NE(cluster.up_result().output.find("export FSC_CONFIG="), std::string::npos);
  // The state folder holds a TLS setup: the config names the CA, not --insecure.
  json config = testing::ReadJson(cluster.config());
  EXPECT_FALSE(config.value("insecure", false));
  EXPECT_FALSE(config.value("tls_ca", "").empty());

  json status = cluster.FscJson("cluster status --json");
  ASSERT_EQ(status["workers"].size(), 2u) << status.dump(1);
  for (const json& worker : status["workers"]) EXPECT_TRUE(worker.value("alive", false));
  // `up` again is idempotent: nothing new starts, the same config comes back.
  CommandResult up_again = cluster.Up(2);
  ASSERT_EQ(up_again.exit_code, 0) << up_again.output;
  EXPECT_NE(up_again.output.find("already up"), std::string::npos) << up_again.output;
  EXPECT_EQ(up_again.output.find("starting"), std::string::npos) << up_again.output;
  EXPECT_EQ(testing::ReadJson(cluster.config()), config);

  // Submit and follow to the end; stdout is the Job as it ended.
  CommandResult submitted = cluster.Fsc(
      "submit extract " + video + " --every-n " + std::to_string(kEveryN) + kSmoothFlags +
      " --frames-per-task " + std::to_string(kFramesPerTask) + " --wait --json");
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  json job = testing::ParseJsonOutput(submitted);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);
  const std::string id = job["id"];

  // Planned as frame ranges covering the video exactly once, plus a merge.
  std::vector<json> extracts = testing::TasksOfKind(job, "TASK_EXTRACT");
  ASSERT_EQ(extracts.size(), (270u + kFramesPerTask - 1) / kFramesPerTask) << job.dump(1);
  ASSERT_EQ(testing::TasksOfKind(job, "TASK_MERGE_ALIGNMENTS").size(), 1u);
  std::set<std::pair<int64_t, int64_t>> ranges;
  std::set<std::string> workers;
  for (const json& task : extracts) {
    EXPECT_EQ(task.value("state", ""), "TASK_SUCCEEDED");
    ranges.insert({testing::JsonInt(task["frame_begin"]), testing::JsonInt(task["frame_end"])});
    workers.insert(task.value("worker_id", ""));
  }
  int64_t next = 0;
  for (const auto& [begin, end] : ranges) {
    EXPECT_EQ(begin, next);
    next = end;
  }
  EXPECT_EQ(next, 270);
  EXPECT_EQ(workers.size(), 2u) << "both workers should have taken extract tasks";

  // Fetch and compare with the local run.
  json fetched = cluster.FscJson("fetch " + id.substr(0, 8) + " -o " + work + "/fetched --json");
  ASSERT_TRUE(fs::exists(work + "/fetched/alignments.fsa")) << fetched.dump(1);
  json cluster_dump = Dump(work + "/fetched/alignments.fsa");
  ASSERT_TRUE(cluster_dump.contains("smoothing")) << "the merge task stabilises by default";
  EXPECT_EQ(cluster_dump["smoothing"].value("max_gap", 0), 3) << cluster_dump["smoothing"];
  EXPECT_DOUBLE_EQ(cluster_dump["smoothing"].value("strength", 0.0), 0.5)
      << cluster_dump["smoothing"];
  ExpectSameAlignments(Dump(work + "/local/alignments.fsa"), cluster_dump);
  size_t faces = 0;  // filled ones included: the merge cuts their PNGs
  for (const json& frame : cluster_dump["frames"]) faces += frame["faces"].size();
  // The face PNGs follow the smoothed landmarks as the local run's do: the same files, the same
  // pixels.
  const std::map<std::string, cv::Mat> local_pngs = testing::PngPixels(work + "/local");
  const std::map<std::string, cv::Mat> cluster_pngs = testing::PngPixels(work + "/fetched/faces");
  EXPECT_EQ(cluster_pngs.size(), faces) << "one aligned face PNG per face";
  ASSERT_EQ(cluster_pngs.size(), local_pngs.size());
  for (const auto& [name, pixels] : local_pngs) {
    ASSERT_TRUE(cluster_pngs.count(name)) << name << " is only in the local run";
    EXPECT_EQ(cv::norm(pixels, cluster_pngs.at(name), cv::NORM_INF), 0) << name;
  }
  EXPECT_EQ(fetched["files"].size(), job["artifacts"].size());

  // The listing knows the job; a filter by another state does not show it.
  json jobs = cluster.FscJson("jobs --json");
  ASSERT_EQ(jobs["jobs"].size(), 1u);
  EXPECT_EQ(jobs["jobs"][0]["id"], id);
  EXPECT_EQ(cluster.FscJson("jobs --state failed --json").value("jobs", json::array()).size(), 0u);

  // The video is already on the coordinator: uploading it again moves no bytes and gives the
  // same id the job used.
  CommandResult again = cluster.Fsc("dataset upload " + video, /*with_stderr=*/true);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already on the coordinator"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find(job["spec"].value("input_dataset", "?")), std::string::npos)
      << again.output;

  // Once the job has ended its input can be removed: the video's bytes are freed at once (no
  // other dataset holds them), the listing forgets it, and the job's results stay fetchable.
  const std::string input = job["spec"].value("input_dataset", "?");
  json removed = cluster.FscJson("dataset rm " + input.substr(0, 12) + " --json");
  ASSERT_EQ(removed.size(), 1u) << removed.dump(1);
  const json& freed = removed[0]["bytes_freed"];
  EXPECT_EQ(freed.is_string() ? std::stoll(freed.get<std::string>()) : freed.get<int64_t>(),
            static_cast<int64_t>(fs::file_size(video)))
      << removed.dump(1);
  EXPECT_EQ(cluster.FscJson("dataset list --json").dump().find(input), std::string::npos);
  fs::remove_all(work + "/fetched");
  json refetched = cluster.FscJson("fetch " + id.substr(0, 8) + " -o " + work + "/fetched --json");
  EXPECT_EQ(refetched["files"].size(), job["artifacts"].size());
  EXPECT_TRUE(fs::exists(work + "/fetched/alignments.fsa"));

  // A job that does not exist, and a fetch into a folder from a missing job, fail clearly.
  CommandResult missing = cluster.Fsc("job no-such-job", true);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no-such-job"), std::string::npos) << missing.output;
  fs::remove_all(work);
}

}  // namespace
}  // namespace fsc
