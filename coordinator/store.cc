// The coordinator's SQLite schema and typed queries.
#include "coordinator/store.h"

#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

// The schema (version kStoreSchemaVersion) of a new database. Protos that only the coordinator
// reads back whole (job specs, worker infos, file lists, events) are stored serialized;
// everything the scheduler queries on is a column. Columns that a migration added carry the
// same DEFAULT here, so a migrated database and a new one have the same tables.
const char kSchema[] = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tokens(
  hash TEXT PRIMARY KEY, kind INTEGER NOT NULL, user TEXT NOT NULL, created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL);
CREATE TABLE workers(
  id TEXT PRIMARY KEY, session_hash TEXT NOT NULL, info BLOB NOT NULL,
  registered_ms INTEGER NOT NULL, join_hash TEXT NOT NULL DEFAULT '');
CREATE INDEX workers_session ON workers(session_hash);
CREATE TABLE datasets(
  owner TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, total_bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, media BLOB NOT NULL DEFAULT x'', PRIMARY KEY(owner, id));
CREATE TABLE dataset_files(
  dataset_id TEXT NOT NULL, ord INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
  sha256 TEXT NOT NULL, PRIMARY KEY(dataset_id, ord));
CREATE TABLE jobs(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,
  spec BLOB NOT NULL, state INTEGER NOT NULL, priority INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,
  error TEXT NOT NULL);
CREATE INDEX jobs_owner ON jobs(owner, seq);
CREATE TABLE tasks(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, job_id TEXT NOT NULL,
  kind INTEGER NOT NULL, role INTEGER NOT NULL, state INTEGER NOT NULL,
  priority INTEGER NOT NULL, job_seq INTEGER NOT NULL, frame_begin INTEGER NOT NULL,
  frame_end INTEGER NOT NULL, attempt INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
  worker_id TEXT NOT NULL, lease_expires_ms INTEGER NOT NULL, error TEXT NOT NULL,
  progress REAL NOT NULL, inputs BLOB NOT NULL, outputs BLOB NOT NULL, final INTEGER NOT NULL);
CREATE INDEX tasks_queue ON tasks(state, priority DESC, job_seq, seq);
CREATE INDEX tasks_job ON tasks(job_id, seq);
CREATE INDEX tasks_worker ON tasks(worker_id, state);
CREATE TABLE task_deps(
  task_id TEXT NOT NULL, ord INTEGER NOT NULL, dep_id TEXT NOT NULL, PRIMARY KEY(task_id, ord));
CREATE INDEX task_deps_dep ON task_deps(dep_id);
CREATE TABLE task_sources(
  task_id TEXT NOT NULL, ord INTEGER NOT NULL, kind INTEGER NOT NULL, source_id TEXT NOT NULL,
  from_pattern TEXT NOT NULL, to_pattern TEXT NOT NULL, PRIMARY KEY(task_id, ord));
CREATE TABLE events(
  job_id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(job_id, seq));
CREATE TABLE job_previews(job_id TEXT PRIMARY KEY, preview BLOB NOT NULL);
)sql";

// Version 1 -> 2, the part SQL can do (file lists are re-encoded in MigrateFromV1).
const char kMigrateV1ToV2[] = R"sql(
CREATE TABLE tokens(
  hash TEXT PRIMARY KEY, kind INTEGER NOT NULL, user TEXT NOT NULL, created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL);
INSERT INTO tokens SELECT hash, 1, user, created_ms, 0, 0 FROM user_tokens;
INSERT INTO tokens SELECT hash, 2, '', created_ms, 0, 0 FROM join_tokens;
DROP TABLE user_tokens;
DROP TABLE join_tokens;
ALTER TABLE workers ADD COLUMN join_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE datasets ADD COLUMN media BLOB NOT NULL DEFAULT x'';
CREATE TABLE IF NOT EXISTS job_previews(job_id TEXT PRIMARY KEY, preview BLOB NOT NULL);
)sql";

const char kTaskColumns[] =
    "id, job_id, kind, role, state, priority, job_seq, frame_begin, frame_end, attempt, "
    "max_attempts, worker_id, lease_expires_ms, error, progress, inputs, outputs, final";

std::string SerializeFiles(const google::protobuf::RepeatedPtrField<proto::FileEntry>& files) {
  proto::FileList list;
  *list.mutable_files() = files;
  return list.SerializeAsString();
}

absl::Status ParseFiles(const std::string& bytes, const std::string& what,
                        google::protobuf::RepeatedPtrField<proto::FileEntry>* files) {
  proto::FileList list;
  if (!list.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("the stored file list of ", what, " is corrupt"));
  }
  *files = std::move(*list.mutable_files());
  return absl::OkStatus();
}

TokenRecord ReadTokenRow(const SqliteStatement& row) {
  // Columns: hash, kind, user, created_ms, expires_ms, revoked_ms
  return TokenRecord{row.Text(0), static_cast<TokenKind>(row.Int(1)),
                     row.Text(2), row.Int(3),
                     row.Int(4),  row.Int(5)};
}

const char kTokenColumns[] = "hash, kind, user, created_ms, expires_ms, revoked_ms";
const char kWorkerColumns[] = "id, info, session_hash, registered_ms, join_hash";
const char kDatasetColumns[] = "owner, id, name, total_bytes, created_ms, media";

