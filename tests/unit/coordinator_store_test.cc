// The coordinator's SQLite store: every record kind round-trips, survives closing and reopening
// the file, the ready-task query honours priority, FIFO, roles and dependencies, a database of
// schema version 1 (tests/fixtures/coordinator/store_v1.sql, written by the coordinator of that
// time) is migrated without losing anything, and a database from a newer schema is refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "coordinator/datasets.h"
#include "coordinator/scheduler.h"
#include "coordinator/store.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"
#include "tests/test_paths.h"

namespace fsc::coordinator {
namespace {

std::string Hex(char c) { return std::string(64, c); }

proto::FileEntry File(const std::string& path, int64_t size, char hash) {
  proto::FileEntry file;
  file.set_path(path);
  file.set_size(size);
  file.set_sha256(Hex(hash));
  return file;
}

TaskRecord Task(const std::string& id, const std::string& job, proto::WorkerRole role, int priority,
                int64_t job_seq, std::vector<std::string> deps = {}) {
  TaskRecord record;
  record.task.set_id(id);
  record.task.set_job_id(job);
  record.task.set_kind(role == proto::ROLE_TRAIN ? proto::TASK_TRAIN : proto::TASK_EXTRACT);
  record.task.set_state(proto::TASK_PENDING);
  record.task.set_max_attempts(3);
  for (const std::string& dep : deps) record.task.add_depends_on(dep);
  record.role = role;
  record.priority = priority;
  record.job_seq = job_seq;
  return record;
}

proto::Job Job(const std::string& id, const std::string& owner, int priority) {
  proto::Job job;
  job.set_id(id);
  job.set_owner(owner);
  job.mutable_spec()->set_kind(proto::JOB_EXTRACT);
  job.mutable_spec()->set_priority(priority);
  job.mutable_spec()->set_name("job " + id);
  job.set_state(proto::JOB_QUEUED);
  job.set_created_unix_ms(1000);
  return job;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = fsc::testing::MakeTempDir("coordinator_store") + "/fsc.db"; }
  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_);
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(store).value();
  }
  std::string path_;
};

TEST_F(StoreTest, TokensRoundTripAndSurviveReopen) {
  {
    auto store = Open();
    ASSERT_TRUE(store->AddUserToken("alice", Hex('a'), 5).ok());
    ASSERT_TRUE(store->AddJoinToken(Hex('j'), 5).ok());
    ASSERT_TRUE(store->AddToken({Hex('e'), TokenKind::kUser, "eve", 5, 100, 0}).ok());
    // A hash is a primary key: the same token cannot be issued twice.
    EXPECT_FALSE(store->AddUserToken("bob", Hex('a'), 6).ok());
  }
  auto store = Open();
  std::optional<TokenRecord> alice = store->GetToken(Hex('a')).value();
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->kind, TokenKind::kUser);
  EXPECT_EQ(alice->user, "alice");
  EXPECT_EQ(alice->id(), Hex('a').substr(0, 12));
  EXPECT_TRUE(alice->live(1000));
  EXPECT_FALSE(store->GetToken(Hex('b')).value().has_value());
  EXPECT_EQ(store->GetToken(Hex('j')).value()->kind, TokenKind::kJoin);
  // Expiry: live before, not at or after.
  std::optional<TokenRecord> eve = store->GetToken(Hex('e')).value();
  EXPECT_TRUE(eve->live(99));
  EXPECT_FALSE(eve->live(100));
  EXPECT_EQ(store->ListTokens(TokenKind::kUser).value().size(), 2u);
  EXPECT_EQ(store->ListTokens(TokenKind::kJoin).value().size(), 1u);
}

