// The real fsc-worker process against the real fsc-coordinator over TLS on 127.0.0.1: a video
// extract job split into frame ranges and merged gives exactly what a local `fsc extract` gives;
// the worker survives a coordinator kill -9 + restart mid-job; a wrong join token is refused
// with a clear message; SIGTERM stops an idle worker cleanly; a convert job (extract ranges,
// convert ranges, merge video) gives a labelled video with the source's frames, rate and audio.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/convert/verify.h"
#include "core/face/alignments_file.h"
#include "core/face/extractor.h"
#include "core/media/frame_count.h"
#include "core/rpc/certs.h"
#include "core/rpc/channel.h"
#include "core/rpc/transfer.h"
#include "core/rpc/version.h"
#include "core/util/file_io.h"
#include "proto/fsc.grpc.pb.h"
#include "tests/test_paths.h"
#include "worker/task_runner.h"

extern char** environ;

namespace fsc {
namespace {
namespace fs = std::filesystem;
using std::chrono::seconds;

// A child process with its output in a log file; killed (SIGKILL) when destroyed.
class Process {
 public:
  Process(const std::vector<std::string>& args, const std::string& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() {
    if (running()) Kill(SIGKILL);
  }
  bool running() {
    if (pid_ <= 0 || exited_) return false;
    int status;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return !exited_;
  }
  void Kill(int signal) {
    if (pid_ > 0 && !exited_) kill(pid_, signal);
  }
  // Waits for the exit (up to `limit`); returns the exit code, or -2 if it is still running.
  int Wait(seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (running() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return running() ? -2 : exit_code_;
  }
  std::string Log() const {
    auto text = util::ReadFile(log_);
    return text.ok() ? *text : "";
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

std::string FirstLine(const std::string& text) {
  return std::string(absl::StripAsciiWhitespace(text.substr(0, text.find('\n'))));
}

// True once a task of the job is leased and has reported progress.
bool TaskUnderWay(const proto::Job& job) {
  for (const proto::Task& task : job.tasks()) {
    if (task.state() == proto::TASK_LEASED && task.progress() > 0) return true;
  }
  return false;
}

// Uploads a one-file video as `fsc dataset upload` does: with its frame count, size and rate
// declared (the coordinator never decodes user media, and refuses a video declared without them).
absl::StatusOr<proto::Dataset> UploadVideo(proto::ClientService::StubInterface* stub,
                                           const std::string& token, const std::string& path,
                                           const std::string& name) {
  absl::StatusOr<std::optional<media::VideoFrames>> video = media::CountVideoFrames(
      path, static_cast<int64_t>(fs::file_size(path)) / rpc::kMinVideoBytesPerFrame);
  if (!video.ok()) return video.status();
  if (!video->has_value()) return absl::InvalidArgumentError(path + " is not a video");
  proto::MediaInfo media;
  media.set_frame_count((*video)->frame_count);
  media.set_width((*video)->width);
  media.set_height((*video)->height);
  media.set_fps((*video)->fps);
  return rpc::UploadDataset(stub, token, path, name, nullptr, &media);
}

class WorkerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("worker_process");
    ASSERT_TRUE(fs::exists(testing::BinDir() + "/fsc-coordinator"))
        << "fsc-coordinator is not built: build it first (scripts/test builds every target)";
    auto certs = rpc::GenerateLocalCerts(dir_ + "/pki");
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    const std::string coordinator = testing::BinDir() + "/fsc-coordinator";
    auto user =
        testing::RunCommand(coordinator + " token create --db " + dir_ + "/db.sqlite --user alice");
    ASSERT_EQ(user.exit_code, 0) << user.output;
    user_token_ = FirstLine(user.output);
    auto join = testing::RunCommand(coordinator + " join-token create --db " + dir_ + "/db.sqlite");
    ASSERT_EQ(join.exit_code, 0) << join.output;
    join_token_ = FirstLine(join.output);
    StartCoordinator("127.0.0.1:0");
  }

  void TearDown() override {
    coordinator_.reset();                     // killed before its folder goes
    if (!HasFailure()) fs::remove_all(dir_);  // kept with the logs when something failed
  }

  void StartCoordinator(const std::string& listen) {
    fs::remove(dir_ + "/port");
    coordinator_ = std::make_unique<Process>(
        std::vector<std::string>{testing::BinDir() + "/fsc-coordinator", "--listen", listen, "--db",
                                 dir_ + "/db.sqlite", "--data-dir", dir_ + "/data", "--tls-cert",
                                 certs_.server_cert, "--tls-key", certs_.server_key, "--port-file",
                                 dir_ + "/port", "--heartbeat-ms", "500", "--lease-ttl-ms",
                                 "20000"},
        dir_ + "/coordinator.log");
    for (int i = 0; i < 400 && !fs::exists(dir_ + "/port"); ++i) {
      ASSERT_TRUE(coordinator_->running()) << coordinator_->Log();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(dir_ + "/port")) << coordinator_->Log();
    address_ = "127.0.0.1:" + FirstLine(*util::ReadFile(dir_ + "/port"));
    rpc::ConnectOptions options;
    options.address = address_;
    options.tls_ca = certs_.ca_cert;
    options.token = user_token_;
    auto channel = rpc::MakeChannel(options);
    ASSERT_TRUE(channel.ok());
    client_ = proto::ClientService::NewStub(*channel);
  }

  std::unique_ptr<Process> StartWorker(const std::string& join_token, const std::string& name,
                                       const std::string& roles = "extract") {
    return std::make_unique<Process>(std::vector<std::string>{testing::BinDir() + "/fsc-worker",
                                                              "--coordinator",
                                                              address_,
                                                              "--tls-ca",
                                                              certs_.ca_cert,
                                                              "--join-token",
                                                              join_token,
                                                              "--roles",
                                                              roles,
                                                              "--threads",
                                                              "1",
                                                              "--name",
                                                              name,
                                                              "--cache-dir",
                                                              dir_ + "/cache-" + name,
                                                              "--work-dir",
                                                              dir_ + "/work-" + name,
                                                              "--lease-wait-ms",
                                                              "1000",
                                                              "--models-dir",
                                                              testing::ModelsDir()},
                                     dir_ + "/" + name + ".log");
  }

  absl::StatusOr<proto::Job> GetJob(const std::string& id) {
    grpc::ClientContext context;
    rpc::AddAuth(&context, user_token_);
    context.set_deadline(std::chrono::system_clock::now() + seconds(10));
    proto::GetJobRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_job_id(id);
    proto::Job job;
    grpc::Status status = client_->GetJob(&context, request, &job);
    if (!status.ok()) return rpc::FromGrpc(status);
    return job;
  }

  // Polls until the job ends, `until` says so, or `limit` passes (a hang must fail the test, not
  // block CI).
  proto::Job WaitForJob(const std::string& id, seconds limit,
                        const std::function<bool(const proto::Job&)>& until = nullptr) {
    proto::Job job;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto got = GetJob(id);
      if (got.ok()) {
        job = *got;
        if (until && until(job)) return job;
        if (job.state() == proto::JOB_SUCCEEDED || job.state() == proto::JOB_FAILED ||
            job.state() == proto::JOB_CANCELLED) {
          return job;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return job;
  }

  // The fault tests' trigger: waits until a task of job `id` is under way (an observed progress
  // report), then freezes `worker` (SIGSTOP) so that the task cannot end before the fault is
  // injected; the frozen job still has the task leased. The caller sends SIGCONT.
  void FreezeMidTask(Process* worker, const std::string& id) {
    proto::Job job = WaitForJob(id, seconds(600), TaskUnderWay);
    ASSERT_TRUE(TaskUnderWay(job)) << "no task of job " << id << " got under way\n"
                                   << worker->Log();
    worker->Kill(SIGSTOP);
    auto frozen = GetJob(id);
    ASSERT_TRUE(frozen.ok()) << frozen.status();
    ASSERT_TRUE(TaskUnderWay(*frozen)) << "the task ended before the worker was frozen";
  }

  std::string SubmitVideoExtract(int every_n = 3, int frames_per_task = 100) {
    auto dataset =
        UploadVideo(client_.get(), user_token_, testing::DataDir() + "/Megamind.avi", "megamind");
    EXPECT_TRUE(dataset.ok()) << dataset.status();
    if (!dataset.ok()) return "";
    grpc::ClientContext context;
    rpc::AddAuth(&context, user_token_);
    proto::SubmitJobRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    proto::JobSpec* spec = request.mutable_spec();
    spec->set_version(rpc::kClusterProtoVersion);
    spec->set_kind(proto::JOB_EXTRACT);
    spec->set_name("megamind faces");
    spec->set_input_dataset(dataset->id());
    spec->mutable_extract()->set_every_n(every_n);
    // By default 3 ranges: [0,100) [100,200) [200,270), then a merge.
    spec->set_frames_per_task(frames_per_task);
    proto::Job job;
    grpc::Status status = client_->SubmitJob(&context, request, &job);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job.id();
  }

  // The downloaded artifacts equal a local `fsc extract` of the same video.
  void ExpectEqualsLocalExtract(const proto::Job& job) {
    std::string out = dir_ + "/artifacts";
    std::vector<proto::FileEntry> artifacts(job.artifacts().begin(), job.artifacts().end());
    auto written = rpc::DownloadArtifacts(client_.get(), user_token_, job.id(), "", out, artifacts);
    ASSERT_TRUE(written.ok()) << written.status();
    std::string local = dir_ + "/local";
    auto run = testing::RunCommand(testing::BinDir() + "/fsc extract " + testing::DataDir() +
                                   "/Megamind.avi -o " + local + " --every-n 3 -j 1 --models-dir " +
                                   testing::ModelsDir() + " 2>&1");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    auto remote = face::ReadAlignments(out + "/alignments.fsa");
    ASSERT_TRUE(remote.ok()) << remote.status();
    auto expected = face::ReadAlignments(local + "/alignments.fsa");
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(remote->source().sha256(), expected->source().sha256());
    ASSERT_EQ(remote->frames_size(), expected->frames_size());
    ASSERT_GT(remote->frames_size(), 40);
    for (int i = 0; i < remote->frames_size(); ++i) {
      const proto::Frame& a = remote->frames(i);
      const proto::Frame& b = expected->frames(i);
      ASSERT_EQ(a.index(), b.index());
      ASSERT_EQ(a.faces_size(), b.faces_size()) << "frame " << a.index();
      for (int f = 0; f < a.faces_size(); ++f) {
        EXPECT_EQ(a.faces(f).box().SerializeAsString(), b.faces(f).box().SerializeAsString());
        EXPECT_EQ(a.faces(f).landmarks_size(), 68);
        for (int p = 0; p < a.faces(f).landmarks_size(); ++p) {
          EXPECT_EQ(a.faces(f).landmarks(p).x(), b.faces(f).landmarks(p).x());
          EXPECT_EQ(a.faces(f).landmarks(p).y(), b.faces(f).landmarks(p).y());
        }
        EXPECT_EQ(a.faces(f).track_id(), b.faces(f).track_id()) << "frame " << a.index();
        EXPECT_EQ(a.faces(f).filled(), b.faces(f).filled()) << "frame " << a.index();
        EXPECT_EQ(a.faces(f).face_file(), b.faces(f).face_file());
        if (a.faces(f).filled()) continue;  // interpolated by smoothing: no PNG
        cv::Mat x = cv::imread(out + "/faces/" + a.faces(f).face_file());
        cv::Mat y = cv::imread(local + "/" + b.faces(f).face_file());
        ASSERT_FALSE(x.empty()) << a.faces(f).face_file();
        EXPECT_EQ(cv::norm(x, y), 0) << a.faces(f).face_file();
      }
    }
  }

  std::string dir_;
  rpc::LocalCerts certs_;
  std::string user_token_, join_token_, address_;
  std::unique_ptr<Process> coordinator_;
  std::unique_ptr<proto::ClientService::Stub> client_;
};

TEST_F(WorkerProcessTest, ExtractJobThroughTheCoordinatorEqualsLocalExtract) {
  auto worker = StartWorker(join_token_, "w1");
  std::string id = SubmitVideoExtract();
  ASSERT_FALSE(id.empty());
  proto::Job job = WaitForJob(id, seconds(300));
  ASSERT_EQ(job.state(), proto::JOB_SUCCEEDED) << job.error() << "\n--- worker:\n"
                                               << worker->Log() << "\n--- coordinator:\n"
                                               << coordinator_->Log();
  int extracts = 0;
  for (const proto::Task& task : job.tasks()) extracts += task.kind() == proto::TASK_EXTRACT;
  EXPECT_EQ(extracts, 3);
  ExpectEqualsLocalExtract(job);

  // SIGTERM: an idle worker exits cleanly.
  worker->Kill(SIGTERM);
  EXPECT_EQ(worker->Wait(seconds(30)), 0) << worker->Log();
}

// ffprobe's frame count (every frame decoded), rate and whether there is audio.
std::string Probe(const std::string& path) {
  auto video = testing::RunCommand(
      "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
      "stream=nb_read_frames,r_frame_rate -of default=nw=1 '" +
      path +
      "' && ffprobe -v error -select_streams a -show_entries stream=codec_type -of csv=p=0 '" +
      path + "' | grep -m1 -o audio");
  return video.output;
}

TEST_F(WorkerProcessTest, ConvertJobGivesTheLabelledVideo) {
  // A 40-frame clip with audio; a model trained locally for two iterations on its faces.
  const std::string clip = dir_ + "/clip/Clip.avi";
  fs::create_directories(dir_ + "/clip");
  auto cut = testing::RunCommand("ffmpeg -v error -nostdin -i " + testing::DataDir() +
                                 "/Megamind.avi -frames:v 40 -c copy " + clip + " 2>&1");
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  face::ExtractOptions extract;
  extract.models_dir = testing::ModelsDir();
  extract.every_n = 3;
  extract.threads = 1;
  const std::string faces = dir_ + "/train/in/faces_a";
  ASSERT_TRUE(face::RunExtraction(clip, faces, faces + "/alignments.fsa", extract).ok());
  fs::create_directories(dir_ + "/train/in/faces_b");
  for (const auto& entry : fs::directory_iterator(faces)) {
    if (entry.path().extension() == ".png") {
      fs::copy_file(entry.path(), dir_ + "/train/in/faces_b/" + entry.path().filename().string());
    }
  }
  proto::Task train;
  train.set_kind(proto::TASK_TRAIN);
  train.mutable_spec()->mutable_train()->set_model("lightweight");
  train.mutable_spec()->mutable_train()->set_batch(2);
  train.mutable_spec()->mutable_train()->set_iterations(2);
  worker::TaskEnv env;
  env.in_dir = dir_ + "/train/in";
  env.out_dir = dir_ + "/train/out";
  env.models_dir = testing::ModelsDir();
  fs::create_directories(env.out_dir);
  ASSERT_TRUE(worker::RunTaskKind(train, env).ok());

  auto worker = StartWorker(join_token_, "w1", "extract,convert");
  auto input = UploadVideo(client_.get(), user_token_, clip, "clip");
  ASSERT_TRUE(input.ok()) << input.status();
  auto model = rpc::UploadDataset(client_.get(), user_token_, env.out_dir + "/model", "model");
  ASSERT_TRUE(model.ok()) << model.status();
  grpc::ClientContext context;
  rpc::AddAuth(&context, user_token_);
  proto::SubmitJobRequest request;
  request.set_version(rpc::kClusterProtoVersion);
  proto::JobSpec* spec = request.mutable_spec();
  spec->set_version(rpc::kClusterProtoVersion);
  spec->set_kind(proto::JOB_CONVERT);
  spec->set_input_dataset(input->id());
  spec->set_model_dataset(model->id());
  spec->mutable_extract()->set_every_n(3);
  spec->set_frames_per_task(20);  // extract and convert [0, 20) and [20, 40)
  proto::Job job;
  grpc::Status status = client_->SubmitJob(&context, request, &job);
  ASSERT_TRUE(status.ok()) << status.error_message();
  job = WaitForJob(job.id(), seconds(240));
  ASSERT_EQ(job.state(), proto::JOB_SUCCEEDED) << job.error() << "\n--- worker:\n"
                                               << worker->Log() << "\n--- coordinator:\n"
                                               << coordinator_->Log();
  int converts = 0;
  for (const proto::Task& task : job.tasks()) {
    if (task.kind() != proto::TASK_CONVERT) continue;
    ++converts;
    // The model's weights travel to each convert task, its training state never does.
    bool weights = false;
    for (const proto::FileEntry& input : task.inputs()) {
      EXPECT_EQ(input.path().find("model/state/"), std::string::npos) << input.path();
      weights = weights || input.path().find("model/weights_") == 0;
    }
    EXPECT_TRUE(weights) << task.DebugString();
  }
  EXPECT_EQ(converts, 2);

  std::vector<proto::FileEntry> artifacts(job.artifacts().begin(), job.artifacts().end());
  auto written =
      rpc::DownloadArtifacts(client_.get(), user_token_, job.id(), "", dir_ + "/out", artifacts);
  ASSERT_TRUE(written.ok()) << written.status();
  const std::string merged = dir_ + "/out/Clip_swapped.mp4";
  ASSERT_TRUE(fs::exists(merged));
  const std::string source = Probe(clip);
  EXPECT_NE(source.find("nb_read_frames=40"), std::string::npos) << source;
  EXPECT_EQ(Probe(merged), source);
  auto report = convert::VerifyFile(merged);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->watermark_found);
  EXPECT_TRUE(report->metadata_found);
}

TEST_F(WorkerProcessTest, SurvivesACoordinatorKillAndRestart) {
  auto worker = StartWorker(join_token_, "w2");
  std::string id = SubmitVideoExtract();
  ASSERT_FALSE(id.empty());
  // Kill the coordinator while the first range is under way (the worker frozen meanwhile, so the
  // range cannot end first), restart it on the same port.
  ASSERT_NO_FATAL_FAILURE(FreezeMidTask(worker.get(), id));
  std::string port = address_.substr(address_.rfind(':') + 1);
  coordinator_->Kill(SIGKILL);
  coordinator_->Wait(seconds(10));
  worker->Kill(SIGCONT);  // it finds the coordinator gone
  std::this_thread::sleep_for(std::chrono::seconds(1));
  StartCoordinator("127.0.0.1:" + port);
  proto::Job job = WaitForJob(id, seconds(300));
  ASSERT_EQ(job.state(), proto::JOB_SUCCEEDED) << job.error() << "\n--- worker:\n"
                                               << worker->Log() << "\n--- coordinator:\n"
                                               << coordinator_->Log();
  EXPECT_TRUE(worker->running()) << worker->Log();
  // The worker noticed and came back; the task it was running when the coordinator died was
  // completed by the same attempt (its lease survived in SQLite), nothing was redone.
  EXPECT_NE(worker->Log().find("heartbeats reach the coordinator again"), std::string::npos)
      << worker->Log();
  for (const proto::Task& task : job.tasks()) {
    EXPECT_EQ(task.attempt(), 1) << task.id() << "\n" << worker->Log();
  }
  ExpectEqualsLocalExtract(job);
}

TEST_F(WorkerProcessTest, CancelStopsTheTaskAndSigtermHandsItBack) {
  auto worker = StartWorker(join_token_, "w3");
  // One long range (every frame), so that there is time to act while it runs.
  std::string id = SubmitVideoExtract(/*every_n=*/1, /*frames_per_task=*/270);
  ASSERT_FALSE(id.empty());
  ASSERT_NO_FATAL_FAILURE(FreezeMidTask(worker.get(), id));
  {
    grpc::ClientContext context;
    rpc::AddAuth(&context, user_token_);
    proto::CancelJobRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_job_id(id);
    proto::Job cancelled;
    ASSERT_TRUE(client_->CancelJob(&context, request, &cancelled).ok());
  }
  worker->Kill(SIGCONT);
  // The worker stops the task and goes on serving.
  auto until = std::chrono::steady_clock::now() + seconds(60);
  while (worker->Log().find("(cancelled)") == std::string::npos &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(worker->Log().find("(cancelled)"), std::string::npos) << worker->Log();
  EXPECT_TRUE(worker->running()) << worker->Log();
  EXPECT_EQ(WaitForJob(id, seconds(30)).state(), proto::JOB_CANCELLED);

  // SIGTERM in the middle of a task: handed back as retryable, the worker exits 0.
  std::string second = SubmitVideoExtract(1, 270);
  ASSERT_FALSE(second.empty());
  ASSERT_NO_FATAL_FAILURE(FreezeMidTask(worker.get(), second));
  worker->Kill(SIGTERM);  // delivered when it runs again
  worker->Kill(SIGCONT);
  EXPECT_EQ(worker->Wait(seconds(60)), 0) << worker->Log();
  EXPECT_NE(worker->Log().find("worker shutting down"), std::string::npos) << worker->Log();
  auto after = GetJob(second);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->state(), proto::JOB_FAILED) << after->error();
  for (const proto::Task& task : after->tasks()) {
    if (task.kind() == proto::TASK_EXTRACT) {
      EXPECT_EQ(task.state(), proto::TASK_PENDING) << "a shut-down worker's task is retried";
    }
  }
}

TEST_F(WorkerProcessTest, WrongJoinTokenAndUsage) {
  auto worker = StartWorker("fscj_not-a-real-token", "bad");
  EXPECT_EQ(worker->Wait(seconds(60)), 1) << worker->Log();
  EXPECT_NE(worker->Log().find("join token"), std::string::npos) << worker->Log();

  auto help = testing::RunCommand(testing::BinDir() + "/fsc-worker --help 2>&1");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--join-token"), std::string::npos) << help.output;
  auto usage = testing::RunCommand(testing::BinDir() + "/fsc-worker --roles paint --coordinator " +
                                   address_ + " --join-token x 2>&1");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  EXPECT_NE(usage.output.find("paint"), std::string::npos) << usage.output;
}

}  // namespace
}  // namespace fsc
