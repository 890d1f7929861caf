// metrics_bench: what observability costs the coordinator.
//  1. The gRPC server interceptor behind fsc_rpc_duration_seconds: unary calls/s and p50 latency
//     of a trivial WorkerService.Heartbeat on an in-process server with the interceptor, next to
//     the same server without it (the peer), alternating rounds, best of each.
//  2. One /metrics scrape of a coordinator holding --workers workers and --jobs queued jobs: the
//     coordinator collector's ClusterStatus (SQLite counts) plus collection and text rendering of
//     the whole exposition (every RPC method's histogram included), next to the same scrape
//     without the collector (the peer: the registry's rendering alone).
// Prints only; nothing fails on speed.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/datasets.h"
#include "coordinator/metrics.h"
#include "coordinator/scheduler.h"
#include "coordinator/tokens.h"
#include "core/metrics/exposition.h"
#include "core/metrics/rpc_interceptor.h"
#include "core/util/flags.h"
#include "proto/fsc.grpc.pb.h"

namespace fsc::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

class EchoWorkerService final : public proto::WorkerService::Service {
 public:
  grpc::Status Heartbeat(grpc::ServerContext*, const proto::HeartbeatRequest*,
                         proto::HeartbeatResponse*) override {
    return grpc::Status::OK;
  }
};

struct RpcFigures {
  double calls_per_second = 0;
  double p50_ms = 0;
};

// `threads` clients calling Heartbeat for `seconds` on `port`.
RpcFigures Hammer(int port, int threads, double seconds) {
  std::atomic<int64_t> calls{0};
  std::vector<std::vector<double>> latencies(threads);
  const Clock::time_point end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // One channel per thread, so threads do not share an HTTP/2 connection.
      grpc::ChannelArguments args;
      args.SetInt("fsc.bench.channel", t);
      auto stub = proto::WorkerService::NewStub(grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args));
      proto::HeartbeatRequest request;
      request.set_worker_id("bench");
      while (Clock::now() < end) {
        grpc::ClientContext context;
        proto::HeartbeatResponse response;
        const Clock::time_point start = Clock::now();
        if (stub->Heartbeat(&context, request, &response).ok()) {
          latencies[t].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
          ++calls;
        }
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  RpcFigures figures;
  figures.calls_per_second = static_cast<double>(calls.load()) / seconds;
  figures.p50_ms = all.empty() ? 0 : all[all.size() / 2];
  return figures;
}

std::unique_ptr<grpc::Server> EchoServer(EchoWorkerService* service, bool intercepted, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  builder.RegisterService(service);
  if (intercepted) builder.experimental().SetInterceptorCreators(metrics::RpcMetricsInterceptors());
  return builder.BuildAndStart();
}

// Milliseconds per scrape (collect + render) of the default exposition, best of `rounds` x `n`.
double ScrapeMs(int n, int rounds, size_t* bytes) {
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const Clock::time_point start = Clock::now();
    for (int i = 0; i < n; ++i) *bytes = metrics::Exposition::Default().Text().size();
    best =
        std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - start).count() / n);
  }
  return best;
}