TEST_F(StoreTest, RevokingTokensByIdOrUser) {
  auto store = Open();
  ASSERT_TRUE(store->AddUserToken("alice", Hex('a'), 5).ok());
  ASSERT_TRUE(store->AddUserToken("alice", Hex('b'), 6).ok());
  ASSERT_TRUE(store->AddUserToken("bob", Hex('c'), 7).ok());
  ASSERT_TRUE(store->AddJoinToken(Hex('d'), 8).ok());
  // By id: one token; the kind must match.
  EXPECT_TRUE(store->RevokeTokens(TokenKind::kJoin, Hex('a').substr(0, 12), "", 50)->empty());
  std::vector<TokenRecord> one = store->RevokeTokens(TokenKind::kUser, "aaaaaa", "", 50).value();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].revoked_unix_ms, 50);
  EXPECT_FALSE(store->GetToken(Hex('a')).value()->live(51));
  EXPECT_TRUE(store->GetToken(Hex('b')).value()->live(51));
  // By user: the rest of theirs, not again the revoked one, not bob's.
  std::vector<TokenRecord> rest = store->RevokeTokens(TokenKind::kUser, "", "alice", 60).value();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].hash, Hex('b'));
  EXPECT_EQ(store->GetToken(Hex('a')).value()->revoked_unix_ms, 50);
  EXPECT_TRUE(store->GetToken(Hex('c')).value()->live(61));
  EXPECT_TRUE(store->GetToken(Hex('d')).value()->live(61));
}

TEST_F(StoreTest, MigratesASchemaVersion1Database) {
  absl::StatusOr<std::string> dump =
      util::ReadFile(fsc::testing::SourceDir() + "/tests/fixtures/coordinator/store_v1.sql");
  ASSERT_TRUE(dump.ok()) << dump.status();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, dump->c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto store = Open();
  ASSERT_NE(store, nullptr);
  // Tokens kept their owners and kinds (the hashes of the fixture's tokens).
  std::optional<TokenRecord> user =
      store
          ->GetToken(util::Sha256Hex(
              "fscu_05c62fcffe7ab70eadd67be6f1590cda53131c94830bec33847d40a0388d363c"))
          .value();
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->kind, TokenKind::kUser);
  EXPECT_EQ(user->user, "local");
  EXPECT_TRUE(user->live(Scheduler::NowMs()));
  std::optional<TokenRecord> join =
      store
          ->GetToken(util::Sha256Hex(
              "fscj_225629442a1830a55ff234941281e3c7039533f47d7d18ecda308aef17d4ce76"))
          .value();
  ASSERT_TRUE(join.has_value());
  EXPECT_EQ(join->kind, TokenKind::kJoin);
  EXPECT_EQ(store->ListTokens(TokenKind::kJoin).value().size(), 2u);
  // The worker, registered before joins were recorded, keeps its session.
  std::vector<WorkerRecord> workers = store->ListWorkers().value();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].info.name(), "worker-1");
  EXPECT_EQ(workers[0].join_hash, "");
  // The dataset (no declared media then) and the job with its tasks' file lists, re-encoded.
  std::vector<proto::Dataset> datasets = store->ListDatasets("local").value();
  ASSERT_EQ(datasets.size(), 1u);
  EXPECT_EQ(datasets[0].name(), "astronaut.png");
  EXPECT_FALSE(datasets[0].has_media());
  ASSERT_EQ(datasets[0].files_size(), 1);
  std::optional<proto::Job> job = store->GetJob("jc2bee95ba014ebb8").value();
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->state(), proto::JOB_SUCCEEDED);
  std::vector<TaskRecord> tasks = store->TasksOfJob("jc2bee95ba014ebb8").value();
  ASSERT_EQ(tasks.size(), 2u);
  ASSERT_EQ(tasks[0].task.inputs_size(), 1);
  EXPECT_EQ(tasks[0].task.inputs(0).path(), "input/astronaut.png");
  EXPECT_EQ(tasks[0].task.inputs(0).sha256(), datasets[0].files(0).sha256());
  ASSERT_EQ(tasks[0].task.outputs_size(), 2);
  EXPECT_EQ(tasks[0].task.outputs(0).path(), "alignments.fsca");
  EXPECT_EQ(tasks[1].task.outputs_size(), 2);
  EXPECT_EQ(tasks[1].sources.size(), 1u);
  EXPECT_EQ(store->EventsAfter("jc2bee95ba014ebb8", 0, 0).value().size(), 9u);
  // Every blob the old database points at is still referenced (nothing would be collected).
  std::set<std::string> referenced = store->ReferencedBlobs().value();
  EXPECT_EQ(referenced.count(datasets[0].files(0).sha256()), 1u);
  for (const proto::FileEntry& file : tasks[1].task.outputs()) {
    EXPECT_EQ(referenced.count(file.sha256()), 1u) << file.path();
  }

  // The migrated tables are the tables of a new database, column for column.
  auto columns = [](const std::string& file) {
    sqlite3* handle = nullptr;
    EXPECT_EQ(sqlite3_open(file.c_str(), &handle), SQLITE_OK);
    std::string out;
    sqlite3_exec(
        handle,
        "SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' || "
        "COALESCE(p.dflt_value, '') || ' ' || p.pk FROM sqlite_master m, "
        "pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid",
        [](void* text, int, char** values, char**) {
          *static_cast<std::string*>(text) += std::string(values[0]) + "\n";
          return 0;
        },
        &out, nullptr);
    sqlite3_close(handle);
    return out;
  };
  std::string fresh = fsc::testing::MakeTempDir("coordinator_store_fresh") + "/fsc.db";
  ASSERT_TRUE(Store::Open(fresh).ok());
  EXPECT_EQ(columns(path_), columns(fresh));
  EXPECT_NE(columns(fresh).find("tokens.revoked_ms"), std::string::npos);
}

