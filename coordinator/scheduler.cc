// Scheduling, leases, retries and job roll-up over the Store.
#include "coordinator/scheduler.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/datasets.h"
#include "coordinator/previews.h"
#include "coordinator/task_inputs.h"
#include "coordinator/tokens.h"
#include "coordinator/validation.h"
#include "core/metrics/standard_metrics.h"
#include "core/rpc/job_names.h"
#include "core/rpc/version.h"
#include "core/util/artifact_names.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

bool JobFinished(proto::JobState state) {
  return state == proto::JOB_SUCCEEDED || state == proto::JOB_FAILED ||
         state == proto::JOB_CANCELLED;
}

std::string Describe(const proto::Task& task) {
  switch (task.kind()) {
    case proto::TASK_EXTRACT:
      return absl::StrFormat("extract frames [%d, %d)", task.frame_begin(), task.frame_end());
    case proto::TASK_CONVERT:
      return absl::StrFormat("convert frames [%d, %d)", task.frame_begin(), task.frame_end());
    case proto::TASK_MERGE_ALIGNMENTS:
      return "merge alignments";
    case proto::TASK_MERGE_VIDEO:
      return "merge video";
    case proto::TASK_TRAIN:
      return "train";
    default:
      return "task";
  }
}

// Outputs every task kind must return for its dependents to work.
absl::Status CheckRequiredOutputs(const TaskRecord& task,
                                  const std::vector<proto::FileEntry>& outputs) {
  auto has = [&](const std::string& path) {
    return std::any_of(outputs.begin(), outputs.end(),
                       [&](const proto::FileEntry& f) { return f.path() == path; });
  };
  auto has_under = [&](const std::string& prefix) {
    return std::any_of(outputs.begin(), outputs.end(), [&](const proto::FileEntry& f) {
      return f.path().compare(0, prefix.size(), prefix) == 0;
    });
  };
  switch (task.task.kind()) {
    case proto::TASK_EXTRACT:
    case proto::TASK_MERGE_ALIGNMENTS:
      if (!has(kAlignmentsFileName)) {
        return absl::InvalidArgumentError(
            absl::StrCat("outputs: an extract/merge task returns ", kAlignmentsFileName));
      }
      break;
    case proto::TASK_TRAIN:
      if (!has_under(FolderPrefix(kTaskModelFolder))) {
        return absl::InvalidArgumentError(
            absl::StrCat("outputs: a train task returns the model under ", kTaskModelFolder, "/"));
      }
      break;
    case proto::TASK_CONVERT:
      if (!has(kSegmentName) && !has_under(FolderPrefix(kTaskImagesFolder))) {
        return absl::InvalidArgumentError(absl::StrCat("outputs: a convert task returns ",
                                                       kSegmentName, " (video) or ",
                                                       kTaskImagesFolder, "/* (images)"));
      }
      break;
    case proto::TASK_MERGE_VIDEO:
      if (outputs.empty())
        return absl::InvalidArgumentError("outputs: the merged video is missing");
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

}  // namespace

Scheduler::Scheduler(Store* store, const BlobStore* blobs, SchedulerOptions options)
    : store_(store), blobs_(blobs), options_(options), groups_(store) {}

absl::StatusOr<DatasetShape> Scheduler::Shape(const std::string& owner, const std::string& id,
                                              bool frames) {
  FSC_ASSIGN_OR_RETURN(std::optional<proto::Dataset> dataset, store_->GetDataset(owner, id));
  if (!dataset) {
    return absl::InvalidArgumentError(
        "no dataset of yours has this id (upload it first; see 'fsc dataset list')");
  }
  if (frames) return DatasetShapeOf(*dataset);
  DatasetShape shape;
  shape.file_count = dataset->files_size();
  return shape;
}

Scheduler::~Scheduler() { Shutdown(); }

int64_t Scheduler::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Scheduler::Start() {
  if (sweeper_.joinable()) return;
  sweeper_ = std::thread([this] { SweeperLoop(); });
}

void Scheduler::Shutdown() {
  shutdown_.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_cv_.notify_all();
    events_cv_.notify_all();
    sweeper_cv_.notify_all();
  }
  if (sweeper_.joinable()) sweeper_.join();
}

void Scheduler::SweeperLoop() {
  // Check often relative to the TTL so a lost lease is noticed promptly, but not busily.
  int64_t period = std::clamp<int64_t>(options_.lease_ttl_ms / 10, 20, 1000);
  auto next_collection = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutdown_.load()) {
    sweeper_cv_.wait_for(lock, std::chrono::milliseconds(period));
    if (shutdown_.load()) break;
    lock.unlock();
    absl::Status status = ExpireLeases(NowMs());
    if (!status.ok()) std::cerr << "fsc-coordinator: lease sweep failed: " << status << "\n";
    if (std::chrono::steady_clock::now() >= next_collection) {
      next_collection += std::chrono::milliseconds(options_.blob_gc_interval_ms);
      absl::Status collected = CollectBlobs().status();
      if (!collected.ok()) {
        std::cerr << "fsc-coordinator: blob collection failed: " << collected << "\n";
      }
    }
    lock.lock();
  }
}

