// The coordinator's durable state in one SQLite file: users and their tokens, join tokens,
// workers, datasets and their files, jobs, tasks (state, attempt, lease, inputs, outputs, where
// their inputs come from, dependencies) and each job's event log. Everything the scheduler
// decides is written here inside a transaction before it is acted on, so a kill -9 at any point
// restarts into a consistent state with nothing that succeeded lost.
//
// Secrets are never stored: tokens are kept as their SHA-256. The schema carries a version in
// the `meta` table: an older database is migrated when it is opened (in one transaction), one
// written by a newer schema is refused. Other processes (`fsc-coordinator token revoke`) may
// write the same file while a coordinator serves it: SQLite's locking makes that safe, and the
// coordinator reads tokens from the file on every call.
//
// Thread-safe: every call, and every Transaction as a whole, holds one (recursive) lock, so the
// body of a Transaction reads and writes a state no other thread changes meanwhile.
#ifndef FSC_COORDINATOR_STORE_H_
#define FSC_COORDINATOR_STORE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/sqlite.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

// 1: the first schema. 2: one `tokens` table with expiry and revocation (was user_tokens and
// join_tokens), the join token a worker registered with, datasets' declared media, file lists as
// FileList (were a Task holding only `inputs`), job_previews part of the schema.
inline constexpr int kStoreSchemaVersion = 2;

enum class TokenKind { kUser = 1, kJoin = 2 };

// A bearer token as stored: its SHA-256 (the secret itself is never kept), whom it names, and
// its lifetime. `id()` is what people see and revoke by.
struct TokenRecord {
  std::string hash;
  TokenKind kind = TokenKind::kUser;
  std::string user;  // user tokens only
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;  // 0 = never
  int64_t revoked_unix_ms = 0;  // 0 = not revoked

  // The first 12 hex digits of the hash: enough to tell tokens apart, useless as a credential.
  std::string id() const { return hash.substr(0, kTokenIdDigits); }
  bool live(int64_t now_ms) const {
    return revoked_unix_ms == 0 && (expires_unix_ms == 0 || now_ms < expires_unix_ms);
  }
  static constexpr size_t kTokenIdDigits = 12;
};

// Where one part of a task's inputs comes from, and how its paths are mapped into the task's
// folder. `from` selects paths: "" = every path, "dir/" = paths under dir/ (the prefix is
// replaced by `to`), "*" = the only file of a one-file source (renamed to `to`), anything else =
// that exact path (renamed to `to`). With `from` "" the path is prefixed with `to`.
struct InputSource {
  enum Kind { kDataset = 0, kTaskOutputs = 1 };
  Kind kind = kDataset;
  std::string id;  // dataset id or task id
  std::string from;
  std::string to;
};

// A task as stored: the wire Task (spec left empty; it is the job's) plus what the scheduler
// needs to pick and feed it.
struct TaskRecord {
  proto::Task task;
  proto::WorkerRole role = proto::WORKER_ROLE_UNSPECIFIED;
  int priority = 0;
  int64_t job_seq = 0;  // the job's submission order, for FIFO within a priority
  bool final = false;   // its outputs are the job's artifacts
  std::vector<InputSource> sources;
};

// A worker as stored (the live heartbeat time is kept in memory by the scheduler).
struct WorkerRecord {
  proto::WorkerInfo info;  // id, name, roles, cpu_threads, gpus, address
  std::string session_hash;
  int64_t registered_unix_ms = 0;
  // The hash of the join token it registered with (empty for workers registered before schema
  // version 2): revoking that token ends the worker's session.
  std::string join_hash;
};

class Store {
 public:
  // Opens or creates the database at `path` and brings its schema up to date.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);

  // Runs `body` as one atomic, durable unit: a failing body changes nothing; when this returns
  // OK the change is on disk. Concurrent transactions share one disk flush (group commit).
  // Must not be called from inside another Transaction's body.
  absl::Status Transaction(const std::function<absl::Status()>& body);

  // --- tokens --------------------------------------------------------------------------------
  // A hash is the primary key: the same token cannot be added twice.
  absl::Status AddToken(const TokenRecord& token);
  absl::Status AddUserToken(const std::string& user, const std::string& token_hash,
                            int64_t now_ms) {
    return AddToken({token_hash, TokenKind::kUser, user, now_ms, 0, 0});
  }
  absl::Status AddJoinToken(const std::string& token_hash, int64_t now_ms) {
    return AddToken({token_hash, TokenKind::kJoin, "", now_ms, 0, 0});
  }
  // The token with this hash, live or not; nullopt when it was never issued.
  absl::StatusOr<std::optional<TokenRecord>> GetToken(const std::string& token_hash);
  // Tokens of one kind, oldest first.
  absl::StatusOr<std::vector<TokenRecord>> ListTokens(TokenKind kind);
  // Marks revoked, at `now_ms`, the tokens of `kind` not revoked yet whose id starts with
  // `id_prefix` (when not empty) and that belong to `user` (when not empty). Returns them.
  absl::StatusOr<std::vector<TokenRecord>> RevokeTokens(TokenKind kind,
                                                        const std::string& id_prefix,
                                                        const std::string& user, int64_t now_ms);

  // --- workers -------------------------------------------------------------------------------
  absl::Status PutWorker(const WorkerRecord& worker);
  absl::StatusOr<std::optional<WorkerRecord>> GetWorker(const std::string& id);
  absl::StatusOr<std::optional<WorkerRecord>> WorkerForSession(const std::string& session_hash);
  absl::StatusOr<std::vector<WorkerRecord>> ListWorkers();

