// coordinator_bench: how many workers one coordinator serves. Starts an in-process coordinator
// (insecure loopback, a temp SQLite db with synchronous=FULL, real services) and N simulated
// workers multiplexed over a pool of client threads. Each worker registers, then loops:
// Heartbeat (renewing the tasks it holds), LeaseTask when it holds none, CompleteTask after
// holding a task for two heartbeats. Enough extract jobs are submitted to keep tasks available.
// Prints heartbeats/s, leases/s and p50/p99 latency of Heartbeat and LeaseTask, next to the same
// load against a trivial in-process gRPC service with the same messages (the transport floor).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/datasets.h"
#include "coordinator/server.h"
#include "coordinator/tokens.h"
#include "core/util/flags.h"
#include "core/util/sha256.h"
#include "proto/fsc.grpc.pb.h"

namespace fsc::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

// The transport floor: WorkerService answering Heartbeat and LeaseTask without doing anything.
class EchoWorkerService final : public proto::WorkerService::Service {
 public:
  grpc::Status Register(grpc::ServerContext*, const proto::RegisterRequest* request,
                        proto::RegisterResponse* response) override {
    response->set_worker_id(absl::StrCat("echo-", request->name()));
    response->set_session_token("echo");
    return grpc::Status::OK;
  }
  grpc::Status Heartbeat(grpc::ServerContext*, const proto::HeartbeatRequest*,
                         proto::HeartbeatResponse*) override {
    return grpc::Status::OK;
  }
  grpc::Status LeaseTask(grpc::ServerContext*, const proto::LeaseTaskRequest* request,
                         proto::LeaseTaskResponse* response) override {
    // Hand out a task-sized message so the bytes on the wire are comparable.
    response->mutable_task()->set_id(absl::StrCat(request->worker_id(), "-task"));
    return grpc::Status::OK;
  }
  grpc::Status CompleteTask(grpc::ServerContext*, const proto::CompleteTaskRequest*,
                            proto::CompleteTaskResponse*) override {
    return grpc::Status::OK;
  }
};

struct Latencies {
  std::vector<double> heartbeat_us;
  std::vector<double> lease_us;
  int64_t leases_with_task = 0;
  int64_t completes = 0;
  int64_t errors = 0;
  std::string first_error;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

struct SimWorker {
  std::string id;
  std::string session;
  std::string task;  // held task id, empty when none
  int beats_held = 0;
};

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

// Runs the worker loop against `address` for `seconds`, returns what was measured.
Latencies RunLoad(const std::string& address, const std::string& join_token, int workers,
                  int threads, double seconds, const proto::FileEntry& output) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  // A few channels (HTTP/2 connections), as many hosts would open many; one per thread.
  for (int i = 0; i < threads; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("fsc.bench.channel", i);  // distinct args: distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  std::vector<SimWorker> sims(static_cast<size_t>(workers));
  std::atomic<int64_t> register_errors{0};
  // Registration (not timed).
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        auto stub = proto::WorkerService::NewStub(channels[static_cast<size_t>(t)]);
        for (int w = t; w < workers; w += threads) {
          proto::RegisterRequest request;
          request.set_version(1);
          request.set_join_token(join_token);
          request.set_name(absl::StrCat("sim-", w));
          request.add_roles(proto::ROLE_EXTRACT);
          proto::RegisterResponse response;
          grpc::ClientContext context;
          if (!stub->Register(&context, request, &response).ok()) ++register_errors;
          sims[static_cast<size_t>(w)].id = response.worker_id();
          sims[static_cast<size_t>(w)].session = response.session_token();
        }
      });
    }
    for (std::thread& thread : pool) thread.join();
  }
  if (register_errors > 0)
    std::cerr << "coordinator_bench: " << register_errors << " registrations failed\n";

  std::vector<Latencies> per_thread(static_cast<size_t>(threads));
  auto end = Clock::now() +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto stub = proto::WorkerService::NewStub(channels[static_cast<size_t>(t)]);
      Latencies& out = per_thread[static_cast<size_t>(t)];
      auto error = [&](const grpc::Status& status, const char* what) {
        ++out.errors;
        if (out.first_error.empty())
          out.first_error = absl::StrCat(what, ": ", status.error_message());
      };
      while (Clock::now() < end) {
        for (int w = t; w < workers && Clock::now() < end; w += threads) {
          SimWorker& sim = sims[static_cast<size_t>(w)];
          proto::HeartbeatRequest beat;
          beat.set_version(1);
          beat.set_worker_id(sim.id);
          if (!sim.task.empty()) beat.add_task_ids(sim.task);
          proto::HeartbeatResponse beat_response;
          auto start = Clock::now();
          grpc::Status status = stub->Heartbeat(Ctx(sim.session).get(), beat, &beat_response);
          out.heartbeat_us.push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - start).count());
          if (!status.ok()) error(status, "Heartbeat");
          if (sim.task.empty()) {
            proto::LeaseTaskRequest lease;
            lease.set_version(1);
            lease.set_worker_id(sim.id);
            lease.set_wait_ms(0);
            proto::LeaseTaskResponse lease_response;
            start = Clock::now();
            status = stub->LeaseTask(Ctx(sim.session).get(), lease, &lease_response);
            out.lease_us.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - start).count());
            if (!status.ok()) error(status, "LeaseTask");
            if (lease_response.has_task()) {
              ++out.leases_with_task;
              sim.task = lease_response.task().id();
              sim.beats_held = 0;
            }
          } else if (++sim.beats_held >= 2) {
            proto::CompleteTaskRequest complete;
            complete.set_version(1);
            complete.set_worker_id(sim.id);
            complete.set_task_id(sim.task);
            *complete.add_outputs() = output;
            proto::CompleteTaskResponse complete_response;
            status = stub->CompleteTask(Ctx(sim.session).get(), complete, &complete_response);
            if (!status.ok()) error(status, "CompleteTask");
            ++out.completes;
            sim.task.clear();
          }
        }
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  Latencies total;
  for (Latencies& part : per_thread) {
    total.heartbeat_us.insert(total.heartbeat_us.end(), part.heartbeat_us.begin(),
                              part.heartbeat_us.end());
    total.lease_us.insert(total.lease_us.end(), part.lease_us.begin(), part.lease_us.end());
    total.leases_with_task += part.leases_with_task;
    total.completes += part.completes;
    total.errors += part.errors;
    if (total.first_error.empty()) total.first_error = part.first_error;
  }
  return total;
}