void Scheduler::Publish(const Effects& effects) {
  if (options_.log_to_stderr) {
    for (const std::string& line : effects.logs) std::cerr << "fsc-coordinator: " << line << "\n";
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (effects.tasks_changed) {
    ++tasks_version_;
    tasks_cv_.notify_all();
  }
  if (effects.events_changed) {
    ++events_version_;
    events_cv_.notify_all();
  }
}

absl::Status Scheduler::Emit(proto::JobEvent event, Effects* effects) {
  event.set_version(rpc::kClusterProtoVersion);
  event.set_unix_ms(NowMs());
  FSC_RETURN_IF_ERROR(store_->AppendEvent(&event).status());
  effects->events_changed = true;
  return absl::OkStatus();
}

absl::Status Scheduler::Log(const std::string& job_id, const std::string& task_id,
                            const std::string& message, Effects* effects) {
  proto::JobEvent event;
  event.set_job_id(job_id);
  event.set_kind(proto::JobEvent::LOG);
  event.set_task_id(task_id);
  event.set_message(message);
  effects->logs.push_back(absl::StrCat("job ", job_id, ": ", message));
  return Emit(std::move(event), effects);
}

absl::Status Scheduler::SetJobState(proto::Job* job, proto::JobState state,
                                    const std::string& error, Effects* effects) {
  if (job->state() == state) return absl::OkStatus();
  int64_t now = NowMs();
  job->set_state(state);
  if (state == proto::JOB_RUNNING && job->started_unix_ms() == 0) job->set_started_unix_ms(now);
  if (JobFinished(state)) job->set_finished_unix_ms(now);
  if (!error.empty()) job->set_error(error);
  FSC_RETURN_IF_ERROR(store_->UpdateJob(*job));
  proto::JobEvent event;
  event.set_job_id(job->id());
  event.set_kind(proto::JobEvent::STATE);
  event.set_state(state);
  std::string message = absl::StrCat("job ", rpc::JobStateName(state));
  if (!error.empty()) absl::StrAppend(&message, ": ", error);
  event.set_message(message);
  effects->logs.push_back(absl::StrCat("job ", job->id(), " (", job->owner(), "): ", message));
  return Emit(std::move(event), effects);
}

absl::Status Scheduler::CancelUnfinishedTasks(const std::string& job_id, Effects* effects) {
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->TasksOfJob(job_id));
  for (TaskRecord& task : tasks) {
    proto::TaskState state = task.task.state();
    if (state == proto::TASK_PENDING || state == proto::TASK_LEASED) {
      task.task.set_state(proto::TASK_CANCELLED);
      FSC_RETURN_IF_ERROR(store_->UpdateTask(task));
    }
  }
  effects->tasks_changed = true;
  return absl::OkStatus();
}

absl::Status Scheduler::RollUp(const std::string& job_id, Effects* effects) {
  FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(job_id));
  if (!job) return absl::NotFoundError("no job " + job_id);
  if (JobFinished(job->state())) return absl::OkStatus();
  FSC_ASSIGN_OR_RETURN(Store::JobTaskSummary summary, store_->SummarizeJob(job_id));
  if (!summary.first_failed.empty()) {
    FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> failed, store_->GetTask(summary.first_failed));
    // The job has failed: nothing else of it should run.
    FSC_RETURN_IF_ERROR(CancelUnfinishedTasks(job_id, effects));
    return SetJobState(
        &*job, proto::JOB_FAILED,
        absl::StrCat(failed->task.id(), " (", Describe(failed->task), "): ", failed->task.error()),
        effects);
  }
  if (summary.total > 0 && summary.succeeded == summary.total) {
    return SetJobState(&*job, proto::JOB_SUCCEEDED, "", effects);
  }
  if (summary.started > 0) return SetJobState(&*job, proto::JOB_RUNNING, "", effects);
  return absl::OkStatus();
}

// --- client side -----------------------------------------------------------------------------

absl::StatusOr<proto::Job> Scheduler::Submit(const std::string& owner, const proto::JobSpec& spec) {
  FSC_RETURN_IF_ERROR(ValidateJobSpec(spec));
  proto::Job job;
  job.set_version(rpc::kClusterProtoVersion);
  job.set_id(NewId("j"));
  job.set_owner(owner);
  *job.mutable_spec() = spec;
  job.mutable_spec()->set_version(rpc::kClusterProtoVersion);
  job.set_state(proto::JOB_QUEUED);
  job.set_created_unix_ms(NowMs());
  // Probing videos happens outside the transaction: it can take a moment and needs no lock.
  ShapeFn shape = [&](const std::string& id, bool frames) { return Shape(owner, id, frames); };
  PlanOptions plan_options;
  plan_options.default_frames_per_task = options_.default_frames_per_task;
  plan_options.max_attempts = options_.max_attempts;
  plan_options.max_tasks_per_job = options_.max_tasks_per_job;
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, PlanJob(job.id(), spec, shape, plan_options));
  Effects effects;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    // Counted inside the transaction: two submissions at once cannot both take the last place.
    FSC_ASSIGN_OR_RETURN(auto counts, store_->CountJobsByState(owner));
    int64_t active = 0;
    for (const auto& [state, count] : counts) active += JobFinished(state) ? 0 : count;
    if (active >= options_.max_jobs_per_user) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "you have ", active, " jobs queued or running; this coordinator allows ",
          options_.max_jobs_per_user, " per user: wait for one to end or cancel one ('fsc jobs')"));
    }
    FSC_ASSIGN_OR_RETURN(int64_t seq, store_->InsertJob(job));
    for (TaskRecord& task : tasks) {
      task.priority = spec.priority();
      task.job_seq = seq;
      FSC_RETURN_IF_ERROR(store_->InsertTask(task));
    }
    return Log(job.id(), "",
               absl::StrCat("submitted by ", owner, ": ", rpc::JobKindName(spec.kind()), ", ",
                            tasks.size(), " tasks, priority ", spec.priority()),
               &effects);
  }));
  effects.tasks_changed = true;
  Publish(effects);
  return GetJob(owner, job.id());
}