int Main(const std::vector<std::string>& args) {
  int threads = 2, workers = 200, jobs = 200, rounds = 3, scrapes = 50;
  double seconds = 2;
  bool json = false;
  util::FlagSet flags(
      "metrics_bench", "[--threads T] [--seconds S] [--rounds R] [--workers W] [--jobs J] [--json]",
      "The cost of the coordinator's metrics: the RPC interceptor (calls/s with and "
      "without it) and one /metrics scrape (with and without the cluster gauges' "
      "refresh).");
  flags.Int("threads", 0, &threads, "client threads calling the echo server");
  flags.Double("seconds", 0, &seconds, "length of one measured round");
  flags.Int("rounds", 0, &rounds, "alternating rounds per target (best is kept)");
  flags.Int("workers", 0, &workers, "registered workers in the scraped coordinator");
  flags.Int("jobs", 0, &jobs, "queued extract jobs in the scraped coordinator");
  flags.Int("scrapes", 0, &scrapes, "scrapes per round");
  flags.Bool("json", 0, &json, "print the figures as JSON");
  std::vector<std::string> positional;
  if (std::optional<int> exit = flags.ParseOrExit(args, &positional)) return *exit;

  // 1. Interceptor.
  EchoWorkerService plain_service, timed_service;
  int plain_port = 0, timed_port = 0;
  std::unique_ptr<grpc::Server> plain = EchoServer(&plain_service, false, &plain_port);
  std::unique_ptr<grpc::Server> timed = EchoServer(&timed_service, true, &timed_port);
  RpcFigures best_plain, best_timed;
  for (int r = 0; r < rounds; ++r) {
    RpcFigures p = Hammer(plain_port, threads, seconds);
    RpcFigures t = Hammer(timed_port, threads, seconds);
    if (p.calls_per_second > best_plain.calls_per_second) best_plain = p;
    if (t.calls_per_second > best_timed.calls_per_second) best_timed = t;
  }
  plain->Shutdown();
  timed->Shutdown();

  // 2. Scrape of a coordinator with `workers` workers and `jobs` queued jobs.
  std::string dir = (std::filesystem::temp_directory_path() / "fsc-metrics-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("metrics_bench: mkdtemp");
    return 1;
  }
  std::unique_ptr<Store> store = Store::Open(dir + "/fsc.db").value();
  std::unique_ptr<BlobStore> blobs = BlobStore::Open(dir + "/data").value();
  SchedulerOptions options;
  options.log_to_stderr = false;
  Scheduler scheduler(store.get(), blobs.get(), options);
  metrics::InitRpcMetrics(
      {"fsc.proto.ClientService", "fsc.proto.WorkerService", "fsc.proto.RendezvousService"});
  for (int w = 0; w < workers; ++w) {
    proto::RegisterRequest request;
    request.set_name(absl::StrCat("w", w));
    request.add_roles(w % 2 ? proto::ROLE_EXTRACT : proto::ROLE_TRAIN);
    if (!scheduler.Register(request, NewToken("fscw_")).ok()) return 1;
  }
  proto::Dataset dataset;
  proto::FileEntry file;
  file.set_path("img.png");
  file.set_size(5);
  file.set_sha256(blobs->Put("image").value());
  *dataset.add_files() = file;
  dataset.set_id(DatasetId({file}));
  dataset.set_owner("bench");
  dataset.set_name("images");
  if (!store->PutDataset(dataset).ok()) return 1;
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_EXTRACT);
  spec.set_input_dataset(dataset.id());
  for (int j = 0; j < jobs; ++j) {
    if (!scheduler.Submit("bench", spec).ok()) return 1;
  }
  size_t bytes_with = 0, bytes_without = 0;
  double with_collector = 0, without_collector = 0;
  {
    CoordinatorMetrics collector(&scheduler);
    with_collector = ScrapeMs(scrapes, rounds, &bytes_with);
  }
  without_collector = ScrapeMs(scrapes, rounds, &bytes_without);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  const double overhead =
      best_plain.calls_per_second > 0
          ? 100.0 * (1 - best_timed.calls_per_second / best_plain.calls_per_second)
          : 0;
  if (json) {
    std::cout << nlohmann::json{{"threads", threads},
                                {"plain_calls_per_second", best_plain.calls_per_second},
                                {"plain_p50_ms", best_plain.p50_ms},
                                {"intercepted_calls_per_second", best_timed.calls_per_second},
                                {"intercepted_p50_ms", best_timed.p50_ms},
                                {"interceptor_overhead_percent", overhead},
                                {"workers", workers},
                                {"jobs", jobs},
                                {"scrape_ms_with_refresh", with_collector},
                                {"scrape_ms_render_only", without_collector},
                                {"scrape_bytes", bytes_with}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("Heartbeat on an in-process echo server, %d client threads, best of %d x %.1f s:\n",
              threads, rounds, seconds);
  std::printf("  %-28s %10.0f calls/s  p50 %.3f ms\n", "without interceptor (peer)",
              best_plain.calls_per_second, best_plain.p50_ms);
  std::printf("  %-28s %10.0f calls/s  p50 %.3f ms  (%.1f%% fewer calls/s)\n",
              "with metrics interceptor", best_timed.calls_per_second, best_timed.p50_ms, overhead);
  std::printf("/metrics scrape of a coordinator with %d workers and %d queued jobs (%zu bytes):\n",
              workers, jobs, bytes_with);
  std::printf("  %-28s %8.3f ms\n", "render only (peer)", without_collector);
  std::printf("  %-28s %8.3f ms\n", "cluster collector + render", with_collector);
  return 0;
}

}  // namespace
}  // namespace fsc::coordinator

int main(int argc, char** argv) {
  return fsc::coordinator::Main(std::vector<std::string>(argv + 1, argv + argc));
}