nlohmann::json Report(const std::string& name, const Latencies& l, double seconds) {
  return {{"name", name},
          {"heartbeats_per_s", static_cast<double>(l.heartbeat_us.size()) / seconds},
          {"lease_calls_per_s", static_cast<double>(l.lease_us.size()) / seconds},
          {"leases_per_s", static_cast<double>(l.leases_with_task) / seconds},
          {"completes_per_s", static_cast<double>(l.completes) / seconds},
          {"heartbeat_p50_ms", Percentile(l.heartbeat_us, 0.50) / 1000},
          {"heartbeat_p99_ms", Percentile(l.heartbeat_us, 0.99) / 1000},
          {"lease_p50_ms", Percentile(l.lease_us, 0.50) / 1000},
          {"lease_p99_ms", Percentile(l.lease_us, 0.99) / 1000},
          {"errors", l.errors}};
}

int Main(const std::vector<std::string>& args) {
  int workers = 500;
  int threads = 16;
  double seconds = 10;
  int jobs = 200;
  int frames = 64;
  bool json = false;
  util::FlagSet flags("coordinator_bench", "[--workers N] [--seconds S] [--threads T] [--json]",
                      "Simulated workers heartbeating and leasing against a real in-process "
                      "coordinator, next to the same load on a trivial gRPC service.");
  flags.Int("workers", 0, &workers, "simulated workers");
  flags.Int("threads", 0, &threads, "client threads multiplexing the workers");
  flags.Double("seconds", 0, &seconds, "measured time per target");
  flags.Int("jobs", 0, &jobs, "extract jobs submitted up front (one task per image)");
  flags.Int("frames", 0, &frames, "images per job's dataset (= tasks per job, plus a merge)");
  flags.Bool("json", 0, &json, "print the figures as JSON");
  std::vector<std::string> positional;
  if (std::optional<int> exit = flags.ParseOrExit(args, &positional)) return *exit;
  if (workers < 1 || threads < 1 || seconds <= 0 || jobs < 0 || frames < 1) {
    std::cerr << "coordinator_bench: --workers, --threads, --frames >= 1, --seconds > 0\n";
    return 2;
  }

  char pattern[] = "/tmp/coordinator_bench.XXXXXX";
  std::string dir = mkdtemp(pattern);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.db_path = dir + "/fsc.db";
  options.data_dir = dir + "/data";
  options.insecure = true;
  options.scheduler.log_to_stderr = false;
  options.scheduler.lease_ttl_ms = 30000;
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server = CoordinatorServer::Start(options);
  if (!server.ok()) {
    std::cerr << "coordinator_bench: " << server.status() << "\n";
    return 1;
  }
  Store* store = (*server)->store();
  std::string join = NewToken("fscj_");
  if (!store->AddJoinToken(HashToken(join), 0).ok()) return 1;

  // One images dataset (frames = files; nothing is decoded) and `jobs` extract jobs over it.
  std::unique_ptr<BlobStore> blobs = BlobStore::Open(options.data_dir).value();
  proto::Dataset dataset;
  std::vector<proto::FileEntry> files;
  for (int i = 0; i < frames; ++i) {
    std::string bytes = absl::StrCat("image ", i);
    proto::FileEntry file;
    file.set_path(absl::StrFormat("img_%04d.png", i));
    file.set_size(static_cast<int64_t>(bytes.size()));
    file.set_sha256(blobs->Put(bytes).value());
    files.push_back(file);
    *dataset.add_files() = file;
  }
  dataset.set_id(DatasetId(files));
  dataset.set_owner("bench");
  if (!store->PutDataset(dataset).ok()) return 1;
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_EXTRACT);
  spec.set_input_dataset(dataset.id());
  spec.set_frames_per_task(1);
  for (int j = 0; j < jobs; ++j) {
    spec.set_priority(j % 10);
    absl::StatusOr<proto::Job> job = (*server)->scheduler()->Submit("bench", spec);
    if (!job.ok()) {
      std::cerr << "coordinator_bench: submit: " << job.status() << "\n";
      return 1;
    }
  }
  std::string alignments = "bench alignments";
  proto::FileEntry output;
  output.set_path("alignments.fsa");
  output.set_size(static_cast<int64_t>(alignments.size()));
  output.set_sha256(blobs->Put(alignments).value());

  // The peer: a trivial service on its own server in the same process.
  EchoWorkerService echo;
  grpc::ServerBuilder builder;
  int echo_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &echo_port);
  builder.RegisterService(&echo);
  std::unique_ptr<grpc::Server> echo_server = builder.BuildAndStart();

  std::cerr << absl::StrFormat(
      "coordinator_bench: %d workers on %d client threads, %.0f s per target, %d jobs x %d "
      "tasks queued, %u cores\n",
      workers, threads, seconds, jobs, frames + 1, std::thread::hardware_concurrency());
  Latencies floor =
      RunLoad(absl::StrCat("127.0.0.1:", echo_port), join, workers, threads, seconds, output);
  Latencies real = RunLoad(absl::StrCat("127.0.0.1:", (*server)->port()), join, workers, threads,
                           seconds, output);
  nlohmann::json report = {{"workers", workers},
                           {"threads", threads},
                           {"seconds", seconds},
                           {"coordinator", Report("fsc-coordinator", real, seconds)},
                           {"transport_floor", Report("echo service", floor, seconds)}};
  if (!real.first_error.empty()) report["first_error"] = real.first_error;
  echo_server->Shutdown();
  (*server)->Shutdown();
  server->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  if (json) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  auto row = [](const nlohmann::json& r) {
    std::printf("%-16s %12.0f %12.0f %10.0f %10.2f %10.2f %10.2f %10.2f %7lld\n",
                r["name"].get<std::string>().c_str(), r["heartbeats_per_s"].get<double>(),
                r["lease_calls_per_s"].get<double>(), r["leases_per_s"].get<double>(),
                r["heartbeat_p50_ms"].get<double>(), r["heartbeat_p99_ms"].get<double>(),
                r["lease_p50_ms"].get<double>(), r["lease_p99_ms"].get<double>(),
                static_cast<long long>(r["errors"].get<int64_t>()));
  };
  std::printf("%-16s %12s %12s %10s %10s %10s %10s %10s %7s\n", "target", "heartbeats/s",
              "lease calls/s", "leases/s", "hb p50 ms", "hb p99 ms", "lease p50", "lease p99",
              "errors");
  row(report["coordinator"]);
  row(report["transport_floor"]);
  if (!real.first_error.empty()) std::printf("first error: %s\n", real.first_error.c_str());
  return 0;
}

}  // namespace
}  // namespace fsc::coordinator

int main(int argc, char** argv) {
  return fsc::coordinator::Main(std::vector<std::string>(argv + 1, argv + argc));
}