absl::StatusOr<proto::Job> Scheduler::JobView(const proto::Job& stored, bool with_tasks) {
  proto::Job job = stored;
  FSC_ASSIGN_OR_RETURN(Store::JobTaskSummary summary, store_->SummarizeJob(job.id()));
  job.set_progress(summary.progress);
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> finals, store_->FinishedFinalTasks(job.id()));
  for (const TaskRecord& record : finals) {
    for (const proto::FileEntry& file : record.task.outputs()) *job.add_artifacts() = file;
  }
  if (with_tasks) {
    FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->TasksOfJob(job.id()));
    for (TaskRecord& record : tasks) *job.add_tasks() = std::move(record.task);
  }
  return job;
}

absl::StatusOr<proto::Job> Scheduler::GetJob(const std::string& owner, const std::string& job_id) {
  FSC_RETURN_IF_ERROR(ValidateId(job_id, "job_id"));
  FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(job_id));
  if (!job || (!owner.empty() && job->owner() != owner)) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id, " of yours (see 'fsc jobs')"));
  }
  return JobView(*job, /*with_tasks=*/true);
}

absl::StatusOr<std::vector<proto::Job>> Scheduler::ListJobs(const std::string& owner,
                                                            proto::JobState state, int limit) {
  if (!proto::JobState_IsValid(state)) {
    return absl::InvalidArgumentError(absl::StrCat("state: ", int{state}, " is not a job state"));
  }
  if (limit < 0) return absl::InvalidArgumentError("limit: must not be negative");
  FSC_ASSIGN_OR_RETURN(std::vector<proto::Job> jobs, store_->ListJobs(owner, state, limit));
  std::vector<proto::Job> views;
  for (const proto::Job& job : jobs) {
    FSC_ASSIGN_OR_RETURN(proto::Job view, JobView(job, /*with_tasks=*/false));
    views.push_back(std::move(view));
  }
  return views;
}

absl::StatusOr<proto::Job> Scheduler::Cancel(const std::string& owner, const std::string& job_id) {
  FSC_RETURN_IF_ERROR(ValidateId(job_id, "job_id"));
  Effects effects;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(job_id));
    if (!job || (!owner.empty() && job->owner() != owner)) {
      return absl::NotFoundError(absl::StrCat("no job ", job_id, " of yours (see 'fsc jobs')"));
    }
    if (JobFinished(job->state())) {
      return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " already ended (",
                                                        rpc::JobStateName(job->state()),
                                                        "): there is nothing to cancel"));
    }
    FSC_RETURN_IF_ERROR(CancelUnfinishedTasks(job_id, &effects));
    return SetJobState(&*job, proto::JOB_CANCELLED, "cancelled by " + owner, &effects);
  }));
  Publish(effects);
  return GetJob(owner, job_id);
}

absl::StatusOr<std::vector<proto::JobEvent>> Scheduler::Events(const std::string& job_id,
                                                               int64_t after_sequence, int limit,
                                                               int64_t wait_ms, bool* job_done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    int64_t version;
    {
      std::lock_guard<std::mutex> lock(mu_);
      version = events_version_;
    }
    FSC_ASSIGN_OR_RETURN(std::vector<proto::JobEvent> events,
                         store_->EventsAfter(job_id, after_sequence, limit));
    FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(job_id));
    *job_done = !job || JobFinished(job->state());
    if (!events.empty() || *job_done || wait_ms <= 0) return events;
    std::unique_lock<std::mutex> lock(mu_);
    bool woke = events_cv_.wait_until(
        lock, deadline, [&] { return events_version_ != version || shutdown_.load(); });
    if (!woke || shutdown_.load()) return std::vector<proto::JobEvent>();
  }
}

absl::StatusOr<proto::ClusterStatusResponse> Scheduler::ClusterStatus(const std::string& owner) {
  proto::ClusterStatusResponse response;
  response.set_coordinator_version(
      absl::StrCat("fsc-coordinator (wire version ", rpc::kClusterProtoVersion, ")"));
  FSC_ASSIGN_OR_RETURN(std::vector<WorkerRecord> workers, store_->ListWorkers());
  for (const WorkerRecord& worker : workers) {
    proto::WorkerInfo info = worker.info;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto found = last_heartbeat_ms_.find(info.id());
      info.set_last_heartbeat_unix_ms(found == last_heartbeat_ms_.end() ? 0 : found->second);
    }
    info.set_alive(WorkerAlive(info.id()));
    FSC_ASSIGN_OR_RETURN(std::vector<std::string> tasks, store_->TasksLeasedBy(info.id()));
    info.set_leased_tasks(static_cast<int32_t>(tasks.size()));
    for (std::string& id : tasks) {
      if (!owner.empty()) {
        // Task ids name their job: show only the caller's.
        FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(id));
        if (!task) continue;
        FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(task->task.job_id()));
        if (!job || job->owner() != owner) continue;
      }
      info.add_task_ids(std::move(id));
    }
    *response.add_workers() = std::move(info);
  }
  FSC_ASSIGN_OR_RETURN(auto counts, store_->CountJobsByState(owner));
  for (const auto& [state, count] : counts) {
    (*response.mutable_jobs_by_state())[proto::JobState_Name(state)] = count;
  }
  FSC_ASSIGN_OR_RETURN(int64_t queued, store_->CountTasksInState(proto::TASK_PENDING));
  response.set_queued_tasks(queued);
  return response;
}