absl::StatusOr<TaskRecord> ReadTaskRow(const SqliteStatement& row) {
  TaskRecord record;
  proto::Task& task = record.task;
  task.set_id(row.Text(0));
  task.set_job_id(row.Text(1));
  task.set_kind(static_cast<proto::TaskKind>(row.Int(2)));
  record.role = static_cast<proto::WorkerRole>(row.Int(3));
  task.set_state(static_cast<proto::TaskState>(row.Int(4)));
  record.priority = static_cast<int>(row.Int(5));
  record.job_seq = row.Int(6);
  task.set_frame_begin(row.Int(7));
  task.set_frame_end(row.Int(8));
  task.set_attempt(static_cast<int>(row.Int(9)));
  task.set_max_attempts(static_cast<int>(row.Int(10)));
  task.set_worker_id(row.Text(11));
  task.set_lease_expires_unix_ms(row.Int(12));
  task.set_error(row.Text(13));
  task.set_progress(row.Double(14));
  FSC_RETURN_IF_ERROR(ParseFiles(row.Text(15), "task " + task.id(), task.mutable_inputs()));
  FSC_RETURN_IF_ERROR(ParseFiles(row.Text(16), "task " + task.id(), task.mutable_outputs()));
  record.final = row.Int(17) != 0;
  return record;
}

absl::StatusOr<proto::Job> ReadJobRow(const SqliteStatement& row) {
  // Columns: id, owner, spec, state, created_ms, started_ms, finished_ms, error
  proto::Job job;
  job.set_version(1);
  job.set_id(row.Text(0));
  job.set_owner(row.Text(1));
  if (!job.mutable_spec()->ParseFromString(row.Text(2))) {
    return absl::DataLossError(absl::StrCat("the stored spec of job ", job.id(), " is corrupt"));
  }
  job.set_state(static_cast<proto::JobState>(row.Int(3)));
  job.set_created_unix_ms(row.Int(4));
  job.set_started_unix_ms(row.Int(5));
  job.set_finished_unix_ms(row.Int(6));
  job.set_error(row.Text(7));
  return job;
}

const char kJobColumns[] = "id, owner, spec, state, created_ms, started_ms, finished_ms, error";

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  std::unique_ptr<Store> store(new Store(std::move(db)));
  FSC_RETURN_IF_ERROR(store->Migrate());
  return store;
}

absl::Status Store::Migrate() {
  return Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(int version, SchemaVersion());
    if (version == kStoreSchemaVersion) return absl::OkStatus();
    if (version == 0) FSC_RETURN_IF_ERROR(db_->Exec(kSchema));
    if (version == 1) FSC_RETURN_IF_ERROR(MigrateFromV1());
    FSC_ASSIGN_OR_RETURN(
        SqliteStatement put,
        db_->Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?)"));
    return put.Bind(1, absl::StrCat(kStoreSchemaVersion)).Run();
  });
}

absl::StatusOr<int> Store::SchemaVersion() {
  // The statements are gone when this returns: a pending one would keep a migration from
  // dropping tables.
  FSC_ASSIGN_OR_RETURN(SqliteStatement has_meta,
                       db_->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                    "name = 'meta'"));
  FSC_ASSIGN_OR_RETURN(bool existing, has_meta.Step());
  if (!existing) return 0;  // a new database
  FSC_ASSIGN_OR_RETURN(SqliteStatement get,
                       db_->Prepare("SELECT value FROM meta WHERE key='schema_version'"));
  FSC_ASSIGN_OR_RETURN(bool has, get.Step());
  const int version = has ? std::atoi(get.Text(0).c_str()) : 0;
  if (version < 1 || version > kStoreSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database '", db_->path(), "' has schema version ",
                     has ? get.Text(0) : "(none)", " but this fsc-coordinator knows 1 to ",
                     kStoreSchemaVersion, version > 1 ? "; run a newer fsc-coordinator" : ""));
  }
  return version;
}

absl::Status Store::MigrateFromV1() {
  FSC_RETURN_IF_ERROR(db_->Exec(kMigrateV1ToV2));
  // Version 1 stored each file list as a serialized Task holding only `inputs`.
  FSC_ASSIGN_OR_RETURN(SqliteStatement tasks,
                       db_->Prepare("SELECT id, inputs, outputs FROM tasks ORDER BY seq"));
  std::vector<std::tuple<std::string, std::string, std::string>> rewritten;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, tasks.Step());
    if (!has) break;
    std::string encoded[2];
    for (int column = 1; column <= 2; ++column) {
      proto::Task holder;
      if (!holder.ParseFromString(tasks.Text(column))) {
        return absl::DataLossError(absl::StrCat("migrating '", db_->path(),
                                                "': the stored file list of task ", tasks.Text(0),
                                                " is corrupt"));
      }
      encoded[column - 1] = SerializeFiles(holder.inputs());
    }
    rewritten.emplace_back(tasks.Text(0), std::move(encoded[0]), std::move(encoded[1]));
  }
  for (const auto& [id, inputs, outputs] : rewritten) {
    FSC_ASSIGN_OR_RETURN(SqliteStatement put,
                         db_->Prepare("UPDATE tasks SET inputs = ?, outputs = ? WHERE id = ?"));
    FSC_RETURN_IF_ERROR(put.BindBlob(1, inputs).BindBlob(2, outputs).Bind(3, id).Run());
  }
  return absl::OkStatus();
}