TEST_F(StoreTest, DeletingDatasetsAndWhatBlobsAreReferenced) {
  auto store = Open();
  proto::Dataset dataset;
  dataset.set_name("clip");
  dataset.set_owner("alice");
  *dataset.add_files() = File("clip.mp4", 10, '1');
  dataset.set_id(DatasetId({dataset.files(0)}));
  dataset.set_total_bytes(10);
  dataset.mutable_media()->set_frame_count(2);
  ASSERT_TRUE(store->PutDataset(dataset).ok());
  proto::Dataset bobs = dataset;
  bobs.set_owner("bob");
  bobs.clear_media();  // an upload without a declaration keeps nothing from alice's
  ASSERT_TRUE(store->PutDataset(bobs).ok());
  EXPECT_EQ(store->GetDataset("alice", dataset.id()).value()->media().frame_count(), 2);
  EXPECT_FALSE(store->GetDataset("bob", dataset.id()).value()->has_media());
  EXPECT_EQ(store->DatasetBytes("alice").value(), 10);

  // Task outputs always count; inputs only while the task may still run.
  TaskRecord done = Task("j-t0", "j", proto::ROLE_EXTRACT, 0, 1);
  done.task.set_state(proto::TASK_SUCCEEDED);
  *done.task.add_inputs() = File("input/old.png", 1, '3');
  *done.task.add_outputs() = File("alignments.fsca", 1, '4');
  TaskRecord pending = Task("j-t1", "j", proto::ROLE_EXTRACT, 0, 1);
  *pending.task.add_inputs() = File("input/new.png", 1, '5');
  ASSERT_TRUE(store->InsertTask(done).ok());
  ASSERT_TRUE(store->InsertTask(pending).ok());
  std::set<std::string> referenced = store->ReferencedBlobs().value();
  EXPECT_EQ(referenced, (std::set<std::string>{Hex('1'), Hex('4'), Hex('5')}));

  // The file list is shared: it goes with the last owner.
  auto remove = [&](const std::string& owner) {
    return store->Transaction([&] { return store->DeleteDataset(owner, dataset.id()); });
  };
  ASSERT_TRUE(remove("alice").ok());
  EXPECT_EQ(remove("alice").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->DatasetBytes("alice").value(), 0);
  EXPECT_EQ(store->DatasetFiles(dataset.id()).value().size(), 1u);
  EXPECT_EQ(store->ReferencedBlobs().value().count(Hex('1')), 1u);
  ASSERT_TRUE(remove("bob").ok());
  EXPECT_TRUE(store->DatasetFiles(dataset.id()).value().empty());
  EXPECT_EQ(store->ReferencedBlobs().value().count(Hex('1')), 0u);
}