// --- datasets --------------------------------------------------------------------------------

namespace {
bool ReadsDataset(const proto::JobSpec& spec, const std::string& id) {
  for (const std::string* field :
       {&spec.input_dataset(), &spec.input_b_dataset(), &spec.faces_a_dataset(),
        &spec.faces_b_dataset(), &spec.model_dataset(), &spec.alignments_dataset()}) {
    if (*field == id) return true;
  }
  return false;
}
}  // namespace

absl::StatusOr<proto::DeleteDatasetResponse> Scheduler::DeleteDataset(
    const std::string& owner, const std::string& dataset_id) {
  FSC_RETURN_IF_ERROR(ValidateSha256(dataset_id, "dataset_id"));
  proto::DeleteDatasetResponse response;
  ReleasedBlobs released;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::optional<proto::Dataset> dataset,
                         store_->GetDataset(owner, dataset_id));
    if (!dataset) {
      return absl::NotFoundError(
          absl::StrCat("no dataset ", dataset_id, " of yours ('fsc dataset list' lists them)"));
    }
    for (proto::JobState state : {proto::JOB_QUEUED, proto::JOB_RUNNING}) {
      FSC_ASSIGN_OR_RETURN(std::vector<proto::Job> jobs, store_->ListJobs(owner, state, 0));
      for (const proto::Job& job : jobs) {
        if (!ReadsDataset(job.spec(), dataset_id)) continue;
        return absl::FailedPreconditionError(absl::StrCat(
            "dataset ", dataset_id.substr(0, 12), " is an input of job ", job.id(), " (",
            rpc::JobStateName(job.state()), "): cancel the job or wait for it to end first"));
      }
    }
    released.holder_stored_unix_ms = dataset->created_unix_ms();
    for (const proto::FileEntry& file : dataset->files()) released.blobs.insert(file.sha256());
    dataset->clear_files();  // the response names what was removed, not its file list
    *response.mutable_dataset() = *std::move(dataset);
    return store_->DeleteDataset(owner, dataset_id);
  }));
  if (options_.log_to_stderr) {
    std::cerr << "fsc-coordinator: dataset " << dataset_id << " of " << owner << " removed\n";
  }
  FSC_ASSIGN_OR_RETURN(BlobStore::Collected collected, CollectBlobs(released));
  response.set_blobs_removed(collected.blobs);
  response.set_bytes_freed(collected.bytes);
  return response;
}

absl::StatusOr<BlobStore::Collected> Scheduler::CollectBlobs(const ReleasedBlobs& released) {
  // The references are read before the cutoff is taken: a blob written after the read is younger
  // than the cutoff, so it is spared.
  FSC_ASSIGN_OR_RETURN(std::set<std::string> referenced, store_->ReferencedBlobs());
  BlobStore::Collected collected =
      blobs_->Collect(referenced, NowMs() - options_.blob_grace_ms, released);
  if (collected.blobs > 0 && options_.log_to_stderr) {
    std::cerr << "fsc-coordinator: collected " << collected.blobs << " blobs nothing references ("
              << collected.bytes << " bytes)\n";
  }
  return collected;
}

Scheduler::UploadReservation::~UploadReservation() {
  std::lock_guard<std::mutex> lock(scheduler_->mu_);
  auto found = scheduler_->uploading_bytes_.find(owner_);
  if (found == scheduler_->uploading_bytes_.end()) return;
  found->second -= bytes_;
  if (found->second <= 0) scheduler_->uploading_bytes_.erase(found);
}

absl::StatusOr<std::unique_ptr<Scheduler::UploadReservation>> Scheduler::ReserveUpload(
    const std::string& owner, const proto::DatasetHeader& header) {
  std::vector<proto::FileEntry> files(header.files().begin(), header.files().end());
  int64_t bytes = 0;
  for (const proto::FileEntry& file : files) bytes += file.size();
  FSC_ASSIGN_OR_RETURN(std::optional<proto::Dataset> known,
                       store_->GetDataset(owner, DatasetId(files)));
  if (known) bytes = 0;  // the same content again: it is stored already
  FSC_ASSIGN_OR_RETURN(int64_t stored, store_->DatasetBytes(owner));
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& uploading = uploading_bytes_[owner];
  if (stored + uploading + bytes > options_.max_bytes_per_user) {
    const int64_t in_flight = uploading;
    if (uploading == 0) uploading_bytes_.erase(owner);
    return absl::ResourceExhaustedError(
        absl::StrCat("this upload (", bytes, " bytes) would take your datasets to ",
                     stored + in_flight + bytes, " bytes (", stored, " stored, ", in_flight,
                     " being uploaded); this coordinator allows ", options_.max_bytes_per_user,
                     " per user: remove datasets you no longer need ('fsc ", "dataset rm ID')"));
  }
  uploading += bytes;
  return std::make_unique<UploadReservation>(this, owner, bytes);
}