absl::Status Store::Transaction(const std::function<absl::Status()>& body) {
  // Group commit. With synchronous=FULL every COMMIT waits for the disk, which bounds the
  // coordinator at one decision per flush. So logical transactions are savepoints inside one
  // physical transaction: the thread that opens it (the leader) lets the threads already queued
  // add theirs, then commits all of them with one flush. Nobody returns before the flush that
  // makes their change durable, so every acknowledged decision survives a kill -9.
  // A nested call would wait for the commit of its own batch forever; refuse it instead.
  thread_local int depth = 0;
  if (depth > 0) {
    return absl::InternalError("Store::Transaction called inside a transaction (a bug)");
  }
  struct DepthGuard {
    int& depth;
    explicit DepthGuard(int& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
  } guard(depth);
  waiting_.fetch_add(1);
  std::unique_lock<std::recursive_mutex> lock(mu_);
  waiting_.fetch_sub(1);
  bool leader = !batch_open_;
  if (leader) {
    FSC_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    batch_open_ = true;
    ++batch_seq_;
    batch_size_ = 0;
  }
  int64_t mine = batch_seq_;
  ++batch_size_;
  absl::Status status = db_->Exec("SAVEPOINT fsc_tx");
  if (status.ok()) {
    status = body();
    if (status.ok()) {
      status = db_->Exec("RELEASE fsc_tx");
    } else {
      // Undo this body only; the others in the batch stand.
      db_->Exec("ROLLBACK TO fsc_tx").IgnoreError();
      db_->Exec("RELEASE fsc_tx").IgnoreError();
    }
  }
  if (!leader) {
    batch_done_.wait(lock, [&] { return committed_seq_ >= mine; });
    return status.ok() ? commit_status_ : status;
  }
  // Let the threads waiting for the lock join this batch (bounded, so the leader's caller is not
  // starved under constant load).
  for (int round = 0; round < 64 && waiting_.load() > 0 && batch_size_ < 256; ++round) {
    lock.unlock();
    std::this_thread::yield();
    lock.lock();
  }
  absl::Status commit = db_->Exec("COMMIT");
  if (!commit.ok()) db_->Exec("ROLLBACK").IgnoreError();
  batch_open_ = false;
  committed_seq_ = mine;
  commit_status_ = commit;
  batch_done_.notify_all();
  return status.ok() ? commit : status;
}

// --- users, tokens ---------------------------------------------------------------------------

absl::Status Store::AddToken(const TokenRecord& token) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare(absl::StrCat("INSERT INTO tokens(", kTokenColumns,
                                                 ") VALUES(?, ?, ?, ?, ?, ?)")));
  return stmt.Bind(1, token.hash)
      .Bind(2, static_cast<int64_t>(token.kind))
      .Bind(3, token.user)
      .Bind(4, token.created_unix_ms)
      .Bind(5, token.expires_unix_ms)
      .Bind(6, token.revoked_unix_ms)
      .Run();
}

absl::StatusOr<std::optional<TokenRecord>> Store::GetToken(const std::string& token_hash) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare(absl::StrCat("SELECT ", kTokenColumns, " FROM tokens WHERE hash = ?")));
  stmt.Bind(1, token_hash);
  FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
  if (!has) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(ReadTokenRow(stmt));
}

absl::StatusOr<std::vector<TokenRecord>> Store::ListTokens(TokenKind kind) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare(absl::StrCat("SELECT ", kTokenColumns,
                                                 " FROM tokens WHERE kind = ? "
                                                 "ORDER BY created_ms, hash")));
  stmt.Bind(1, static_cast<int64_t>(kind));
  std::vector<TokenRecord> tokens;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    tokens.push_back(ReadTokenRow(stmt));
  }
  return tokens;
}

absl::StatusOr<std::vector<TokenRecord>> Store::RevokeTokens(TokenKind kind,
                                                             const std::string& id_prefix,
                                                             const std::string& user,
                                                             int64_t now_ms) {
  std::vector<TokenRecord> revoked;
  FSC_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens, ListTokens(kind));
    for (TokenRecord& token : tokens) {
      if (token.revoked_unix_ms != 0 || token.hash.rfind(id_prefix, 0) != 0 ||
          (!user.empty() && token.user != user)) {
        continue;
      }
      FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                           db_->Prepare("UPDATE tokens SET revoked_ms = ? WHERE hash = ?"));
      FSC_RETURN_IF_ERROR(stmt.Bind(1, now_ms).Bind(2, token.hash).Run());
      token.revoked_unix_ms = now_ms;
      revoked.push_back(std::move(token));
    }
    return absl::OkStatus();
  }));
  return revoked;
}

// --- workers ---------------------------------------------------------------------------------

