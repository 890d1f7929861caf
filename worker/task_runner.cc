// One task end to end: inputs from the blob cache, the task kind's function, uploads, outcome.
#include "worker/task_runner.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <opencv2/core.hpp>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "core/rpc/job_names.h"
#include "core/rpc/version.h"
#include "core/util/status_macros.h"
#include "worker/convert_task.h"
#include "worker/data_plane.h"
#include "worker/extract_task.h"
#include "worker/merge_alignments_task.h"
#include "worker/merge_video_task.h"
#include "worker/rendezvous_client.h"
#include "worker/train_task.h"

namespace fsc::worker {
namespace fs = std::filesystem;
namespace {

using std::chrono::milliseconds;

// The bounds on the worker's calls to the coordinator while it runs a task. `Deadline` is one
// attempt's gRPC deadline; `GiveUpAfter` is how long Session::Run retries a coordinator that is
// away before the call fails.

// Progress goes out at most this often: a live progress bar for the job's owner, without one RPC
// per frame.
constexpr milliseconds kProgressInterval(500);
// One progress report, never retried: the next one follows within kProgressInterval.
constexpr milliseconds kProgressDeadline(5000);
// Log lines kept while the coordinator is away (the newest): the rest are dropped rather than
// held in memory for a coordinator that may be gone for minutes.
constexpr size_t kMaxPendingMessages = 20;
// One preview image upload, never retried: a preview is skipped if it takes longer, the next one
// follows.
constexpr milliseconds kPreviewUploadDeadline(30000);
// One attempt at moving one blob (an input fetched or an output uploaded): inputs and outputs
// are videos and checkpoints of up to gigabytes over a shared link.
constexpr milliseconds kBlobTransferDeadline(600000);
// Uploads retry this long, even while the worker is stopping: outputs are finished work, worth a
// wait, but a coordinator gone for longer fails the task.
constexpr milliseconds kUploadGiveUpAfter(120000);
// One attempt at reporting a task's outcome (CompleteTask or FailTask).
constexpr milliseconds kOutcomeDeadline(30000);
// Reporting the outcome rides out a coordinator restart for this long; after it, the lease
// expires on the coordinator and the task is run again.
constexpr milliseconds kOutcomeGiveUpAfter(300000);
// The same while the worker is stopping (SIGTERM): the process must exit well within its grace
// period (60 s in k8s/base/workers.yaml). A completion, which carries finished work, gets longer
// than a failure, whose task is retried anyway once its lease expires.
constexpr milliseconds kCompleteGiveUpWhileStopping(15000);
constexpr milliseconds kFailGiveUpWhileStopping(10000);
// The least time a training rank's rendezvous waits for an unreachable coordinator before it
// fails (UNAVAILABLE); the lease TTL when longer: a coordinator away for longer than a lease has
// given the slot away.
constexpr milliseconds kMinRendezvousUnreachable(5000);

// Sends a task's progress to the coordinator from its own thread, at most every kProgressInterval
// (the latest value wins; log lines are all sent), so that a slow or absent coordinator never
// stalls the task. A `cancel` answer sets the task's cancel flag.
class ProgressReporter {
 public:
  ProgressReporter(Session* session, std::string task_id, std::atomic<bool>* cancel)
      : session_(session), task_id_(std::move(task_id)), cancel_(cancel) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressReporter() { Finish(); }

  void Report(const TaskProgress& progress) {
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = progress;
    latest_.message.clear();
    dirty_ = true;
    if (!progress.message.empty()) messages_.push_back(progress.message);
  }

  // Sends this preview with the next report (replacing one not sent yet).
  void Preview(const std::string& png, int64_t iteration) {
    std::lock_guard<std::mutex> lock(mu_);
    preview_png_ = png;
    preview_iteration_ = iteration;
    dirty_ = true;
  }