// --- worker side -----------------------------------------------------------------------------

bool Scheduler::WorkerAlive(const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = last_heartbeat_ms_.find(worker_id);
  return found != last_heartbeat_ms_.end() && NowMs() - found->second <= options_.lease_ttl_ms;
}

absl::StatusOr<proto::RegisterResponse> Scheduler::Register(const proto::RegisterRequest& request,
                                                            const std::string& session_token,
                                                            const std::string& join_hash) {
  FSC_RETURN_IF_ERROR(ValidateName(request.name(), "name"));
  FSC_RETURN_IF_ERROR(ValidateName(request.address(), "address"));
  if (request.roles_size() == 0) {
    return absl::InvalidArgumentError(
        "roles: a worker needs at least one role (extract, convert, train)");
  }
  std::set<int> roles;
  for (int role : request.roles()) {
    if (!proto::WorkerRole_IsValid(role) || role == proto::WORKER_ROLE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("roles: ", role, " is not a worker role"));
    }
    roles.insert(role);
  }
  if (request.cpu_threads() < 0 || request.cpu_threads() > 1 << 20) {
    return absl::InvalidArgumentError("cpu_threads: out of range");
  }
  if (request.gpus_size() > 1024) return absl::InvalidArgumentError("gpus: too many");
  for (const proto::GpuInfo& gpu : request.gpus()) {
    FSC_RETURN_IF_ERROR(ValidateName(gpu.name(), "gpus.name"));
  }
  std::string worker_id = request.worker_id();
  if (worker_id.empty()) {
    worker_id = NewId("w");
  } else {
    FSC_RETURN_IF_ERROR(ValidateId(worker_id, "worker_id"));
  }
  WorkerRecord record;
  record.info.set_id(worker_id);
  record.info.set_name(request.name());
  for (int role : roles) record.info.add_roles(static_cast<proto::WorkerRole>(role));
  record.info.set_cpu_threads(request.cpu_threads());
  *record.info.mutable_gpus() = request.gpus();
  record.info.set_address(request.address());
  record.session_hash = HashToken(session_token);
  record.registered_unix_ms = NowMs();
  record.join_hash = join_hash;
  bool known = false;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::optional<WorkerRecord> previous, store_->GetWorker(worker_id));
    known = previous.has_value();
    return store_->PutWorker(record);
  }));
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_heartbeat_ms_[worker_id] = NowMs();
  }
  Effects effects;
  effects.logs.push_back(absl::StrCat("worker ", worker_id, " (", request.name(), ") ",
                                      known ? "re-registered" : "registered"));
  effects.tasks_changed = true;
  Publish(effects);
  proto::RegisterResponse response;
  response.set_worker_id(worker_id);
  response.set_session_token(session_token);
  response.set_heartbeat_interval_ms(options_.heartbeat_ms);
  response.set_lease_ttl_ms(options_.lease_ttl_ms);
  return response;
}

absl::StatusOr<proto::HeartbeatResponse> Scheduler::Heartbeat(
    const std::string& worker_id, const std::vector<std::string>& task_ids) {
  int64_t now = NowMs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_heartbeat_ms_[worker_id] = now;
  }
  proto::HeartbeatResponse response;
  if (task_ids.empty()) return response;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    for (const std::string& id : task_ids) {
      FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(id));
      if (!task || task->task.state() != proto::TASK_LEASED ||
          task->task.worker_id() != worker_id) {
        response.add_cancel_task_ids(id);
        continue;
      }
      // Writing every renewal would cost a disk flush per heartbeat per task; renewing once half
      // the TTL is used keeps the stored expiry at least TTL/2 ahead of any live worker.
      if (task->task.lease_expires_unix_ms() < now + options_.lease_ttl_ms / 2) {
        FSC_RETURN_IF_ERROR(store_->SetLeaseExpiry(id, now + options_.lease_ttl_ms));
      }
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<std::optional<proto::Task>> Scheduler::TryLease(const std::string& worker_id) {
  std::optional<proto::Task> leased;
  Effects effects;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::optional<WorkerRecord> worker, store_->GetWorker(worker_id));
    if (!worker) return absl::NotFoundError("worker " + worker_id + " is not registered");
    std::vector<proto::WorkerRole> roles;
    for (int role : worker->info.roles()) roles.push_back(static_cast<proto::WorkerRole>(role));
    while (true) {
      FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> next, store_->NextReadyTask(roles));
      if (!next) return absl::OkStatus();
      TaskRecord& task = *next;
      FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(task.task.job_id()));
      if (!job) return absl::InternalError("task " + task.task.id() + " has no job");
      absl::StatusOr<std::vector<proto::FileEntry>> inputs = ResolveInputs(
          task.sources,
          [&](const InputSource& source) -> absl::StatusOr<std::vector<proto::FileEntry>> {
            if (source.kind == InputSource::kDataset) return store_->DatasetFiles(source.id);
            FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> dep, store_->GetTask(source.id));
            if (!dep) return absl::InternalError("missing dependency " + source.id);
            if (dep->task.kind() == proto::TASK_TRAIN && dep->task.outputs_size() == 0) {
              // A slot of a multi-rank stage that did not deliver the model: take it from the
              // slot that did.
              FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> stage,
                                   store_->TasksOfJob(dep->task.job_id()));
              for (const TaskRecord& slot : stage) {
                if (slot.task.kind() == proto::TASK_TRAIN && slot.task.outputs_size() > 0) {
                  return std::vector<proto::FileEntry>(slot.task.outputs().begin(),
                                                       slot.task.outputs().end());
                }
              }
            }
            return std::vector<proto::FileEntry>(dep->task.outputs().begin(),
                                                 dep->task.outputs().end());
          });
      if (!inputs.ok()) {
        // The task can never run (its dependencies did not produce what it needs): fail it and
        // its job, then look for another task.
        task.task.set_attempt(task.task.attempt() + 1);
        FSC_RETURN_IF_ERROR(EndAttempt(&task, std::string(inputs.status().message()),
                                       /*retryable=*/false, &effects));
        continue;
      }
      proto::Task& wire = task.task;
      wire.clear_inputs();
      for (proto::FileEntry& file : *inputs) {
        if (InputNeeded(wire.kind(), file.path())) *wire.add_inputs() = std::move(file);
      }
      wire.set_state(proto::TASK_LEASED);
      wire.set_attempt(wire.attempt() + 1);
      wire.set_worker_id(worker_id);
      wire.set_lease_expires_unix_ms(NowMs() + options_.lease_ttl_ms);
      wire.set_progress(0);
      FSC_RETURN_IF_ERROR(store_->UpdateTask(task));
      FSC_RETURN_IF_ERROR(
          Log(job->id(), wire.id(),
              absl::StrCat(wire.id(), " (", Describe(wire), ") leased to worker ", worker_id,
                           ", attempt ", wire.attempt(), "/", wire.max_attempts()),
              &effects));
      FSC_RETURN_IF_ERROR(RollUp(job->id(), &effects));
      leased = wire;
      leased->set_version(rpc::kClusterProtoVersion);
      *leased->mutable_spec() = job->spec();
      return absl::OkStatus();
    }
  }));
  Publish(effects);
  return leased;
}