absl::Status Store::PutWorker(const WorkerRecord& worker) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare(absl::StrCat("INSERT OR REPLACE INTO workers(", kWorkerColumns,
                                                 ") VALUES(?, ?, ?, ?, ?)")));
  return stmt.Bind(1, worker.info.id())
      .BindBlob(2, worker.info.SerializeAsString())
      .Bind(3, worker.session_hash)
      .Bind(4, worker.registered_unix_ms)
      .Bind(5, worker.join_hash)
      .Run();
}

namespace {
absl::StatusOr<std::vector<WorkerRecord>> ReadWorkers(SqliteStatement& stmt) {
  std::vector<WorkerRecord> workers;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    WorkerRecord record;
    if (!record.info.ParseFromString(stmt.Text(1))) {
      return absl::DataLossError(absl::StrCat("the stored worker ", stmt.Text(0), " is corrupt"));
    }
    record.session_hash = stmt.Text(2);
    record.registered_unix_ms = stmt.Int(3);
    record.join_hash = stmt.Text(4);
    workers.push_back(std::move(record));
  }
  return workers;
}
}  // namespace

absl::StatusOr<std::optional<WorkerRecord>> Store::GetWorker(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare(absl::StrCat("SELECT ", kWorkerColumns, " FROM workers WHERE id = ?")));
  stmt.Bind(1, id);
  FSC_ASSIGN_OR_RETURN(std::vector<WorkerRecord> workers, ReadWorkers(stmt));
  if (workers.empty()) return std::optional<WorkerRecord>();
  return std::optional<WorkerRecord>(std::move(workers[0]));
}

absl::StatusOr<std::optional<WorkerRecord>> Store::WorkerForSession(
    const std::string& session_hash) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare(absl::StrCat("SELECT ", kWorkerColumns,
                                                 " FROM workers WHERE session_hash = ?")));
  stmt.Bind(1, session_hash);
  FSC_ASSIGN_OR_RETURN(std::vector<WorkerRecord> workers, ReadWorkers(stmt));
  if (workers.empty()) return std::optional<WorkerRecord>();
  return std::optional<WorkerRecord>(std::move(workers[0]));
}

absl::StatusOr<std::vector<WorkerRecord>> Store::ListWorkers() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare(absl::StrCat("SELECT ", kWorkerColumns, " FROM workers ORDER BY id")));
  return ReadWorkers(stmt);
}

// --- datasets --------------------------------------------------------------------------------

absl::Status Store::PutDataset(const proto::Dataset& dataset) {
  return Transaction([&] { return PutDatasetRows(dataset); });
}

absl::Status Store::PutDatasetRows(const proto::Dataset& dataset) {
  FSC_ASSIGN_OR_RETURN(SqliteStatement exists,
                       db_->Prepare("SELECT COUNT(*) FROM dataset_files WHERE dataset_id = ?"));
  exists.Bind(1, dataset.id());
  FSC_RETURN_IF_ERROR(exists.Step().status());
  if (exists.Int(0) == 0) {
    for (int i = 0; i < dataset.files_size(); ++i) {
      const proto::FileEntry& file = dataset.files(i);
      FSC_ASSIGN_OR_RETURN(SqliteStatement put,
                           db_->Prepare("INSERT INTO dataset_files(dataset_id, ord, path, size, "
                                        "sha256) VALUES(?, ?, ?, ?, ?)"));
      FSC_RETURN_IF_ERROR(put.Bind(1, dataset.id())
                              .Bind(2, int64_t{i})
                              .Bind(3, file.path())
                              .Bind(4, file.size())
                              .Bind(5, file.sha256())
                              .Run());
    }
  }
  // Uploading the same content again renames it, and a new declaration of its media replaces
  // the old one (an upload from before declarations existed gets one).
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare(absl::StrCat(
          "INSERT INTO datasets(", kDatasetColumns,
          ") VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(owner, id) DO UPDATE SET name = excluded.name, "
          "media = CASE WHEN length(excluded.media) > 0 THEN excluded.media ELSE media END")));
  return stmt.Bind(1, dataset.owner())
      .Bind(2, dataset.id())
      .Bind(3, dataset.name())
      .Bind(4, dataset.total_bytes())
      .Bind(5, dataset.created_unix_ms())
      .BindBlob(6, dataset.has_media() ? dataset.media().SerializeAsString() : "")
      .Run();
}

absl::StatusOr<std::vector<proto::FileEntry>> Store::DatasetFiles(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare("SELECT path, size, sha256 FROM dataset_files WHERE "
                                    "dataset_id = ? ORDER BY ord"));
  stmt.Bind(1, id);
  std::vector<proto::FileEntry> files;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    proto::FileEntry file;
    file.set_path(stmt.Text(0));
    file.set_size(stmt.Int(1));
    file.set_sha256(stmt.Text(2));
    files.push_back(std::move(file));
  }
  return files;
}