  // Sends what is pending (best effort) and stops the thread.
  void Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) return;
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      wake_.wait_for(lock, kProgressInterval, [&] { return done_; });
      bool finishing = done_;
      while (dirty_ || !messages_.empty()) {
        proto::ReportProgressRequest request;
        request.set_version(rpc::kClusterProtoVersion);
        request.set_worker_id(session_->worker_id());
        request.set_task_id(task_id_);
        request.set_progress(latest_.fraction);
        request.set_rate(latest_.rate);
        request.set_unit(latest_.unit);
        if (!messages_.empty()) {
          request.set_message(messages_.front());
          messages_.pop_front();
        }
        dirty_ = false;
        const std::string preview = std::exchange(preview_png_, "");
        request.set_preview_iteration(preview_iteration_);
        lock.unlock();
        if (!preview.empty()) AttachPreview(preview, &request);
        proto::ReportProgressResponse response;
        absl::Status status = session_->Once(
            "ReportProgress",
            [&](proto::WorkerService::Stub* stub, grpc::ClientContext* context) {
              return stub->ReportProgress(context, request, &response);
            },
            kProgressDeadline);
        lock.lock();
        if (status.ok() && response.cancel()) cancel_->store(true);
        if (!status.ok()) {
          // The coordinator is away: drop what is pending except the newest log lines, and try
          // again at the next tick.
          while (messages_.size() > kMaxPendingMessages) messages_.pop_front();
          break;
        }
      }
      if (finishing) return;
    }
  }

  // Uploads the preview image and names it in `request`; a preview that cannot be sent is
  // skipped (the next one follows), it never fails the task.
  void AttachPreview(const std::string& path, proto::ReportProgressRequest* request) {
    proto::FileEntry entry;
    absl::Status status = session_->Once(
        "UploadBlob",
        [&](proto::WorkerService::Stub* stub, grpc::ClientContext*) {
          auto uploaded = rpc::UploadBlob(stub, session_->token(), path, "preview.png");
          if (uploaded.ok()) entry = *uploaded;
          return rpc::ToGrpc(uploaded.status());
        },
        kPreviewUploadDeadline);
    if (status.ok()) {
      *request->mutable_preview() = entry;
    } else {
      Log(absl::StrCat("task ", task_id_, ": preview not sent: ", status.message()));
    }
  }

  Session* session_;
  std::string task_id_;
  std::atomic<bool>* cancel_;
  std::mutex mu_;
  std::condition_variable wake_;
  TaskProgress latest_;
  bool dirty_ = false;
  bool done_ = false;
  std::string preview_png_;  // a preview to send with the next report
  int64_t preview_iteration_ = 0;
  std::deque<std::string> messages_;
  std::thread thread_;
};

// Replaces this worker's own folders in a message for the job's owner with what they stand for:
// `<task>/in/input/clip.mp4` is `input/clip.mp4` to the user, and where a worker keeps its
// files is no business of theirs.
class PathScrubber {
 public:
  PathScrubber(const fs::path& task_dir, const TaskRunnerOptions& options) {
    Add(task_dir / "in", "");
    Add(task_dir / "out", "output/");
    Add(task_dir / "scratch", "scratch/");
    Add(task_dir, "task/");
    Add(options.models_dir, "models/");
    Add(options.cache_dir, "cache/");
    Add(options.work_dir, "work/");
    // Longest first, so that a folder inside another is replaced as itself.
    std::sort(replacements_.begin(), replacements_.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }

  std::string operator()(std::string text) const {
    for (const auto& [from, to] : replacements_) text = absl::StrReplaceAll(text, {{from, to}});
    return text;
  }

 private:
  void Add(const fs::path& folder, const std::string& shown) {
    if (folder.empty()) return;
    std::string path = folder.lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    replacements_.emplace_back(path + "/", shown);
    replacements_.emplace_back(path, shown.empty() ? "." : shown.substr(0, shown.size() - 1));
  }

  std::vector<std::pair<std::string, std::string>> replacements_;
};

// A task that threw: OpenCV throws on what it cannot decode or process (the same bytes fail the
// same way on every worker: bad input, not worth another attempt) unless it ran out of memory;
// anything else (LibTorch, the standard library) may go better on another try.
absl::Status FromException(const std::exception& e) {
  if (const auto* cv_error = dynamic_cast<const cv::Exception*>(&e)) {
    if (cv_error->code != cv::Error::StsNoMem) {
      return absl::InvalidArgumentError(
          absl::StrCat("the input cannot be processed (OpenCV: ", e.what(), ")"));
    }
  }
  return absl::InternalError(absl::StrCat("task crashed: ", e.what()));
}

}  // namespace

bool CanRun(proto::TaskKind kind) {
  switch (kind) {
    case proto::TASK_EXTRACT:
    case proto::TASK_MERGE_ALIGNMENTS:
    case proto::TASK_TRAIN:
    case proto::TASK_CONVERT:
    case proto::TASK_MERGE_VIDEO:
      return true;
    default:
      return false;
  }
}

absl::Status RunTaskKind(const proto::Task& task, const TaskEnv& env) {
  switch (task.kind()) {
    case proto::TASK_EXTRACT:
      return RunExtractTask(task, env);
    case proto::TASK_MERGE_ALIGNMENTS:
      return RunMergeAlignmentsTask(task, env);
    case proto::TASK_TRAIN:
      return RunTrainTask(task, env);
    case proto::TASK_CONVERT:
      return RunConvertTask(task, env);
    case proto::TASK_MERGE_VIDEO:
      return RunMergeVideoTask(task, env);
    default:
      return absl::UnimplementedError(
          absl::StrCat("this fsc-worker cannot run ", rpc::TaskKindName(task.kind()), " tasks"));
  }
}