  // --- datasets ------------------------------------------------------------------------------
  // Records `dataset` for dataset.owner(); re-recording the same id for the same owner updates
  // its name only (the content is the id).
  absl::Status PutDataset(const proto::Dataset& dataset);
  absl::StatusOr<std::optional<proto::Dataset>> GetDataset(const std::string& owner,
                                                           const std::string& id);
  // Files of a dataset regardless of owner (for the scheduler: the job's owner was checked).
  absl::StatusOr<std::vector<proto::FileEntry>> DatasetFiles(const std::string& id);
  absl::StatusOr<std::vector<proto::Dataset>> ListDatasets(const std::string& owner);
  // Removes `owner`'s record of the dataset, and its file list once no owner has it. NOT_FOUND
  // when the owner has no such dataset. Call it inside a Transaction (two statements).
  absl::Status DeleteDataset(const std::string& owner, const std::string& id);
  // The bytes of all of `owner`'s datasets.
  absl::StatusOr<int64_t> DatasetBytes(const std::string& owner);
  // Every blob something still points at: dataset files, task outputs, the inputs of tasks that
  // may still run, previews.
  absl::StatusOr<std::set<std::string>> ReferencedBlobs();

  // --- jobs ----------------------------------------------------------------------------------
  // Inserts a job (without tasks/artifacts) and returns its submission sequence number.
  absl::StatusOr<int64_t> InsertJob(const proto::Job& job);
  // Updates state, timestamps and error.
  absl::Status UpdateJob(const proto::Job& job);
  // The job without tasks or artifacts; nullopt when unknown.
  absl::StatusOr<std::optional<proto::Job>> GetJob(const std::string& id);
  // Newest first. `owner` empty = every owner; `state` unspecified = every state; limit <= 0 = all.
  absl::StatusOr<std::vector<proto::Job>> ListJobs(const std::string& owner, proto::JobState state,
                                                   int limit);
  // `owner` empty = every owner.
  absl::StatusOr<std::vector<std::pair<proto::JobState, int64_t>>> CountJobsByState(
      const std::string& owner = "");

  // --- tasks ---------------------------------------------------------------------------------
  absl::Status InsertTask(const TaskRecord& task);
  // Updates the mutable fields: state, attempt, worker, lease, error, progress, inputs, outputs.
  absl::Status UpdateTask(const TaskRecord& task);
  absl::StatusOr<std::optional<TaskRecord>> GetTask(const std::string& id);
  absl::StatusOr<std::vector<TaskRecord>> TasksOfJob(const std::string& job_id);
  // What the job's state roll-up needs, in two aggregate queries instead of loading every task.
  struct JobTaskSummary {
    int64_t total = 0;
    int64_t succeeded = 0;
    int64_t started = 0;       // leased, succeeded, or leased before
    std::string first_failed;  // id of the first failed task, empty when none
    double progress = 0;       // mean over tasks (succeeded = 1)
  };
  absl::StatusOr<JobTaskSummary> SummarizeJob(const std::string& job_id);
  // The job's succeeded final tasks (their outputs are the artifacts).
  absl::StatusOr<std::vector<TaskRecord>> FinishedFinalTasks(const std::string& job_id);
  // The next pending task whose dependencies all succeeded and whose role is in `roles`:
  // highest priority first, then oldest job, then task order. nullopt when none.
  absl::StatusOr<std::optional<TaskRecord>> NextReadyTask(
      const std::vector<proto::WorkerRole>& roles);
  // Leased tasks whose lease expired at `now_ms`.
  absl::StatusOr<std::vector<TaskRecord>> ExpiredLeases(int64_t now_ms);
  absl::StatusOr<std::vector<std::string>> TasksLeasedBy(const std::string& worker_id);
  absl::StatusOr<int64_t> CountTasksInState(proto::TaskState state);
  // Only updates the lease expiry (the hot path of heartbeats).
  absl::Status SetLeaseExpiry(const std::string& task_id, int64_t expires_unix_ms);

  // --- small named values (e.g. a training job's generation counter) ------------------------
  // nullopt when `key` was never put. Keys starting with "schema" are reserved.
  absl::StatusOr<std::optional<std::string>> GetMeta(const std::string& key);
  absl::Status PutMeta(const std::string& key, const std::string& value);

  // --- events --------------------------------------------------------------------------------
  // Appends `event` to its job's log, assigning the next sequence number (returned, and set in
  // the event).
  absl::StatusOr<int64_t> AppendEvent(proto::JobEvent* event);
  absl::StatusOr<std::vector<proto::JobEvent>> EventsAfter(const std::string& job_id,
                                                           int64_t after_sequence, int limit);

  // --- previews (the latest training preview per job) ----------------------------------------
  absl::Status PutPreview(const proto::JobPreview& preview);
  absl::StatusOr<std::optional<proto::JobPreview>> GetPreview(const std::string& job_id);

 private:
  explicit Store(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Migrate();
  // 0 for a new (empty) database; FAILED_PRECONDITION for an unknown version.
  absl::StatusOr<int> SchemaVersion();
  absl::Status MigrateFromV1();
  absl::StatusOr<std::vector<TaskRecord>> QueryTasks(const std::string& where,
                                                     const std::vector<std::string>& args);
  absl::Status LoadTaskDetails(TaskRecord* task);
  absl::Status PutDatasetRows(const proto::Dataset& dataset);

  std::recursive_mutex mu_;  // the connection, and the batch state below
  std::unique_ptr<SqliteDb> db_;
  // Group commit (see Transaction).
  std::atomic<int> waiting_{0};
  std::condition_variable_any batch_done_;
  bool batch_open_ = false;
  int64_t batch_seq_ = 0;
  int64_t committed_seq_ = 0;
  int batch_size_ = 0;
  absl::Status commit_status_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_STORE_H_