namespace {
absl::StatusOr<std::vector<proto::Dataset>> ReadDatasets(SqliteStatement& stmt) {
  std::vector<proto::Dataset> datasets;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    proto::Dataset dataset;
    dataset.set_version(1);
    dataset.set_owner(stmt.Text(0));
    dataset.set_id(stmt.Text(1));
    dataset.set_name(stmt.Text(2));
    dataset.set_total_bytes(stmt.Int(3));
    dataset.set_created_unix_ms(stmt.Int(4));
    const std::string media = stmt.Text(5);
    if (!media.empty() && !dataset.mutable_media()->ParseFromString(media)) {
      return absl::DataLossError(
          absl::StrCat("the stored media of dataset ", dataset.id(), " is corrupt"));
    }
    datasets.push_back(std::move(dataset));
  }
  return datasets;
}
}  // namespace

absl::StatusOr<std::optional<proto::Dataset>> Store::GetDataset(const std::string& owner,
                                                                const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare(absl::StrCat("SELECT ", kDatasetColumns,
                                                 " FROM datasets WHERE owner = ? AND id = ?")));
  stmt.Bind(1, owner).Bind(2, id);
  FSC_ASSIGN_OR_RETURN(std::vector<proto::Dataset> datasets, ReadDatasets(stmt));
  if (datasets.empty()) return std::optional<proto::Dataset>();
  FSC_ASSIGN_OR_RETURN(std::vector<proto::FileEntry> files, DatasetFiles(id));
  for (proto::FileEntry& file : files) *datasets[0].add_files() = std::move(file);
  return std::optional<proto::Dataset>(std::move(datasets[0]));
}

absl::StatusOr<std::vector<proto::Dataset>> Store::ListDatasets(const std::string& owner) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare(absl::StrCat("SELECT ", kDatasetColumns,
                                                 " FROM datasets WHERE owner = ? "
                                                 "ORDER BY created_ms, id")));
  stmt.Bind(1, owner);
  FSC_ASSIGN_OR_RETURN(std::vector<proto::Dataset> datasets, ReadDatasets(stmt));
  for (proto::Dataset& dataset : datasets) {
    FSC_ASSIGN_OR_RETURN(std::vector<proto::FileEntry> files, DatasetFiles(dataset.id()));
    for (proto::FileEntry& file : files) *dataset.add_files() = std::move(file);
  }
  return datasets;
}

absl::Status Store::DeleteDataset(const std::string& owner, const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement remove,
                       db_->Prepare("DELETE FROM datasets WHERE owner = ? AND id = ?"));
  FSC_RETURN_IF_ERROR(remove.Bind(1, owner).Bind(2, id).Run());
  if (db_->Changes() != 1) return absl::NotFoundError("no dataset " + id + " of " + owner);
  // The file list is shared by every owner of the same content.
  FSC_ASSIGN_OR_RETURN(SqliteStatement files,
                       db_->Prepare("DELETE FROM dataset_files WHERE dataset_id = ? AND NOT "
                                    "EXISTS (SELECT 1 FROM datasets WHERE id = ?)"));
  return files.Bind(1, id).Bind(2, id).Run();
}

absl::StatusOr<int64_t> Store::DatasetBytes(const std::string& owner) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare("SELECT COALESCE(SUM(total_bytes), 0) FROM datasets WHERE owner = ?"));
  stmt.Bind(1, owner);
  FSC_RETURN_IF_ERROR(stmt.Step().status());
  return stmt.Int(0);
}

absl::StatusOr<std::set<std::string>> Store::ReferencedBlobs() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::set<std::string> referenced;
  FSC_ASSIGN_OR_RETURN(SqliteStatement files,
                       db_->Prepare("SELECT DISTINCT sha256 FROM dataset_files"));
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, files.Step());
    if (!has) break;
    referenced.insert(files.Text(0));
  }
  // A finished task's inputs are history: they pin nothing (its outputs do).
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement tasks,
      db_->Prepare(absl::StrCat("SELECT id, outputs, state IN (", int{proto::TASK_PENDING}, ", ",
                                int{proto::TASK_LEASED}, "), inputs FROM tasks")));
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, tasks.Step());
    if (!has) break;
    for (int column : {1, 3}) {
      if (column == 3 && tasks.Int(2) == 0) continue;
      google::protobuf::RepeatedPtrField<proto::FileEntry> list;
      FSC_RETURN_IF_ERROR(ParseFiles(tasks.Text(column), "task " + tasks.Text(0), &list));
      for (const proto::FileEntry& file : list) referenced.insert(file.sha256());
    }
  }
  FSC_ASSIGN_OR_RETURN(SqliteStatement previews, db_->Prepare("SELECT preview FROM job_previews"));
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, previews.Step());
    if (!has) break;
    proto::JobPreview preview;
    if (!preview.ParseFromString(previews.Text(0))) {
      return absl::DataLossError("a stored job preview is corrupt");
    }
    referenced.insert(preview.png().sha256());
  }
  return referenced;
}

// --- jobs ------------------------------------------------------------------------------------

absl::StatusOr<int64_t> Store::InsertJob(const proto::Job& job) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare("INSERT INTO jobs(id, owner, spec, state, priority, created_ms, started_ms, "
                   "finished_ms, error) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  FSC_RETURN_IF_ERROR(stmt.Bind(1, job.id())
                          .Bind(2, job.owner())
                          .BindBlob(3, job.spec().SerializeAsString())
                          .Bind(4, int64_t{job.state()})
                          .Bind(5, int64_t{job.spec().priority()})
                          .Bind(6, job.created_unix_ms())
                          .Bind(7, job.started_unix_ms())
                          .Bind(8, job.finished_unix_ms())
                          .Bind(9, job.error())
                          .Run());
  FSC_ASSIGN_OR_RETURN(SqliteStatement seq, db_->Prepare("SELECT last_insert_rowid()"));
  FSC_RETURN_IF_ERROR(seq.Step().status());
  return seq.Int(0);
}