TaskRunner::TaskRunner(TaskRunnerOptions options, Session* session, const std::atomic<bool>* stop)
    : options_(std::move(options)), session_(session), stop_(stop), cache_(options_.cache_dir) {}

std::vector<std::string> TaskRunner::HeldTasks() {
  absl::MutexLock lock(&mu_);
  if (current_.empty()) return {};
  return {current_};
}

void TaskRunner::Cancel(const std::string& task_id) {
  absl::MutexLock lock(&mu_);
  // A heartbeat racing the task's completion is answered "cancel" for a task that is no longer
  // leased: nothing to stop then.
  if (task_id == current_ && !finishing_) {
    cancelled_ = true;
    Log(absl::StrCat("task ", task_id, ": cancelled by the coordinator"));
  }
}

absl::Status TaskRunner::Materialize(const proto::Task& task, const std::string& in_dir) {
  int64_t bytes = 0;
  for (const proto::FileEntry& input : task.inputs()) {
    FSC_RETURN_IF_ERROR(rpc::ValidateRelativePath(input.path()));
    FSC_RETURN_IF_ERROR(rpc::ValidateSha256(input.sha256()));
    if (cancelled_ || stop_->load()) return absl::CancelledError("stopped while fetching inputs");
    if (!cache_.Has(input.sha256())) {
      absl::Status fetched = session_->Run(
          "FetchBlob",
          [&](proto::WorkerService::Stub* stub, grpc::ClientContext*) {
            return rpc::ToGrpc(cache_.Fetch(stub, session_->token(), input.sha256(), input.size()));
          },
          *stop_, kBlobTransferDeadline);
      if (!fetched.ok()) {
        return absl::Status(fetched.code(),
                            absl::StrCat("input ", input.path(), ": ", fetched.message()));
      }
      bytes += input.size();
    }
    FSC_RETURN_IF_ERROR(
        cache_.Materialize(input.sha256(), (fs::path(in_dir) / input.path()).string()));
  }
  if (bytes > 0) {
    Log(absl::StrFormat("task %s: fetched %.1f MB of inputs", task.id(), bytes / 1e6));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<proto::FileEntry>> TaskRunner::Upload(const std::string& out_dir) {
  std::vector<proto::FileEntry> outputs;
  bool any = false;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(out_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) {
      any = true;
      break;
    }
  }
  if (!any) return outputs;
  FSC_ASSIGN_OR_RETURN(std::vector<proto::FileEntry> files, rpc::ListDataset(out_dir));
  // Uploads finish even while the worker is stopping (within a bound): the work is done.
  std::atomic<bool> never{false};
  for (const proto::FileEntry& file : files) {
    proto::FileEntry entry;
    absl::Status status = session_->Run(
        "UploadBlob",
        [&](proto::WorkerService::Stub* stub, grpc::ClientContext*) {
          auto uploaded = rpc::UploadBlob(stub, session_->token(),
                                          (fs::path(out_dir) / file.path()).string(), file.path());
          if (uploaded.ok()) entry = *uploaded;
          return rpc::ToGrpc(uploaded.status());
        },
        never, kBlobTransferDeadline, kUploadGiveUpAfter);
    if (!status.ok()) return status;
    outputs.push_back(entry);
  }
  return outputs;
}

absl::Status TaskRunner::Execute(const proto::Task& task) {
  {
    absl::MutexLock lock(&mu_);
    current_ = task.id();
    finishing_ = false;
    cancelled_ = false;
  }
  const auto start = std::chrono::steady_clock::now();
  std::string range;
  if (task.kind() == proto::TASK_EXTRACT || task.kind() == proto::TASK_CONVERT) {
    range = absl::StrCat(" frames [", task.frame_begin(), ", ", task.frame_end(), ")");
  }
  Log(absl::StrCat("task ", task.id(), " (", rpc::TaskKindName(task.kind()), range, ") of job ",
                   task.job_id(), ", attempt ", task.attempt()));

  const fs::path dir = fs::path(options_.work_dir) / absl::StrCat(task.id(), "-", task.attempt());
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "in", ec);
  fs::create_directories(dir / "out", ec);
  absl::Status status;
  if (ec) {
    status = absl::ResourceExhaustedError(
        absl::StrCat("cannot create the task folder ", dir.string(), ": ", ec.message()));
  }

  const PathScrubber scrub(dir, options_);
  ProgressReporter reporter(session_, task.id(), &cancelled_);
  if (status.ok()) status = Materialize(task, (dir / "in").string());
  std::vector<proto::FileEntry> outputs;
  if (status.ok()) {
    TaskEnv env;
    env.in_dir = (dir / "in").string();
    env.out_dir = (dir / "out").string();
    env.scratch_dir = (dir / "scratch").string();
    env.models_dir = options_.models_dir;
    env.threads = options_.threads;
    env.report = [&](const TaskProgress& p) {
      TaskProgress shown = p;
      shown.message = scrub(p.message);
      reporter.Report(shown);
    };
    env.preview = [&](const std::string& png, int64_t iteration) {
      reporter.Preview(png, iteration);
    };
    env.cancelled = [this] { return cancelled_.load() || stop_->load(); };
    env.data_plane_address = options_.data_plane_address;
    if (env.data_plane_address.empty()) {
      env.data_plane_address =
          LocalAddressToward(session_->options().connect.address).value_or("127.0.0.1");
    }
    env.collective_timeout_s = options_.collective_timeout_s;
    env.elastic_recovery = options_.elastic_recovery;
    env.group = [this, cancelled = env.cancelled](
                    const std::string& job_id) -> std::unique_ptr<dist::GroupDirectory> {
      RendezvousClientOptions rendezvous;
      // The same coordinator address and TLS as the session; the token goes on each call.
      auto channel = rpc::MakeChannel(session_->options().connect);
      if (!channel.ok()) return nullptr;
      rendezvous.channel = *channel;
      rendezvous.worker_id = [this] { return session_->worker_id(); };
      rendezvous.token = [this] { return session_->token(); };
      rendezvous.job_id = job_id;
      rendezvous.poll = options_.rendezvous_poll;
      rendezvous.unreachable_timeout = std::max(session_->lease_ttl(), kMinRendezvousUnreachable);
      rendezvous.cancelled = cancelled;
      return std::make_unique<CoordinatorGroupDirectory>(std::move(rendezvous));
    };
    try {
      status = RunTaskKind(task, env);
    } catch (const std::exception& e) {
      // LibTorch and OpenCV throw; a task must fail, not the worker.
      status = FromException(e);
    }
    if (status.ok() && (cancelled_ || stop_->load())) status = absl::CancelledError("stopped");
  }
  if (status.ok()) {
    auto uploaded = Upload((dir / "out").string());
    if (uploaded.ok()) {
      outputs = *std::move(uploaded);
    } else {
      status = uploaded.status();
    }
  }
  reporter.Finish();
  {
    absl::MutexLock lock(&mu_);
    finishing_ = true;
  }

  absl::Status reported;
  std::atomic<bool> never{false};
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (status.ok()) {
    proto::CompleteTaskRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_worker_id(session_->worker_id());
    request.set_task_id(task.id());
    for (const auto& output : outputs) *request.add_outputs() = output;
    reported = session_->Run(
        "CompleteTask",
        [&](proto::WorkerService::Stub* stub, grpc::ClientContext* context) {
          request.set_worker_id(session_->worker_id());
          proto::CompleteTaskResponse response;
          return stub->CompleteTask(context, request, &response);
        },
        never, kOutcomeDeadline,
        stop_->load() ? kCompleteGiveUpWhileStopping : kOutcomeGiveUpAfter);
    Log(absl::StrFormat(
        "task %s: done in %.1f s, %d outputs%s", task.id(), seconds, outputs.size(),
        reported.ok() ? "" : absl::StrCat(" (not acknowledged: ", reported.message(), ")")));
  } else if (cancelled_) {
    Log(absl::StrFormat("task %s: stopped after %.1f s (cancelled)", task.id(), seconds));
  } else {
    const bool stopping = stop_->load();
    const bool retryable = stopping || IsRetryable(status);
    std::string error =
        scrub(stopping ? absl::StrCat("worker shutting down (", status.message(), ")")
                       : std::string(status.message()));
    proto::FailTaskRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_task_id(task.id());
    request.set_error(error);
    request.set_retryable(retryable);
    reported = session_->Run(
        "FailTask",
        [&](proto::WorkerService::Stub* stub, grpc::ClientContext* context) {
          request.set_worker_id(session_->worker_id());
          proto::FailTaskResponse response;
          return stub->FailTask(context, request, &response);
        },
        never, kOutcomeDeadline, stopping ? kFailGiveUpWhileStopping : kOutcomeGiveUpAfter);
    Log(absl::StrFormat("task %s: failed after %.1f s (%s): %s", task.id(), seconds,
                        retryable ? "retryable" : "not retryable", error));
  }
  if (!options_.keep_task_dirs) fs::remove_all(dir, ec);
  absl::MutexLock lock(&mu_);
  current_.clear();
  return reported;
}

}  // namespace fsc::worker
