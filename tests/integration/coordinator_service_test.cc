// The real fsc-coordinator process driven over gRPC by generated stubs acting as users and
// workers: TLS and mTLS (certificates made here with the openssl CLI) and plaintext,
// authentication and ownership, malformed requests refused without changing anything, a kill -9
// mid-job followed by a restart on the same database, a worker that stops heartbeating, event
// streams, a clean SIGTERM; tokens revoked or expired with `fsc-coordinator token ...` while the
// coordinator runs, and videos planned from declared frame counts alone.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"
#include "proto/fsc.grpc.pb.h"
#include "tests/test_paths.h"

extern char** environ;

namespace fsc {
namespace {

using fsc::testing::BinDir;
using fsc::testing::MakeTempDir;
using fsc::testing::RunCommand;

std::string Trim(std::string text) { return std::string(absl::StripAsciiWhitespace(text)); }

// One fsc-coordinator process; stderr goes to a log file shown when a test fails.
class Coordinator {
 public:
  Coordinator(std::string dir, std::vector<std::string> extra) : dir_(std::move(dir)) {
    extra_ = std::move(extra);
  }
  ~Coordinator() { Kill(SIGKILL); }

  // Starts on `port` (0: any) and waits for the port file.
  void Start(int port = 0) {
    std::string port_file = dir_ + "/port";
    unlink(port_file.c_str());
    std::vector<std::string> args = {BinDir() + "/fsc-coordinator",
                                     "--listen",
                                     absl::StrCat("127.0.0.1:", port),
                                     "--db",
                                     dir_ + "/fsc.db",
                                     "--data-dir",
                                     dir_ + "/data",
                                     "--port-file",
                                     port_file};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = dir_ + "/coordinator.log";
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 600; ++i) {
      absl::StatusOr<std::string> text = util::ReadFile(port_file);
      if (text.ok() && !text->empty()) {
        port_ = std::stoi(*text);
        return;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "fsc-coordinator exited at start:\n" << Log();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "fsc-coordinator did not start:\n" << Log();
  }

  // Sends `signal` and returns the exit status (from waitpid).
  int Kill(int signal) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  std::string Log() const { return util::ReadFile(dir_ + "/coordinator.log").value_or(""); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string db() const { return dir_ + "/fsc.db"; }

 private:
  std::string dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  int port_ = 0;
};

std::string CreateToken(const std::string& db, const std::string& user) {
  std::string command = BinDir() + "/fsc-coordinator " +
                        (user.empty() ? "join-token create --db " + db
                                      : "token create --db " + db + " --user " + user);
  fsc::testing::CommandResult result = RunCommand(command);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return Trim(result.output);
}

struct Certs {
  std::string ca, server_cert, server_key, client_cert, client_key;
};

// A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate.
Certs MakeCerts(const std::string& dir) {
  std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::string script = absl::StrCat(
      "cd ", dir, " && set -e && ", "openssl req -x509 ", ec,
      " -keyout ca.key -out ca.pem -days 1 -subj /CN=fsc-test-ca ",
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign && ",
      "openssl req ", ec, " -keyout server.key -out server.csr -subj /CN=localhost && ",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > "
      "server.ext && ",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
      "-days 1 -extfile server.ext && ",
      "openssl req ", ec, " -keyout client.key -out client.csr -subj /CN=worker-1 && ",
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext && ",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem "
      "-days 1 -extfile client.ext 2>&1");
  fsc::testing::CommandResult result = RunCommand(script + " 2>&1");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return {dir + "/ca.pem", dir + "/server.pem", dir + "/server.key", dir + "/client.pem",
          dir + "/client.key"};
}

std::shared_ptr<grpc::Channel> Channel(const std::string& address, const Certs* certs,
                                       bool client_cert = false) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  if (certs == nullptr) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = util::ReadFile(certs->ca).value();
  if (client_cert) {
    ssl.pem_cert_chain = util::ReadFile(certs->client_cert).value();
    ssl.pem_private_key = util::ReadFile(certs->client_key).value();
  }
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

// A ClientContext with a bearer token and a deadline.
std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token, int seconds = 20) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

// Uploads files {path: bytes} as one dataset.
// `media`: the declaration of a one-file video.
grpc::Status Upload(proto::ClientService::Stub* stub, const std::string& token,
                    const std::vector<std::pair<std::string, std::string>>& files,
                    proto::Dataset* dataset, int64_t chunk_bytes = 1 << 20,
                    const proto::MediaInfo* media = nullptr) {
  auto context = Ctx(token);
  auto writer = stub->UploadDataset(context.get(), dataset);
  proto::UploadDatasetRequest header;
  header.mutable_header()->set_version(1);
  header.mutable_header()->set_name("test data");
  if (media != nullptr) *header.mutable_header()->mutable_media() = *media;
  for (const auto& [path, bytes] : files) {
    proto::FileEntry* entry = header.mutable_header()->add_files();
    entry->set_path(path);
    entry->set_size(static_cast<int64_t>(bytes.size()));
    entry->set_sha256(util::Sha256Hex(bytes));
  }
  writer->Write(header);
  for (const auto& [path, bytes] : files) {
    int64_t offset = 0;
    do {
      proto::UploadDatasetRequest chunk;
      chunk.mutable_chunk()->set_path(path);
      chunk.mutable_chunk()->set_offset(offset);
      int64_t n = std::min<int64_t>(chunk_bytes, static_cast<int64_t>(bytes.size()) - offset);
      chunk.mutable_chunk()->set_data(bytes.substr(offset, n));
      offset += n;
      chunk.mutable_chunk()->set_last(offset == static_cast<int64_t>(bytes.size()));
      if (!writer->Write(chunk)) break;
    } while (offset < static_cast<int64_t>(bytes.size()));
  }
  writer->WritesDone();
  return writer->Finish();
}

std::vector<std::pair<std::string, std::string>> Images(int n) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < n; ++i) {
    files.emplace_back(absl::StrFormat("frame_%03d.png", i), absl::StrCat("pixels ", i));
  }
  return files;
}

// A worker's view: registration and the calls it makes with its session token.
struct TestWorker {
  std::unique_ptr<proto::WorkerService::Stub> stub;
  std::string id;
  std::string session;