absl::Status Store::UpdateJob(const proto::Job& job) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare("UPDATE jobs SET state = ?, started_ms = ?, finished_ms = ?, "
                                    "error = ? WHERE id = ?"));
  FSC_RETURN_IF_ERROR(stmt.Bind(1, int64_t{job.state()})
                          .Bind(2, job.started_unix_ms())
                          .Bind(3, job.finished_unix_ms())
                          .Bind(4, job.error())
                          .Bind(5, job.id())
                          .Run());
  if (db_->Changes() != 1) return absl::NotFoundError("no job " + job.id());
  return absl::OkStatus();
}

absl::StatusOr<std::optional<proto::Job>> Store::GetJob(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt, db_->Prepare(absl::StrCat("SELECT ", kJobColumns,
                                                                       " FROM jobs WHERE id = ?")));
  stmt.Bind(1, id);
  FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
  if (!has) return std::optional<proto::Job>();
  FSC_ASSIGN_OR_RETURN(proto::Job job, ReadJobRow(stmt));
  return std::optional<proto::Job>(std::move(job));
}

absl::StatusOr<std::vector<proto::Job>> Store::ListJobs(const std::string& owner,
                                                        proto::JobState state, int limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::string sql = absl::StrCat("SELECT ", kJobColumns,
                                 " FROM jobs WHERE (? = '' OR owner = ?) AND (? = 0 OR state = ?) "
                                 "ORDER BY seq DESC LIMIT ?");
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt, db_->Prepare(sql));
  stmt.Bind(1, owner).Bind(2, owner).Bind(3, int64_t{state}).Bind(4, int64_t{state});
  stmt.Bind(5, limit > 0 ? int64_t{limit} : int64_t{-1});
  std::vector<proto::Job> jobs;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    FSC_ASSIGN_OR_RETURN(proto::Job job, ReadJobRow(stmt));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::StatusOr<std::vector<std::pair<proto::JobState, int64_t>>> Store::CountJobsByState(
    const std::string& owner) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare("SELECT state, COUNT(*) FROM jobs WHERE ? = '' OR owner = ? GROUP BY state"));
  stmt.Bind(1, owner).Bind(2, owner);
  std::vector<std::pair<proto::JobState, int64_t>> counts;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    counts.emplace_back(static_cast<proto::JobState>(stmt.Int(0)), stmt.Int(1));
  }
  return counts;
}

// --- tasks -----------------------------------------------------------------------------------

absl::Status Store::InsertTask(const TaskRecord& record) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const proto::Task& task = record.task;
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare(absl::StrCat("INSERT INTO tasks(", kTaskColumns,
                                ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")));
  FSC_RETURN_IF_ERROR(stmt.Bind(1, task.id())
                          .Bind(2, task.job_id())
                          .Bind(3, int64_t{task.kind()})
                          .Bind(4, int64_t{record.role})
                          .Bind(5, int64_t{task.state()})
                          .Bind(6, int64_t{record.priority})
                          .Bind(7, record.job_seq)
                          .Bind(8, task.frame_begin())
                          .Bind(9, task.frame_end())
                          .Bind(10, int64_t{task.attempt()})
                          .Bind(11, int64_t{task.max_attempts()})
                          .Bind(12, task.worker_id())
                          .Bind(13, task.lease_expires_unix_ms())
                          .Bind(14, task.error())
                          .BindDouble(15, task.progress())
                          .BindBlob(16, SerializeFiles(task.inputs()))
                          .BindBlob(17, SerializeFiles(task.outputs()))
                          .Bind(18, int64_t{record.final ? 1 : 0})
                          .Run());
  for (int i = 0; i < task.depends_on_size(); ++i) {
    FSC_ASSIGN_OR_RETURN(
        SqliteStatement dep,
        db_->Prepare("INSERT INTO task_deps(task_id, ord, dep_id) VALUES(?, ?, ?)"));
    FSC_RETURN_IF_ERROR(
        dep.Bind(1, task.id()).Bind(2, int64_t{i}).Bind(3, task.depends_on(i)).Run());
  }
  for (size_t i = 0; i < record.sources.size(); ++i) {
    const InputSource& source = record.sources[i];
    FSC_ASSIGN_OR_RETURN(SqliteStatement put,
                         db_->Prepare("INSERT INTO task_sources(task_id, ord, kind, source_id, "
                                      "from_pattern, to_pattern) VALUES(?, ?, ?, ?, ?, ?)"));
    FSC_RETURN_IF_ERROR(put.Bind(1, task.id())
                            .Bind(2, static_cast<int64_t>(i))
                            .Bind(3, int64_t{source.kind})
                            .Bind(4, source.id)
                            .Bind(5, source.from)
                            .Bind(6, source.to)
                            .Run());
  }
  return absl::OkStatus();
}

absl::Status Store::UpdateTask(const TaskRecord& record) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const proto::Task& task = record.task;
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare("UPDATE tasks SET state = ?, attempt = ?, worker_id = ?, lease_expires_ms = ?, "
                   "error = ?, progress = ?, inputs = ?, outputs = ? WHERE id = ?"));
  FSC_RETURN_IF_ERROR(stmt.Bind(1, int64_t{task.state()})
                          .Bind(2, int64_t{task.attempt()})
                          .Bind(3, task.worker_id())
                          .Bind(4, task.lease_expires_unix_ms())
                          .Bind(5, task.error())
                          .BindDouble(6, task.progress())
                          .BindBlob(7, SerializeFiles(task.inputs()))
                          .BindBlob(8, SerializeFiles(task.outputs()))
                          .Bind(9, task.id())
                          .Run());
  if (db_->Changes() != 1) return absl::NotFoundError("no task " + task.id());
  return absl::OkStatus();
}