TEST_F(StoreTest, WorkersRoundTrip) {
  {
    auto store = Open();
    WorkerRecord worker;
    worker.info.set_id("w1");
    worker.info.set_name("host-1");
    worker.info.add_roles(proto::ROLE_EXTRACT);
    worker.info.add_roles(proto::ROLE_TRAIN);
    worker.info.set_cpu_threads(8);
    worker.session_hash = Hex('s');
    worker.registered_unix_ms = 77;
    ASSERT_TRUE(store->PutWorker(worker).ok());
    worker.session_hash = Hex('t');  // re-registration replaces the session
    ASSERT_TRUE(store->PutWorker(worker).ok());
  }
  auto store = Open();
  auto worker = store->GetWorker("w1").value();
  ASSERT_TRUE(worker.has_value());
  EXPECT_EQ(worker->info.name(), "host-1");
  EXPECT_EQ(worker->info.roles_size(), 2);
  EXPECT_EQ(worker->info.cpu_threads(), 8);
  EXPECT_EQ(worker->registered_unix_ms, 77);
  EXPECT_FALSE(store->WorkerForSession(Hex('s')).value().has_value());
  EXPECT_EQ(store->WorkerForSession(Hex('t')).value()->info.id(), "w1");
  EXPECT_EQ(store->ListWorkers().value().size(), 1u);
}

TEST_F(StoreTest, DatasetsAreKeptPerOwner) {
  proto::Dataset dataset;
  dataset.set_name("clip");
  dataset.set_owner("alice");
  *dataset.add_files() = File("a.png", 10, '1');
  *dataset.add_files() = File("b/c.png", 20, '2');
  dataset.set_id(DatasetId({dataset.files(0), dataset.files(1)}));
  dataset.set_total_bytes(30);
  {
    auto store = Open();
    ASSERT_TRUE(store->PutDataset(dataset).ok());
    proto::Dataset same = dataset;
    same.set_owner("bob");
    same.set_name("bob's copy");
    ASSERT_TRUE(store->PutDataset(same).ok());
  }
  auto store = Open();
  auto mine = store->GetDataset("alice", dataset.id()).value();
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->name(), "clip");
  ASSERT_EQ(mine->files_size(), 2);
  EXPECT_EQ(mine->files(1).path(), "b/c.png");
  EXPECT_EQ(mine->files(1).size(), 20);
  EXPECT_EQ(mine->files(1).sha256(), Hex('2'));
  EXPECT_EQ(store->GetDataset("bob", dataset.id()).value()->name(), "bob's copy");
  EXPECT_FALSE(store->GetDataset("carol", dataset.id()).value().has_value());
  EXPECT_EQ(store->ListDatasets("alice").value().size(), 1u);
  EXPECT_EQ(store->ListDatasets("carol").value().size(), 0u);
}