absl::StatusOr<std::optional<proto::Task>> Scheduler::LeaseTask(
    const std::string& worker_id, int64_t wait_ms, const std::function<bool()>& cancelled) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_heartbeat_ms_[worker_id] = NowMs();
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    int64_t version;
    {
      std::lock_guard<std::mutex> lock(mu_);
      version = tasks_version_;
    }
    FSC_ASSIGN_OR_RETURN(std::optional<proto::Task> task, TryLease(worker_id));
    if (task || shutdown_.load()) return task;
    if (std::chrono::steady_clock::now() >= deadline || (cancelled && cancelled())) return task;
    std::unique_lock<std::mutex> lock(mu_);
    // Wake on a change, at the deadline, or every 200 ms to notice a cancelled call.
    auto until =
        std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
    tasks_cv_.wait_until(lock, until,
                         [&] { return tasks_version_ != version || shutdown_.load(); });
  }
}

absl::StatusOr<bool> Scheduler::ReportProgress(const proto::ReportProgressRequest& request) {
  FSC_RETURN_IF_ERROR(ValidateId(request.task_id(), "task_id"));
  if (!(request.progress() >= 0.0 && request.progress() <= 1.0)) {
    return absl::InvalidArgumentError("progress: must be within 0..1");
  }
  if (!(request.rate() >= 0.0 && request.rate() < 1e12)) {
    return absl::InvalidArgumentError("rate: must be a non-negative number");
  }
  FSC_RETURN_IF_ERROR(ValidateName(request.unit(), "unit"));
  if (request.message().size() > 64 * 1024) {
    return absl::InvalidArgumentError("message: longer than 64 KiB");
  }
  FSC_RETURN_IF_ERROR(ValidatePreview(*blobs_, request));
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_heartbeat_ms_[request.worker_id()] = NowMs();
  }
  bool cancel = false;
  Effects effects;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(request.task_id()));
    if (!task) return absl::NotFoundError("no task " + request.task_id());
    if (task->task.state() != proto::TASK_LEASED || task->task.worker_id() != request.worker_id()) {
      cancel = true;
      return absl::OkStatus();
    }
    task->task.set_progress(request.progress());
    FSC_RETURN_IF_ERROR(store_->UpdateTask(*task));
    FSC_RETURN_IF_ERROR(RecordPreview(store_, request, task->task, NowMs()));
    const std::string& job_id = task->task.job_id();
    FSC_ASSIGN_OR_RETURN(Store::JobTaskSummary summary, store_->SummarizeJob(job_id));
    proto::JobEvent event;
    event.set_job_id(job_id);
    event.set_kind(proto::JobEvent::PROGRESS);
    event.set_task_id(request.task_id());
    event.set_message(request.message());
    event.set_progress(summary.progress);
    event.set_rate(request.rate());
    event.set_unit(request.unit());
    if (!request.message().empty()) {
      effects.logs.push_back(
          absl::StrCat("job ", job_id, ": ", request.task_id(), ": ", request.message()));
    }
    return Emit(std::move(event), &effects);
  }));
  Publish(effects);
  return cancel;
}