  grpc::Status Register(const std::string& join, proto::WorkerRole role,
                        const std::string& previous_id = "") {
    proto::RegisterRequest request;
    request.set_version(1);
    request.set_join_token(join);
    request.set_name("test-worker");
    request.add_roles(role);
    request.set_cpu_threads(2);
    request.set_worker_id(previous_id);
    proto::RegisterResponse response;
    grpc::Status status = stub->Register(Ctx("").get(), request, &response);
    if (status.ok()) {
      id = response.worker_id();
      session = response.session_token();
    }
    return status;
  }
  grpc::Status Lease(proto::LeaseTaskResponse* response, int64_t wait_ms = 0) {
    proto::LeaseTaskRequest request;
    request.set_version(1);
    request.set_worker_id(id);
    request.set_wait_ms(wait_ms);
    return stub->LeaseTask(Ctx(session, 60).get(), request, response);
  }
  grpc::Status Heartbeat(const std::vector<std::string>& tasks, proto::HeartbeatResponse* out) {
    proto::HeartbeatRequest request;
    request.set_version(1);
    request.set_worker_id(id);
    for (const std::string& task : tasks) request.add_task_ids(task);
    return stub->Heartbeat(Ctx(session).get(), request, out);
  }
  // Uploads `bytes` as a blob and returns its entry at `path`.
  proto::FileEntry UploadBlob(const std::string& path, const std::string& bytes) {
    proto::UploadBlobResponse response;
    auto context = Ctx(session);
    auto writer = stub->UploadBlob(context.get(), &response);
    proto::BlobChunk chunk;
    chunk.set_sha256(util::Sha256Hex(bytes));
    chunk.set_data(bytes);
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    proto::FileEntry entry;
    entry.set_path(path);
    entry.set_size(response.size());
    entry.set_sha256(response.sha256());
    return entry;
  }
  grpc::Status Complete(const std::string& task_id, const std::vector<proto::FileEntry>& outputs) {
    proto::CompleteTaskRequest request;
    request.set_version(1);
    request.set_worker_id(id);
    request.set_task_id(task_id);
    for (const proto::FileEntry& file : outputs) *request.add_outputs() = file;
    proto::CompleteTaskResponse response;
    return stub->CompleteTask(Ctx(session).get(), request, &response);
  }
  // Completes an extract/merge task with plausible outputs.
  grpc::Status CompleteExtract(const std::string& task_id) {
    return Complete(task_id, {UploadBlob("alignments.fsca", "alignments of " + task_id),
                              UploadBlob("faces/" + task_id + "_0.png", "face of " + task_id)});
  }
};

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && coordinator_ != nullptr) {
      std::cerr << "--- coordinator log ---\n" << coordinator_->Log();
    }
  }

  // Creates tokens, then starts the coordinator (plaintext unless `tls` flags are given).
  void StartCoordinator(std::vector<std::string> flags, const Certs* certs = nullptr,
                        bool client_cert = false) {
    std::string dir = MakeTempDir("coordinator_service");
    coordinator_ = std::make_unique<Coordinator>(dir, flags);
    alice_ = CreateToken(coordinator_->db(), "alice");
    bob_ = CreateToken(coordinator_->db(), "bob");
    join_ = CreateToken(coordinator_->db(), "");
    coordinator_->Start();
    Connect(certs, client_cert);
  }

  void Connect(const Certs* certs, bool client_cert) {
    auto channel = Channel(coordinator_->address(), certs, client_cert);
    client_ = proto::ClientService::NewStub(channel);
    rendezvous_ = proto::RendezvousService::NewStub(channel);
    worker_channel_ = channel;
  }

  TestWorker NewWorker() {
    TestWorker worker;
    worker.stub = proto::WorkerService::NewStub(worker_channel_);
    return worker;
  }

  std::string SubmitExtract(const std::string& token, const std::string& dataset,
                            int frames_per_task, proto::Job* job = nullptr) {
    proto::SubmitJobRequest request;
    request.set_version(1);
    request.mutable_spec()->set_kind(proto::JOB_EXTRACT);
    request.mutable_spec()->set_input_dataset(dataset);
    request.mutable_spec()->set_frames_per_task(frames_per_task);
    proto::Job response;
    grpc::Status status = client_->SubmitJob(Ctx(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (job != nullptr) *job = response;
    return response.id();
  }

  proto::Job GetJob(const std::string& token, const std::string& id) {
    proto::GetJobRequest request;
    request.set_version(1);
    request.set_job_id(id);
    proto::Job job;
    grpc::Status status = client_->GetJob(Ctx(token).get(), request, &job);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job;
  }

  void WaitUntilServing(const std::string& token) {
    proto::ClusterStatusRequest request;
    request.set_version(1);
    grpc::Status status;
    for (int i = 0; i < 100; ++i) {
      proto::ClusterStatusResponse response;
      status = client_->ClusterStatus(Ctx(token, 5).get(), request, &response);
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string State(const std::string& token) {
    proto::ListJobsRequest jobs_request;
    jobs_request.set_version(1);
    proto::ListJobsResponse jobs;
    EXPECT_TRUE(client_->ListJobs(Ctx(token).get(), jobs_request, &jobs).ok());
    proto::ListDatasetsRequest datasets_request;
    datasets_request.set_version(1);
    proto::ListDatasetsResponse datasets;
    EXPECT_TRUE(client_->ListDatasets(Ctx(token).get(), datasets_request, &datasets).ok());
    return jobs.SerializeAsString() + "|" + datasets.SerializeAsString();
  }

  std::unique_ptr<Coordinator> coordinator_;
  std::string alice_, bob_, join_;
  std::shared_ptr<grpc::Channel> worker_channel_;
  std::unique_ptr<proto::ClientService::Stub> client_;
  std::unique_ptr<proto::RendezvousService::Stub> rendezvous_;
};

TEST_F(CoordinatorServiceTest, TlsAuthenticatesUsersAndWorkers) {
  Certs certs = MakeCerts(MakeTempDir("coordinator_certs"));
  StartCoordinator({"--tls-cert", certs.server_cert, "--tls-key", certs.server_key}, &certs);
  proto::ClusterStatusRequest request;
  request.set_version(1);
  proto::ClusterStatusResponse status;
  EXPECT_EQ(client_->ClusterStatus(Ctx("").get(), request, &status).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(client_->ClusterStatus(Ctx("fscu_not-a-token").get(), request, &status).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status ok = client_->ClusterStatus(Ctx(alice_).get(), request, &status);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  // A newer wire version is refused.
  request.set_version(2);
  EXPECT_EQ(client_->ClusterStatus(Ctx(alice_).get(), request, &status).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // A plaintext client cannot talk to the TLS port.
  auto plain = proto::ClientService::NewStub(Channel(coordinator_->address(), nullptr));
  request.set_version(1);
  EXPECT_EQ(plain->ClusterStatus(Ctx(alice_, 5).get(), request, &status).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  TestWorker worker = NewWorker();
  EXPECT_EQ(worker.Register("", proto::ROLE_EXTRACT).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(worker.Register("fscj_wrong", proto::ROLE_EXTRACT).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(worker.Register(alice_, proto::ROLE_EXTRACT).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(worker.Register(join_, proto::ROLE_EXTRACT).ok());
  // Bad role values are refused before anything is stored.
  TestWorker bad = NewWorker();
  EXPECT_EQ(bad.Register(join_, static_cast<proto::WorkerRole>(9)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  proto::HeartbeatResponse beat;
  ASSERT_TRUE(worker.Heartbeat({}, &beat).ok());
  // A user token on a worker call, a session token on a client call, and another worker's id.
  TestWorker impostor = NewWorker();
  impostor.id = worker.id;
  impostor.session = alice_;
  EXPECT_EQ(impostor.Heartbeat({}, &beat).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(client_->ClusterStatus(Ctx(worker.session).get(), request, &status).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  TestWorker other = NewWorker();
  ASSERT_TRUE(other.Register(join_, proto::ROLE_CONVERT).ok());
  other.id = worker.id;
  EXPECT_EQ(other.Heartbeat({}, &beat).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_TRUE(client_->ClusterStatus(Ctx(alice_).get(), request, &status).ok());
  ASSERT_EQ(status.workers_size(), 2);
  EXPECT_TRUE(status.workers(0).alive());
}

TEST_F(CoordinatorServiceTest, MutualTlsRequiresAWorkerCertificate) {
  Certs certs = MakeCerts(MakeTempDir("coordinator_certs"));
  StartCoordinator(
      {"--tls-cert", certs.server_cert, "--tls-key", certs.server_key, "--tls-client-ca", certs.ca},
      &certs, /*client_cert=*/false);
  TestWorker without = NewWorker();
  EXPECT_EQ(without.Register(join_, proto::ROLE_EXTRACT).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Users need no certificate on the shared port.
  proto::ClusterStatusRequest request;
  request.set_version(1);
  proto::ClusterStatusResponse status;
  EXPECT_TRUE(client_->ClusterStatus(Ctx(alice_).get(), request, &status).ok());
  Connect(&certs, /*client_cert=*/true);
  TestWorker with = NewWorker();
  grpc::Status registered = with.Register(join_, proto::ROLE_EXTRACT);
  EXPECT_TRUE(registered.ok()) << registered.error_message();
}

TEST_F(CoordinatorServiceTest, UsersOnlySeeTheirOwnJobs) {
  StartCoordinator({"--insecure"});
  proto::Dataset dataset;
  ASSERT_TRUE(Upload(client_.get(), alice_, Images(3), &dataset).ok());
  EXPECT_EQ(dataset.files_size(), 3);
  EXPECT_EQ(dataset.owner(), "alice");
  std::string job = SubmitExtract(alice_, dataset.id(), 0);

  proto::GetJobRequest get;
  get.set_version(1);
  get.set_job_id(job);
  proto::Job response;
  EXPECT_EQ(client_->GetJob(Ctx(bob_).get(), get, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  proto::CancelJobRequest cancel;
  cancel.set_version(1);
  cancel.set_job_id(job);
  EXPECT_EQ(client_->CancelJob(Ctx(bob_).get(), cancel, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  proto::StreamJobEventsRequest events;
  events.set_version(1);
  events.set_job_id(job);
  auto context = Ctx(bob_);
  auto reader = client_->StreamJobEvents(context.get(), events);
  proto::JobEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  proto::ListJobsRequest list;
  list.set_version(1);
  proto::ListJobsResponse jobs;
  ASSERT_TRUE(client_->ListJobs(Ctx(bob_).get(), list, &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0);
  // Bob cannot use Alice's dataset either.
  proto::SubmitJobRequest submit;
  submit.set_version(1);
  submit.mutable_spec()->set_kind(proto::JOB_EXTRACT);
  submit.mutable_spec()->set_input_dataset(dataset.id());
  EXPECT_EQ(client_->SubmitJob(Ctx(bob_).get(), submit, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_TRUE(client_->CancelJob(Ctx(alice_).get(), cancel, &response).ok());
  EXPECT_EQ(response.state(), proto::JOB_CANCELLED);
  // Alice's stream replays the history and ends because the job has ended.
  auto alice_context = Ctx(alice_);
  events.set_follow(true);
  auto alice_reader = client_->StreamJobEvents(alice_context.get(), events);
  int64_t last = 0;
  bool saw_cancel = false;
  while (alice_reader->Read(&event)) {
    EXPECT_GT(event.sequence(), last);
    last = event.sequence();
    if (event.kind() == proto::JobEvent::STATE && event.state() == proto::JOB_CANCELLED) {
      saw_cancel = true;
    }
  }
  EXPECT_TRUE(alice_reader->Finish().ok());
  EXPECT_TRUE(saw_cancel);
}

TEST_F(CoordinatorServiceTest, MalformedRequestsChangeNothing) {
  StartCoordinator({"--insecure"});
  proto::Dataset good;
  ASSERT_TRUE(Upload(client_.get(), alice_, Images(2), &good).ok());
  std::string before = State(alice_);

  proto::Dataset dataset;
  grpc::Status dotdot = Upload(client_.get(), alice_, {{"../escape.png", "x"}}, &dataset);
  EXPECT_EQ(dotdot.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(dotdot.error_message().find(".."), std::string::npos) << dotdot.error_message();
  EXPECT_EQ(Upload(client_.get(), alice_, {{"/etc/passwd", "x"}}, &dataset).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Upload(client_.get(), alice_, {{std::string("a\0b", 3), "x"}}, &dataset).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // One chunk over the 4 MiB limit.
  std::string big((4 << 20) + 1, 'x');
  grpc::Status oversized = Upload(client_.get(), alice_, {{"big.png", big}}, &dataset, 8 << 20);
  EXPECT_EQ(oversized.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << oversized.error_message();
  // Bytes that do not match the header's hash.
  {
    auto context = Ctx(alice_);
    auto writer = client_->UploadDataset(context.get(), &dataset);
    proto::UploadDatasetRequest header;
    header.mutable_header()->set_version(1);
    proto::FileEntry* entry = header.mutable_header()->add_files();
    entry->set_path("a.png");
    entry->set_size(5);
    entry->set_sha256(util::Sha256Hex("hello"));
    writer->Write(header);
    proto::UploadDatasetRequest chunk;
    chunk.mutable_chunk()->set_path("a.png");
    chunk.mutable_chunk()->set_data("HELLO");
    chunk.mutable_chunk()->set_last(true);
    writer->Write(chunk);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }

  auto submit = [&](const std::function<void(proto::JobSpec*)>& edit) {
    proto::SubmitJobRequest request;
    request.set_version(1);
    request.mutable_spec()->set_kind(proto::JOB_EXTRACT);
    request.mutable_spec()->set_input_dataset(good.id());
    edit(request.mutable_spec());
    proto::Job job;
    return client_->SubmitJob(Ctx(alice_).get(), request, &job).error_code();
  };
  EXPECT_EQ(submit([](proto::JobSpec* s) { s->set_kind(static_cast<proto::JobKind>(42)); }),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(submit([](proto::JobSpec* s) { s->set_frames_per_task(-5); }),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(submit([](proto::JobSpec* s) { s->set_priority(10); }),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(submit([](proto::JobSpec* s) { s->set_input_dataset(std::string(64, 'a')); }),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(submit([](proto::JobSpec* s) { s->mutable_extract()->set_detector("magic"); }),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(submit([](proto::JobSpec* s) { s->set_model_dataset("m"); }),
            grpc::StatusCode::INVALID_ARGUMENT);
  proto::ListJobsRequest list;
  list.set_version(1);
  list.set_state(static_cast<proto::JobState>(77));
  proto::ListJobsResponse jobs;
  EXPECT_EQ(client_->ListJobs(Ctx(alice_).get(), list, &jobs).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  proto::GetJobRequest get;
  get.set_version(1);
  get.set_job_id("../../etc");
  proto::Job job;
  EXPECT_EQ(client_->GetJob(Ctx(alice_).get(), get, &job).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  TestWorker worker = NewWorker();
  ASSERT_TRUE(worker.Register(join_, proto::ROLE_EXTRACT).ok());
  proto::LeaseTaskResponse lease;
  EXPECT_EQ(worker.Lease(&lease, -1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(worker.Complete("no-such-task", {}).error_code(), grpc::StatusCode::NOT_FOUND);

  EXPECT_EQ(State(alice_), before);
}

TEST_F(CoordinatorServiceTest, KillNineMidJobThenRestartLosesNothing) {
  StartCoordinator({"--insecure", "--lease-ttl-ms", "20000", "--heartbeat-ms", "500"});
  proto::Dataset dataset;
  ASSERT_TRUE(Upload(client_.get(), alice_, Images(4), &dataset).ok());
  std::string job_id = SubmitExtract(alice_, dataset.id(), 2);
  TestWorker worker = NewWorker();
  ASSERT_TRUE(worker.Register(join_, proto::ROLE_EXTRACT).ok());
  proto::LeaseTaskResponse first, second;
  ASSERT_TRUE(worker.Lease(&first).ok());
  ASSERT_TRUE(first.has_task());
  EXPECT_EQ(first.task().inputs_size(), 4);
  ASSERT_TRUE(worker.CompleteExtract(first.task().id()).ok());
  ASSERT_TRUE(worker.Lease(&second).ok());
  ASSERT_TRUE(second.has_task());

  int port = coordinator_->port();
  coordinator_->Kill(SIGKILL);
  coordinator_->Start(port);  // same db, same data, same port
  // Calls on the connection the kill broke fail once with UNAVAILABLE, as real clients see it;
  // they retry (core/rpc IsTransient), and so does this test until the channel reconnects.
  WaitUntilServing(alice_);

  proto::Job job = GetJob(alice_, job_id);
  ASSERT_EQ(job.tasks_size(), 3);
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);
  EXPECT_EQ(job.tasks(0).state(), proto::TASK_SUCCEEDED);
  EXPECT_EQ(job.tasks(1).state(), proto::TASK_LEASED);
  EXPECT_EQ(job.tasks(1).worker_id(), worker.id);
  EXPECT_EQ(job.tasks(1).lease_expires_unix_ms(), second.task().lease_expires_unix_ms());

  // The worker re-registers under its id and keeps its lease.
  std::string id = worker.id;
  ASSERT_TRUE(worker.Register(join_, proto::ROLE_EXTRACT, id).ok());
  EXPECT_EQ(worker.id, id);
  proto::HeartbeatResponse beat;
  ASSERT_TRUE(worker.Heartbeat({second.task().id()}, &beat).ok());
  EXPECT_EQ(beat.cancel_task_ids_size(), 0);
  ASSERT_TRUE(worker.CompleteExtract(second.task().id()).ok());
  proto::LeaseTaskResponse merge;
  ASSERT_TRUE(worker.Lease(&merge).ok());
  ASSERT_TRUE(merge.has_task());
  EXPECT_EQ(merge.task().kind(), proto::TASK_MERGE_ALIGNMENTS);
  EXPECT_EQ(merge.task().inputs_size(), 4);
  ASSERT_TRUE(
      worker
          .Complete(merge.task().id(), {worker.UploadBlob("alignments.fsca", "merged alignments")})
          .ok());
  proto::LeaseTaskResponse none;
  ASSERT_TRUE(worker.Lease(&none).ok());
  EXPECT_FALSE(none.has_task());

  job = GetJob(alice_, job_id);
  EXPECT_EQ(job.state(), proto::JOB_SUCCEEDED);
  for (const proto::Task& task : job.tasks()) EXPECT_EQ(task.attempt(), 1) << task.id();
  // The artifact downloads with the bytes the worker uploaded.
  proto::DownloadArtifactRequest download;
  download.set_version(1);
  download.set_job_id(job_id);
  auto context = Ctx(alice_);
  auto reader = client_->DownloadArtifact(context.get(), download);
  proto::FileChunk chunk;
  std::string bytes;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.path(), "alignments.fsca");
    bytes += chunk.data();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(bytes, "merged alignments");
  EXPECT_EQ(coordinator_->Kill(SIGTERM), 0) << "SIGTERM must exit cleanly";
}

TEST_F(CoordinatorServiceTest, SilentWorkerLosesItsTaskToAnother) {
  StartCoordinator({"--insecure", "--lease-ttl-ms", "1000", "--heartbeat-ms", "200"});
  proto::Dataset dataset;
  ASSERT_TRUE(Upload(client_.get(), alice_, Images(1), &dataset).ok());
  std::string job_id = SubmitExtract(alice_, dataset.id(), 0);
  TestWorker silent = NewWorker();
  TestWorker healthy = NewWorker();
  ASSERT_TRUE(silent.Register(join_, proto::ROLE_EXTRACT).ok());
  ASSERT_TRUE(healthy.Register(join_, proto::ROLE_EXTRACT).ok());
  proto::LeaseTaskResponse lost;
  ASSERT_TRUE(silent.Lease(&lost).ok());
  ASSERT_TRUE(lost.has_task());
  // The healthy worker long-polls; the task comes back to it once the silent lease expires.
  proto::LeaseTaskResponse taken;
  ASSERT_TRUE(healthy.Lease(&taken, 30000).ok());
  ASSERT_TRUE(taken.has_task());
  EXPECT_EQ(taken.task().id(), lost.task().id());
  EXPECT_EQ(taken.task().attempt(), 2);
  proto::HeartbeatResponse beat;
  ASSERT_TRUE(silent.Heartbeat({lost.task().id()}, &beat).ok());
  ASSERT_EQ(beat.cancel_task_ids_size(), 1);
  EXPECT_EQ(silent.CompleteExtract(lost.task().id()).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(healthy.CompleteExtract(taken.task().id()).ok());
  EXPECT_NE(coordinator_->Log().find("stopped heartbeating"), std::string::npos);
}

TEST_F(CoordinatorServiceTest, SigtermEndsFollowingStreamsAndLongPollsAndExitsCleanly) {
  StartCoordinator({"--insecure"});
  proto::Dataset dataset;
  ASSERT_TRUE(Upload(client_.get(), alice_, Images(1), &dataset).ok());
  std::string job_id = SubmitExtract(alice_, dataset.id(), 0);
  TestWorker worker = NewWorker();
  ASSERT_TRUE(worker.Register(join_, proto::ROLE_TRAIN).ok());  // nothing to lease: it waits

  proto::StreamJobEventsRequest request;
  request.set_version(1);
  request.set_job_id(job_id);
  request.set_follow(true);
  auto context = Ctx(alice_, 60);
  auto reader = client_->StreamJobEvents(context.get(), request);
  proto::JobEvent event;
  ASSERT_TRUE(reader->Read(&event));  // the stream is live (replayed "submitted")
  grpc::Status lease_status;
  std::thread poller([&] {
    proto::LeaseTaskResponse response;
    lease_status = worker.Lease(&response, 50000);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(coordinator_->Kill(SIGTERM), 0) << "SIGTERM must exit 0";
  while (reader->Read(&event)) {
  }
  grpc::Status stream_status = reader->Finish();
  poller.join();
  // Both calls ended (no 50 s wait): the stream says why, the long-poll came back empty or
  // unavailable.
  EXPECT_EQ(stream_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << stream_status.error_message();
  EXPECT_TRUE(lease_status.ok() || lease_status.error_code() == grpc::StatusCode::UNAVAILABLE)
      << lease_status.error_message();
  EXPECT_NE(coordinator_->Log().find("stopped"), std::string::npos);
}

TEST_F(CoordinatorServiceTest, RendezvousIsForTheTrainingTasksWorkers) {
  StartCoordinator({"--insecure"});
  proto::Dataset faces_a, faces_b;
  ASSERT_TRUE(Upload(client_.get(), alice_, Images(2), &faces_a).ok());
  ASSERT_TRUE(Upload(client_.get(), alice_, {{"b.png", "b"}}, &faces_b).ok());
  proto::SubmitJobRequest submit;
  submit.set_version(1);
  submit.mutable_spec()->set_kind(proto::JOB_TRAIN);
  submit.mutable_spec()->set_faces_a_dataset(faces_a.id());
  submit.mutable_spec()->set_faces_b_dataset(faces_b.id());
  proto::Job job;
  ASSERT_TRUE(client_->SubmitJob(Ctx(alice_).get(), submit, &job).ok());
  TestWorker trainer = NewWorker();
  TestWorker outsider = NewWorker();
  ASSERT_TRUE(trainer.Register(join_, proto::ROLE_TRAIN).ok());
  ASSERT_TRUE(outsider.Register(join_, proto::ROLE_TRAIN).ok());
  proto::LeaseTaskResponse lease;
  ASSERT_TRUE(trainer.Lease(&lease).ok());
  ASSERT_TRUE(lease.has_task());

  proto::MembershipRequest who;
  who.set_version(1);
  who.set_job_id(job.id());
  who.set_worker_id(trainer.id);
  proto::Membership membership;
  ASSERT_TRUE(rendezvous_->GetMembership(Ctx(trainer.session).get(), who, &membership).ok());
  EXPECT_EQ(membership.rank(), 0);
  EXPECT_EQ(membership.world_size(), 1);
  EXPECT_EQ(membership.generation(), 1);
  who.set_worker_id(outsider.id);
  EXPECT_EQ(rendezvous_->GetMembership(Ctx(outsider.session).get(), who, &membership).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  proto::KvSetRequest set;
  set.set_version(1);
  set.set_job_id(job.id());
  set.set_generation(1);
  set.set_key("rank0/address");
  set.set_value("10.0.0.1:2222");
  proto::KvSetResponse set_response;
  EXPECT_EQ(rendezvous_->KvSet(Ctx(outsider.session).get(), set, &set_response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  proto::KvGetRequest get;
  get.set_version(1);
  get.set_job_id(job.id());
  get.set_generation(1);
  get.add_keys("rank0/address");
  get.set_wait_ms(200);
  proto::KvGetResponse values;
  EXPECT_EQ(rendezvous_->KvGet(Ctx(trainer.session).get(), get, &values).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // A waiting KvGet returns once the key is set.
  get.set_wait_ms(20000);
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    proto::KvSetResponse response;
    EXPECT_TRUE(rendezvous_->KvSet(Ctx(trainer.session).get(), set, &response).ok());
  });
  grpc::Status got = rendezvous_->KvGet(Ctx(trainer.session).get(), get, &values);
  setter.join();
  ASSERT_TRUE(got.ok()) << got.error_message();
  ASSERT_EQ(values.values_size(), 1);
  EXPECT_EQ(values.values(0), "10.0.0.1:2222");
}

// `fsc-coordinator ARGS` against the test coordinator's database (while it serves it).
fsc::testing::CommandResult Admin(const std::string& args) {
  return RunCommand(BinDir() + "/fsc-coordinator " + args + " 2>&1");
}

TEST_F(CoordinatorServiceTest, RevokedAndExpiredTokensAreRefusedOnTheirNextCall) {
  StartCoordinator({"--insecure"});
  const std::string db = coordinator_->db();
  proto::ListJobsRequest request;
  request.set_version(1);
  proto::ListJobsResponse jobs;
  ASSERT_TRUE(client_->ListJobs(Ctx(alice_).get(), request, &jobs).ok());

  // The token's id is what `token list` shows: the first digits of its hash.
  const std::string alice_id = util::Sha256Hex(alice_).substr(0, 12);
  fsc::testing::CommandResult listed = Admin("token list --db " + db);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find(alice_id), std::string::npos) << listed.output;
  EXPECT_EQ(listed.output.find(alice_), std::string::npos) << "a secret was listed";
  fsc::testing::CommandResult revoked = Admin("token revoke --db " + db + " " + alice_id);
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;

  // The very next call: no restart, no cache to wait out.
  grpc::Status refused = client_->ListJobs(Ctx(alice_).get(), request, &jobs);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(refused.error_message().find("revoked"), std::string::npos) << refused.error_message();
  EXPECT_TRUE(client_->ListJobs(Ctx(bob_).get(), request, &jobs).ok());
  EXPECT_NE(Admin("token revoke --db " + db + " " + alice_id).exit_code, 0);
  EXPECT_NE(Admin("token list --db " + db + " --json").output.find("\"revoked\""),
            std::string::npos);

  // Expiry: a token for an hour works; one for a second is refused once its second is over.
  auto create = [&](const std::string& lifetime) {
    fsc::testing::CommandResult made = RunCommand(BinDir() + "/fsc-coordinator token create --db " +
                                                  db + " --user carol --expires-in " + lifetime);
    EXPECT_EQ(made.exit_code, 0) << made.output;
    return Trim(made.output);
  };
  const std::string hour = create("1h");
  const std::string second = create("1s");
  EXPECT_TRUE(client_->ListJobs(Ctx(hour).get(), request, &jobs).ok());
  grpc::Status expired;
  for (int i = 0; i < 300; ++i) {
    expired = client_->ListJobs(Ctx(second).get(), request, &jobs);
    if (!expired.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(expired.error_message().find("expired"), std::string::npos) << expired.error_message();
  EXPECT_EQ(Admin("token create --db " + db + " --user carol --expires-in soon").exit_code, 2);
}

TEST_F(CoordinatorServiceTest, RevokingAJoinTokenEndsTheSessionsOfItsWorkers) {
  StartCoordinator({"--insecure"});
  const std::string db = coordinator_->db();
  const std::string other_join = CreateToken(db, "");
  TestWorker worker = NewWorker();
  TestWorker other = NewWorker();
  ASSERT_TRUE(worker.Register(join_, proto::ROLE_EXTRACT).ok());
  ASSERT_TRUE(other.Register(other_join, proto::ROLE_EXTRACT).ok());
  proto::HeartbeatResponse beat;
  ASSERT_TRUE(worker.Heartbeat({}, &beat).ok());

  fsc::testing::CommandResult revoked =
      Admin("join-token revoke --db " + db + " " + util::Sha256Hex(join_).substr(0, 12));
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;
  grpc::Status refused = worker.Heartbeat({}, &beat);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(refused.error_message().find("registered with"), std::string::npos)
      << refused.error_message();
  EXPECT_NE(refused.error_message().find("was revoked"), std::string::npos)
      << refused.error_message();
  grpc::Status again = worker.Register(join_, proto::ROLE_EXTRACT, worker.id);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(again.error_message().find("join token"), std::string::npos) << again.error_message();
  // Workers of other join tokens go on.
  EXPECT_TRUE(other.Heartbeat({}, &beat).ok());
}

TEST_F(CoordinatorServiceTest, VideosArePlannedFromTheirDeclarationWithoutDecoding) {
  StartCoordinator({"--insecure", "--max-tasks-per-job", "100"});
  // Not a video at all: the coordinator must not need to open it.
  const std::string bytes(1189270, 'v');
  proto::MediaInfo forged;
  forged.set_frame_count(2147483647);
  proto::Dataset dataset;
  grpc::Status upload =
      Upload(client_.get(), alice_, {{"Megamind.avi", bytes}}, &dataset, 1 << 20, &forged);
  EXPECT_EQ(upload.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(upload.error_message().find("cannot fit in 1189270 bytes"), std::string::npos)
      << upload.error_message();

  // Undeclared (an older client): stored, but no job can be planned over it.
  ASSERT_TRUE(Upload(client_.get(), alice_, {{"Megamind.avi", bytes}}, &dataset).ok());
  proto::SubmitJobRequest submit;
  submit.set_version(1);
  submit.mutable_spec()->set_kind(proto::JOB_EXTRACT);
  submit.mutable_spec()->set_input_dataset(dataset.id());
  proto::Job job;
  grpc::Status undeclared = client_->SubmitJob(Ctx(alice_).get(), submit, &job);
  EXPECT_EQ(undeclared.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(undeclared.error_message().find("not declared"), std::string::npos)
      << undeclared.error_message();

  // Declared again with the upload: 270 frames are 5 ranges of 64 and a merge.
  proto::MediaInfo honest;
  honest.set_frame_count(270);
  ASSERT_TRUE(
      Upload(client_.get(), alice_, {{"Megamind.avi", bytes}}, &dataset, 1 << 20, &honest).ok());
  EXPECT_EQ(dataset.media().frame_count(), 270);
  ASSERT_TRUE(client_->SubmitJob(Ctx(alice_).get(), submit, &job).ok());
  EXPECT_EQ(GetJob(alice_, job.id()).tasks_size(), 6);
  // Past this coordinator's limit of 100 tasks per job: refused, with what would fit.
  submit.mutable_spec()->set_frames_per_task(2);
  grpc::Status too_many = client_->SubmitJob(Ctx(alice_).get(), submit, &job);
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(too_many.error_message().find("--frames-per-task 3 or more"), std::string::npos)
      << too_many.error_message();
}

}  // namespace
}  // namespace fsc