absl::Status Store::SetLeaseExpiry(const std::string& task_id, int64_t expires_unix_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare("UPDATE tasks SET lease_expires_ms = ? WHERE id = ?"));
  return stmt.Bind(1, expires_unix_ms).Bind(2, task_id).Run();
}

absl::StatusOr<std::optional<std::string>> Store::GetMeta(const std::string& key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt, db_->Prepare("SELECT value FROM meta WHERE key = ?"));
  stmt.Bind(1, key);
  FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
  if (!has) return std::optional<std::string>();
  return std::optional<std::string>(stmt.Text(0));
}

absl::Status Store::PutMeta(const std::string& key, const std::string& value) {
  if (key.rfind("schema", 0) == 0) {
    return absl::InvalidArgumentError("meta key '" + key + "' is reserved");
  }
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)"));
  return stmt.Bind(1, key).Bind(2, value).Run();
}

absl::Status Store::LoadTaskDetails(TaskRecord* record) {
  FSC_ASSIGN_OR_RETURN(SqliteStatement deps,
                       db_->Prepare("SELECT dep_id FROM task_deps WHERE task_id = ? ORDER BY ord"));
  deps.Bind(1, record->task.id());
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, deps.Step());
    if (!has) break;
    record->task.add_depends_on(deps.Text(0));
  }
  FSC_ASSIGN_OR_RETURN(SqliteStatement sources,
                       db_->Prepare("SELECT kind, source_id, from_pattern, to_pattern FROM "
                                    "task_sources WHERE task_id = ? ORDER BY ord"));
  sources.Bind(1, record->task.id());
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, sources.Step());
    if (!has) break;
    InputSource source;
    source.kind = static_cast<InputSource::Kind>(sources.Int(0));
    source.id = sources.Text(1);
    source.from = sources.Text(2);
    source.to = sources.Text(3);
    record->sources.push_back(std::move(source));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TaskRecord>> Store::QueryTasks(const std::string& tail,
                                                          const std::vector<std::string>& args) {
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare(absl::StrCat("SELECT ", kTaskColumns, " FROM tasks t ", tail)));
  for (size_t i = 0; i < args.size(); ++i) stmt.Bind(static_cast<int>(i + 1), args[i]);
  std::vector<TaskRecord> tasks;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    FSC_ASSIGN_OR_RETURN(TaskRecord record, ReadTaskRow(stmt));
    tasks.push_back(std::move(record));
  }
  for (TaskRecord& record : tasks) FSC_RETURN_IF_ERROR(LoadTaskDetails(&record));
  return tasks;
}

absl::StatusOr<std::optional<TaskRecord>> Store::GetTask(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, QueryTasks("WHERE id = ?", {id}));
  if (tasks.empty()) return std::optional<TaskRecord>();
  return std::optional<TaskRecord>(std::move(tasks[0]));
}

absl::StatusOr<std::vector<TaskRecord>> Store::TasksOfJob(const std::string& job_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return QueryTasks("WHERE job_id = ? ORDER BY seq", {job_id});
}

absl::StatusOr<Store::JobTaskSummary> Store::SummarizeJob(const std::string& job_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement counts,
      db_->Prepare(absl::StrCat(
          "SELECT COUNT(*), COALESCE(SUM(state = ", int{proto::TASK_SUCCEEDED},
          "), 0), COALESCE(SUM(state IN (", int{proto::TASK_LEASED}, ", ",
          int{proto::TASK_SUCCEEDED},
          ") OR attempt > 0), 0), COALESCE(AVG(CASE WHEN state = ", int{proto::TASK_SUCCEEDED},
          " THEN 1.0 ELSE progress END), 0) FROM tasks WHERE job_id = ?")));
  counts.Bind(1, job_id);
  FSC_RETURN_IF_ERROR(counts.Step().status());
  JobTaskSummary summary;
  summary.total = counts.Int(0);
  summary.succeeded = counts.Int(1);
  summary.started = counts.Int(2);
  summary.progress = counts.Double(3);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement failed,
      db_->Prepare(absl::StrCat("SELECT id FROM tasks WHERE job_id = ? AND state = ",
                                int{proto::TASK_FAILED}, " ORDER BY seq LIMIT 1")));
  failed.Bind(1, job_id);
  FSC_ASSIGN_OR_RETURN(bool has_failed, failed.Step());
  if (has_failed) summary.first_failed = failed.Text(0);
  return summary;
}