TEST_F(StoreTest, JobsTasksAndEventsSurviveReopen) {
  {
    auto store = Open();
    ASSERT_TRUE(store
                    ->Transaction([&]() -> absl::Status {
                      int64_t seq = store->InsertJob(Job("j1", "alice", 3)).value();
                      TaskRecord a = Task("j1-t0", "j1", proto::ROLE_EXTRACT, 3, seq);
                      a.sources.push_back({InputSource::kDataset, "d1", "", "input/"});
                      TaskRecord b = Task("j1-t1", "j1", proto::ROLE_EXTRACT, 3, seq, {"j1-t0"});
                      b.sources.push_back({InputSource::kTaskOutputs, "j1-t0", "", "parts/j1-t0/"});
                      b.final = true;
                      if (auto s = store->InsertTask(a); !s.ok()) return s;
                      return store->InsertTask(b);
                    })
                    .ok());
    TaskRecord a = store->GetTask("j1-t0").value().value();
    a.task.set_state(proto::TASK_SUCCEEDED);
    a.task.set_attempt(2);
    a.task.set_worker_id("w9");
    a.task.set_progress(1.0);
    *a.task.add_outputs() = File("alignments.fsca", 5, 'f');
    ASSERT_TRUE(store->UpdateTask(a).ok());
    proto::JobEvent event;
    event.set_job_id("j1");
    event.set_message("first");
    EXPECT_EQ(store->AppendEvent(&event).value(), 1);
    event.set_message("second");
    EXPECT_EQ(store->AppendEvent(&event).value(), 2);
    proto::Job job = store->GetJob("j1").value().value();
    job.set_state(proto::JOB_RUNNING);
    job.set_started_unix_ms(2000);
    ASSERT_TRUE(store->UpdateJob(job).ok());
  }
  auto store = Open();
  proto::Job job = store->GetJob("j1").value().value();
  EXPECT_EQ(job.owner(), "alice");
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);
  EXPECT_EQ(job.started_unix_ms(), 2000);
  EXPECT_EQ(job.spec().priority(), 3);
  EXPECT_EQ(job.spec().name(), "job j1");
  std::vector<TaskRecord> tasks = store->TasksOfJob("j1").value();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].task.state(), proto::TASK_SUCCEEDED);
  EXPECT_EQ(tasks[0].task.attempt(), 2);
  EXPECT_EQ(tasks[0].task.worker_id(), "w9");
  ASSERT_EQ(tasks[0].task.outputs_size(), 1);
  EXPECT_EQ(tasks[0].task.outputs(0).path(), "alignments.fsca");
  ASSERT_EQ(tasks[0].sources.size(), 1u);
  EXPECT_EQ(tasks[0].sources[0].to, "input/");
  EXPECT_EQ(tasks[1].task.depends_on_size(), 1);
  EXPECT_EQ(tasks[1].task.depends_on(0), "j1-t0");
  EXPECT_TRUE(tasks[1].final);
  EXPECT_EQ(tasks[1].sources[0].kind, InputSource::kTaskOutputs);
  std::vector<proto::JobEvent> events = store->EventsAfter("j1", 1, 0).value();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message(), "second");
  EXPECT_EQ(events[0].sequence(), 2);
  EXPECT_EQ(store->ListJobs("alice", proto::JOB_RUNNING, 0).value().size(), 1u);
  EXPECT_EQ(store->ListJobs("alice", proto::JOB_QUEUED, 0).value().size(), 0u);
  EXPECT_EQ(store->ListJobs("bob", proto::JOB_STATE_UNSPECIFIED, 0).value().size(), 0u);
}