absl::Status Scheduler::CompleteTask(const std::string& worker_id, const std::string& task_id,
                                     const std::vector<proto::FileEntry>& outputs) {
  FSC_RETURN_IF_ERROR(ValidateId(task_id, "task_id"));
  if (static_cast<int>(outputs.size()) > kMaxTaskOutputs) {
    return absl::InvalidArgumentError(
        absl::StrCat("outputs: more than ", kMaxTaskOutputs, " files"));
  }
  std::set<std::string> paths;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string what = absl::StrCat("outputs[", i, "]");
    FSC_RETURN_IF_ERROR(ValidateFileEntry(outputs[i], what));
    if (!paths.insert(outputs[i].path()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": '", outputs[i].path(), "' is listed twice"));
    }
    absl::StatusOr<int64_t> size = blobs_->Size(outputs[i].sha256());
    if (!size.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(what, " '", outputs[i].path(), "': blob ",
                                                     outputs[i].sha256(),
                                                     " was not uploaded (UploadBlob it first)"));
    }
    if (*size != outputs[i].size()) {
      return absl::InvalidArgumentError(absl::StrCat(what, " '", outputs[i].path(), "': size ",
                                                     outputs[i].size(), " but the blob has ", *size,
                                                     " bytes"));
    }
  }
  Effects effects;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(task_id));
    if (!task) return absl::NotFoundError("no task " + task_id);
    proto::Task& wire = task->task;
    if (wire.state() == proto::TASK_SUCCEEDED && wire.worker_id() == worker_id) {
      return absl::OkStatus();  // a retried CompleteTask whose first answer was lost
    }
    if (wire.state() != proto::TASK_LEASED || wire.worker_id() != worker_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "task ", task_id, " is not leased to worker ", worker_id, " any more (state ",
          rpc::TaskStateName(wire.state()), "); its result is not needed"));
    }
    FSC_ASSIGN_OR_RETURN(bool slot, IsRankSlot(wire));
    // The ranks of a multi-rank stage other than the final rank 0 end without outputs.
    if (!(slot && outputs.empty())) FSC_RETURN_IF_ERROR(CheckRequiredOutputs(*task, outputs));
    wire.set_state(proto::TASK_SUCCEEDED);
    wire.set_progress(1.0);
    wire.set_error("");
    wire.clear_outputs();
    for (const proto::FileEntry& file : outputs) *wire.add_outputs() = file;
    FSC_RETURN_IF_ERROR(store_->UpdateTask(*task));
    FSC_RETURN_IF_ERROR(Log(wire.job_id(), task_id,
                            absl::StrCat(task_id, " (", Describe(wire), ") succeeded on worker ",
                                         worker_id, ", ", outputs.size(), " outputs"),
                            &effects));
    effects.tasks_changed = true;
    // A member that finished means the training is over: nobody should join any more (a
    // pending slot is retired). The model slot ends the stage for everyone.
    if (slot) FSC_RETURN_IF_ERROR(RetireSlots(*task, /*leased_too=*/!outputs.empty(), &effects));
    return RollUp(wire.job_id(), &effects);
  }));
  Publish(effects);
  return absl::OkStatus();
}

absl::Status Scheduler::EndAttempt(TaskRecord* task, const std::string& error, bool retryable,
                                   Effects* effects) {
  proto::Task& wire = task->task;
  wire.set_error(error);
  wire.set_lease_expires_unix_ms(0);
  wire.set_progress(0);
  bool retry = retryable && wire.attempt() < wire.max_attempts();
  std::string worker = wire.worker_id();
  if (retryable && !retry && wire.kind() == proto::TASK_TRAIN) {
    // A rank slot out of attempts does not fail the job while the stage's group can go on
    // without it (other slots leased, or pending for a later trainer).
    FSC_ASSIGN_OR_RETURN(bool slot, IsRankSlot(wire));
    bool others = false;
    if (slot) {
      FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->TasksOfJob(wire.job_id()));
      for (const TaskRecord& other : tasks) {
        others |=
            other.task.kind() == proto::TASK_TRAIN && other.task.id() != wire.id() &&
            (other.task.state() == proto::TASK_LEASED || other.task.state() == proto::TASK_PENDING);
      }
    }
    if (others) {
      wire.set_state(proto::TASK_SUCCEEDED);
      wire.set_worker_id("");
      wire.clear_outputs();
      wire.set_error(absl::StrCat("retired after ", wire.attempt(), " attempts: ", error));
      FSC_RETURN_IF_ERROR(store_->UpdateTask(*task));
      FSC_RETURN_IF_ERROR(
          Log(wire.job_id(), wire.id(),
              absl::StrCat(wire.id(), " (rank slot) attempt ", wire.attempt(), "/",
                           wire.max_attempts(), " failed on worker ", worker, ": ", error,
                           "; out of attempts, slot retired (the other "
                           "slots go on)"),
              effects));
      effects->tasks_changed = true;
      return RollUp(wire.job_id(), effects);
    }
  }
  wire.set_state(retry ? proto::TASK_PENDING : proto::TASK_FAILED);
  if (retry) wire.set_worker_id("");
  FSC_RETURN_IF_ERROR(store_->UpdateTask(*task));
  std::string message = absl::StrCat(wire.id(), " (", Describe(wire), ") attempt ", wire.attempt(),
                                     "/", wire.max_attempts(), " failed",
                                     worker.empty() ? "" : " on worker " + worker, ": ", error);
  absl::StrAppend(&message,
                  retry ? "; retrying" : (retryable ? "; out of attempts" : "; not retryable"));
  FSC_RETURN_IF_ERROR(Log(wire.job_id(), wire.id(), message, effects));
  effects->tasks_changed = true;
  return RollUp(wire.job_id(), effects);
}