absl::StatusOr<std::vector<TaskRecord>> Store::FinishedFinalTasks(const std::string& job_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return QueryTasks(absl::StrCat("WHERE job_id = ? AND final = 1 AND state = ",
                                 int{proto::TASK_SUCCEEDED}, " ORDER BY seq"),
                    {job_id});
}

absl::StatusOr<std::optional<TaskRecord>> Store::NextReadyTask(
    const std::vector<proto::WorkerRole>& roles) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (roles.empty()) return std::optional<TaskRecord>();
  std::vector<std::string> role_values;
  for (proto::WorkerRole role : roles) role_values.push_back(absl::StrCat(int{role}));
  // Role numbers are enum values validated at registration, so they are safe to inline.
  std::string tail = absl::StrCat(
      "WHERE t.state = ", int{proto::TASK_PENDING}, " AND t.role IN (",
      absl::StrJoin(role_values, ","),
      ") AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks u ON u.id = d.dep_id "
      "WHERE d.task_id = t.id AND u.state != ",
      int{proto::TASK_SUCCEEDED}, ") ORDER BY t.priority DESC, t.job_seq, t.seq LIMIT 1");
  FSC_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, QueryTasks(tail, {}));
  if (tasks.empty()) return std::optional<TaskRecord>();
  return std::optional<TaskRecord>(std::move(tasks[0]));
}

absl::StatusOr<std::vector<TaskRecord>> Store::ExpiredLeases(int64_t now_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return QueryTasks(absl::StrCat("WHERE t.state = ", int{proto::TASK_LEASED},
                                 " AND t.lease_expires_ms <= ", now_ms, " ORDER BY seq"),
                    {});
}

absl::StatusOr<std::vector<std::string>> Store::TasksLeasedBy(const std::string& worker_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare("SELECT id FROM tasks WHERE worker_id = ? AND state = ? ORDER BY seq"));
  stmt.Bind(1, worker_id).Bind(2, int64_t{proto::TASK_LEASED});
  std::vector<std::string> ids;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    ids.push_back(stmt.Text(0));
  }
  return ids;
}

absl::StatusOr<int64_t> Store::CountTasksInState(proto::TaskState state) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare("SELECT COUNT(*) FROM tasks WHERE state = ?"));
  stmt.Bind(1, int64_t{state});
  FSC_RETURN_IF_ERROR(stmt.Step().status());
  return stmt.Int(0);
}

// --- events ----------------------------------------------------------------------------------

absl::StatusOr<int64_t> Store::AppendEvent(proto::JobEvent* event) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement next,
      db_->Prepare("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE job_id = ?"));
  next.Bind(1, event->job_id());
  FSC_RETURN_IF_ERROR(next.Step().status());
  event->set_sequence(next.Int(0));
  FSC_ASSIGN_OR_RETURN(SqliteStatement put,
                       db_->Prepare("INSERT INTO events(job_id, seq, data) VALUES(?, ?, ?)"));
  FSC_RETURN_IF_ERROR(put.Bind(1, event->job_id())
                          .Bind(2, event->sequence())
                          .BindBlob(3, event->SerializeAsString())
                          .Run());
  return event->sequence();
}

absl::StatusOr<std::vector<proto::JobEvent>> Store::EventsAfter(const std::string& job_id,
                                                                int64_t after_sequence, int limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare("SELECT data FROM events WHERE job_id = ? AND seq > ? "
                                    "ORDER BY seq LIMIT ?"));
  stmt.Bind(1, job_id).Bind(2, after_sequence).Bind(3, limit > 0 ? int64_t{limit} : int64_t{-1});
  std::vector<proto::JobEvent> events;
  while (true) {
    FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
    if (!has) break;
    proto::JobEvent event;
    if (!event.ParseFromString(stmt.Text(0))) {
      return absl::DataLossError("a stored event of job " + job_id + " is corrupt");
    }
    events.push_back(std::move(event));
  }
  return events;
}

// --- previews ------------------------------------------------------------------------------

absl::Status Store::PutPreview(const proto::JobPreview& preview) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      db_->Prepare("INSERT OR REPLACE INTO job_previews(job_id, preview) VALUES(?, ?)"));
  return stmt.Bind(1, preview.job_id()).BindBlob(2, preview.SerializeAsString()).Run();
}

absl::StatusOr<std::optional<proto::JobPreview>> Store::GetPreview(const std::string& job_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FSC_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       db_->Prepare("SELECT preview FROM job_previews WHERE job_id = ?"));
  stmt.Bind(1, job_id);
  FSC_ASSIGN_OR_RETURN(bool has, stmt.Step());
  if (!has) return std::optional<proto::JobPreview>();
  proto::JobPreview preview;
  if (!preview.ParseFromString(stmt.Text(0))) {
    return absl::DataLossError(absl::StrCat("the stored preview of job ", job_id, " is corrupt"));
  }
  return std::optional<proto::JobPreview>(std::move(preview));
}

}  // namespace fsc::coordinator