TEST_F(StoreTest, FailedTransactionChangesNothing) {
  auto store = Open();
  absl::Status status = store->Transaction([&]() -> absl::Status {
    if (auto s = store->InsertJob(Job("j1", "alice", 0)).status(); !s.ok()) return s;
    return absl::InvalidArgumentError("no");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(store->GetJob("j1").value().has_value());
}

TEST_F(StoreTest, ConcurrentTransactionsShareCommitsButStayAtomic) {
  {
    auto store = Open();
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          std::string id = "j" + std::to_string(t) + "_" + std::to_string(i);
          // Every third body fails after writing: its job must not exist afterwards.
          bool fail = i % 3 == 0;
          absl::Status status = store->Transaction([&]() -> absl::Status {
            if (auto s = store->InsertJob(Job(id, "alice", 0)).status(); !s.ok()) return s;
            if (fail) return absl::AbortedError("changed my mind");
            return absl::OkStatus();
          });
          if (fail != !status.ok()) ++failures;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
  }
  auto store = Open();
  std::vector<proto::Job> jobs = store->ListJobs("alice", proto::JOB_STATE_UNSPECIFIED, 0).value();
  EXPECT_EQ(jobs.size(), 8u * 16u);
  for (const proto::Job& job : jobs) {
    int i = std::stoi(job.id().substr(job.id().find('_') + 1));
    EXPECT_NE(i % 3, 0) << job.id();
  }
}

TEST_F(StoreTest, NextReadyTaskOrdersByPriorityThenFifoAndHonoursRolesAndDependencies) {
  auto store = Open();
  int64_t low = store->InsertJob(Job("low", "a", 1)).value();
  int64_t high1 = store->InsertJob(Job("high1", "a", 7)).value();
  int64_t high2 = store->InsertJob(Job("high2", "a", 7)).value();
  ASSERT_TRUE(store->InsertTask(Task("low-t0", "low", proto::ROLE_EXTRACT, 1, low)).ok());
  ASSERT_TRUE(store->InsertTask(Task("high2-t0", "high2", proto::ROLE_EXTRACT, 7, high2)).ok());
  ASSERT_TRUE(store->InsertTask(Task("high1-t0", "high1", proto::ROLE_EXTRACT, 7, high1)).ok());
  ASSERT_TRUE(
      store->InsertTask(Task("high1-t1", "high1", proto::ROLE_EXTRACT, 7, high1, {"high1-t0"}))
          .ok());
  ASSERT_TRUE(store->InsertTask(Task("high1-t2", "high1", proto::ROLE_TRAIN, 7, high1)).ok());

  std::vector<std::string> order;
  while (true) {
    auto next = store->NextReadyTask({proto::ROLE_EXTRACT}).value();
    if (!next) break;
    order.push_back(next->task.id());
    next->task.set_state(proto::TASK_LEASED);
    ASSERT_TRUE(store->UpdateTask(*next).ok());
  }
  // high1-t1 waits for high1-t0; the train task needs another role.
  EXPECT_EQ(order, (std::vector<std::string>{"high1-t0", "high2-t0", "low-t0"}));
  EXPECT_EQ(store->NextReadyTask({proto::ROLE_TRAIN}).value()->task.id(), "high1-t2");
  EXPECT_FALSE(store->NextReadyTask({proto::ROLE_CONVERT}).value().has_value());

  TaskRecord dep = store->GetTask("high1-t0").value().value();
  dep.task.set_state(proto::TASK_SUCCEEDED);
  ASSERT_TRUE(store->UpdateTask(dep).ok());
  EXPECT_EQ(store->NextReadyTask({proto::ROLE_EXTRACT}).value()->task.id(), "high1-t1");
}

TEST_F(StoreTest, ExpiredLeasesAndLeaseRenewal) {
  auto store = Open();
  int64_t seq = store->InsertJob(Job("j", "a", 0)).value();
  TaskRecord task = Task("j-t0", "j", proto::ROLE_EXTRACT, 0, seq);
  task.task.set_state(proto::TASK_LEASED);
  task.task.set_worker_id("w1");
  task.task.set_lease_expires_unix_ms(1000);
  ASSERT_TRUE(store->InsertTask(task).ok());
  EXPECT_TRUE(store->ExpiredLeases(999).value().empty());
  EXPECT_EQ(store->ExpiredLeases(1000).value().size(), 1u);
  ASSERT_TRUE(store->SetLeaseExpiry("j-t0", 5000).ok());
  EXPECT_TRUE(store->ExpiredLeases(4000).value().empty());
  EXPECT_EQ(store->TasksLeasedBy("w1").value(), std::vector<std::string>{"j-t0"});
}

TEST_F(StoreTest, RefusesANewerSchema) {
  { Open(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos);
}

TEST_F(StoreTest, UnopenablePathIsAClearError) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open("/nonexistent-dir/x/fsc.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/nonexistent-dir/x/fsc.db"), std::string::npos);
}

}  // namespace
}  // namespace fsc::coordinator