absl::Status Scheduler::FailTask(const std::string& worker_id, const std::string& task_id,
                                 const std::string& error, bool retryable) {
  FSC_RETURN_IF_ERROR(ValidateId(task_id, "task_id"));
  if (error.size() > 64 * 1024) return absl::InvalidArgumentError("error: longer than 64 KiB");
  Effects effects;
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(task_id));
    if (!task) return absl::NotFoundError("no task " + task_id);
    if (task->task.state() != proto::TASK_LEASED || task->task.worker_id() != worker_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("task ", task_id, " is not leased to worker ", worker_id));
    }
    return EndAttempt(&*task, error.empty() ? "failed without a message" : error, retryable,
                      &effects);
  }));
  Publish(effects);
  return absl::OkStatus();
}

absl::Status Scheduler::ExpireLeases(int64_t now_ms) {
  Effects effects;
  size_t expired_count = 0;  // counted once the transaction commits
  FSC_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> expired, store_->ExpiredLeases(now_ms));
    expired_count = expired.size();
    for (TaskRecord& task : expired) {
      std::string error =
          absl::StrCat("lease expired: worker ", task.task.worker_id(), " stopped heartbeating");
      FSC_RETURN_IF_ERROR(EndAttempt(&task, error, /*retryable=*/true, &effects));
    }
    return absl::OkStatus();
  }));
  metrics::Standard().lease_expiries->Increment(static_cast<double>(expired_count));
  Publish(effects);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, int>>> Scheduler::TrainLeases(
    const std::string& job_id) {
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->TasksOfJob(job_id));
  std::vector<std::pair<std::string, int>> leases;
  for (const TaskRecord& task : tasks) {
    if (task.task.kind() == proto::TASK_TRAIN && task.task.state() == proto::TASK_LEASED) {
      leases.emplace_back(task.task.worker_id(), task.task.attempt());
    }
  }
  return leases;
}

absl::StatusOr<TrainGroup> Scheduler::TrainGroupOf(const std::string& job_id, int64_t broken) {
  FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(job_id));
  if (!job) return absl::NotFoundError("no job " + job_id);
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->TasksOfJob(job_id));
  std::vector<SlotLease> leased;
  int open_slots = 0;  // leased or pending
  for (const TaskRecord& task : tasks) {
    if (task.task.kind() != proto::TASK_TRAIN) continue;
    if (task.task.state() == proto::TASK_LEASED) {
      leased.push_back({task.task.id(), task.task.worker_id(), task.task.attempt()});
    }
    open_slots +=
        task.task.state() == proto::TASK_LEASED || task.task.state() == proto::TASK_PENDING;
  }
  // Slots retired before the group formed lower the bar, or it could never form.
  const int ranks = std::min(job->spec().train().ranks(), open_slots);
  FSC_ASSIGN_OR_RETURN(TrainGroup group, groups_.Observe(job_id, ranks, leased, broken, NowMs(),
                                                         options_.lease_ttl_ms));
  if (group.is_new) {
    std::vector<std::string> members;
    for (const SlotLease& member : group.members) {
      members.push_back(absl::StrCat(member.task_id, "@", member.worker_id));
    }
    Effects effects;
    FSC_RETURN_IF_ERROR(store_->Transaction([&] {
      return Log(job_id, "",
                 absl::StrCat("training generation ", group.generation, ": ", members.size(),
                              " ranks (", absl::StrJoin(members, ", "), ")"),
                 &effects);
    }));
    Publish(effects);
  }
  return group;
}

absl::StatusOr<bool> Scheduler::IsRankSlot(const proto::Task& task) {
  if (task.kind() != proto::TASK_TRAIN) return false;
  FSC_ASSIGN_OR_RETURN(std::optional<proto::Job> job, store_->GetJob(task.job_id()));
  if (!job) return absl::NotFoundError("no job " + task.job_id());
  return TrainSlots(job->spec().train()) > 1;
}

absl::Status Scheduler::RetireSlots(const TaskRecord& done, bool leased_too, Effects* effects) {
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->TasksOfJob(done.task.job_id()));
  std::vector<std::string> retired;
  for (TaskRecord& slot : tasks) {
    proto::Task& wire = slot.task;
    if (wire.kind() != proto::TASK_TRAIN || wire.id() == done.task.id()) continue;
    if (wire.state() != proto::TASK_PENDING &&
        !(leased_too && wire.state() == proto::TASK_LEASED)) {
      continue;
    }
    // A leased member keeps its worker id, so that its own CompleteTask is acknowledged.
    wire.set_state(proto::TASK_SUCCEEDED);
    wire.set_progress(1.0);
    wire.set_lease_expires_unix_ms(0);
    wire.clear_outputs();
    wire.set_error(absl::StrCat("retired: ", done.task.id(),
                                leased_too ? " delivered the model" : " finished training"));
    FSC_RETURN_IF_ERROR(store_->UpdateTask(slot));
    retired.push_back(wire.id());
  }
  if (retired.empty()) return absl::OkStatus();
  effects->tasks_changed = true;
  return Log(done.task.job_id(), done.task.id(),
             absl::StrCat(leased_too ? "train stage done: " : "training finished: ", done.task.id(),
                          leased_too ? " delivered the model" : " ended", "; slots ",
                          absl::StrJoin(retired, ", "), " retired"),
             effects);
}

}  // namespace fsc::coordinator
