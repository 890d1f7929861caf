// allreduce_bench: the gradient all-reduce of a real model across local ranks (processes of this
// program over Gloo on 127.0.0.1), next to its peer measured in the same run: gloo::allreduce
// (ring) called directly on one buffer of the same size, on a Gloo context of its own.
//
// Each rank builds the model (default "original", ~330 MB of float32 gradients), then
//  1. backward alone (no all-reduce), --steps times: the compute floor;
//  2. forward + backward with the GradientReducer's hooks (buckets all-reduced on the
//     communication thread while backward runs), --steps times: step time, time blocked after
//     backward (the all-reduce not hidden), all-reduce time on the communication thread, bytes;
//  3. gloo::allreduce of one flat buffer of all the gradients' size, --steps times.
// Rank 0 prints s/step and effective bandwidth (bytes per second of all-reduce, the algorithm
// bandwidth) of both, their ratio, and the share of the all-reduce hidden under backward.
// Usage: allreduce_bench [--model original] [--ranks 2] [--steps 3] [--bucket-mb 25] [--json]
#include <gloo/allreduce.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/dist/communicator.h"
#include "core/dist/file_store.h"
#include "core/dist/gloo_store.h"
#include "core/dist/gradient_reducer.h"
#include "core/dist/local_launcher.h"
#include "core/model/model_registry.h"
#include "core/util/file_io.h"
#include "core/util/flags.h"
#include "core/util/paths.h"

namespace fsc::dist {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Config {
  std::string model = "original";
  int ranks = 2, steps = 3, bucket_mb = 25, batch = 4, threads = 1;
  bool json = false;
  int rank = -1;  // >= 0: this process is a rank (started by the launcher)
  std::string store;
};

// One rank's measurements; rank 0 gathers them through the store.
struct Figures {
  double backward_only = 0;      // s/step, no all-reduce
  double step = 0;               // s/step, forward + backward + reducer
  double wait = 0;               // s/step blocked after backward
  double reducer_allreduce = 0;  // s/step of bucket all-reduces (communication thread)
  double serial_allreduce = 0;   // s/step of the same buckets all-reduced after backward
  double raw_allreduce = 0;      // s/step of gloo::allreduce on one buffer
  int64_t bytes = 0;             // gradient bytes per step
  int64_t buckets = 0;           // per step
};

absl::StatusOr<Figures> RunRank(const Config& c) {
  torch::set_num_threads(c.threads);
  FileStore store(c.store);
  CommunicatorOptions co;
  co.rank = c.rank;
  co.world_size = c.ranks;
  co.timeout = absl::Seconds(120);
  auto comm = Connect(co, &store);
  if (!comm.ok()) return comm.status();

  model::ModelOptions mo;
  mo.seed = 1;
  auto model = model::CreateModel(c.model, mo);
  if (!model.ok()) return model.status();
  model::FaceSwapModel& m = **model;
  std::vector<torch::Tensor> params = m.parameters();
  const int64_t s = m.input_size();
  torch::manual_seed(c.rank);
  const torch::Tensor input = torch::rand({2 * c.batch, 3, s, s});
  const torch::Tensor target = torch::rand({c.batch, 3, s, s});
  auto loss_of = [&] {
    torch::Tensor latent = m.Encode(input);
    torch::Tensor a = m.Decode(latent.narrow(0, 0, c.batch), model::Side::kA).face;
    torch::Tensor b = m.Decode(latent.narrow(0, c.batch, c.batch), model::Side::kB).face;
    return torch::mse_loss(a, target) + torch::mse_loss(b, target);
  };
  auto zero = [&] {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
  };
  auto grads = [&] {
    std::vector<torch::Tensor> g;
    for (auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      g.push_back(p.grad());
    }
    return g;
  };
  Figures f;
  // 1. Compute floor (one warm-up step first).
  for (int i = 0; i <= c.steps; ++i) {
    zero();
    const Clock::time_point start = Clock::now();
    loss_of().backward();
    if (i > 0) f.backward_only += Since(start) / c.steps;
  }
  // 2. With the reducer: first without overlap (the buckets' all-reduce alone, after backward,
  // not competing with it for the cores), then overlapped with backward.
  {
    auto reducer = GradientReducer::Create(comm->get(), {{"model", params}},
                                           static_cast<int64_t>(c.bucket_mb) << 20);
    if (!reducer.ok()) return reducer.status();
    (*reducer)->set_weight(1.0 / c.ranks);
    (*reducer)->set_overlap(false);
    for (int i = 0; i <= c.steps; ++i) {
      zero();
      loss_of().backward();
      absl::Status st = (*reducer)->Finish("model", grads());
      if (!st.ok()) return st;
      ReducerStats rs = (*reducer)->TakeStats();
      if (i > 0) f.serial_allreduce += rs.allreduce_seconds / c.steps;
    }
    (*reducer)->set_overlap(true);
    for (int i = 0; i <= c.steps; ++i) {
      zero();
      const Clock::time_point start = Clock::now();
      loss_of().backward();
      absl::Status st = (*reducer)->Finish("model", grads());
      if (!st.ok()) return st;
      const double seconds = Since(start);
      ReducerStats rs = (*reducer)->TakeStats();
      if (i == 0) continue;  // warm-up
      f.step += seconds / c.steps;
      f.wait += rs.wait_seconds / c.steps;
      f.reducer_allreduce += rs.allreduce_seconds / c.steps;
      f.bytes = rs.bytes;
      f.buckets = rs.buckets;
    }
  }
  // 3. The peer: gloo::allreduce directly, one buffer of the same size, its own context.
  try {
    GlooStore gloo_store(&store, absl::Seconds(120));
    gloo::rendezvous::PrefixStore prefixed("raw", gloo_store);
    gloo::transport::tcp::attr attr;
    attr.hostname = "127.0.0.1";
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(c.rank, c.ranks);
    context->setTimeout(std::chrono::seconds(120));
    context->connectFullMesh(prefixed, device);
    std::vector<float> buffer(static_cast<size_t>(f.bytes / sizeof(float)), 1.0f);
    for (int i = 0; i <= c.steps; ++i) {
      gloo::AllreduceOptions opts(context);
      opts.setOutput(buffer.data(), buffer.size());
      opts.setReduceFunction(
          static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
      opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
      opts.setTag(static_cast<uint32_t>(i));
      const Clock::time_point start = Clock::now();
      gloo::allreduce(opts);
      if (i > 0) f.raw_allreduce += Since(start) / c.steps;
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("gloo::allreduce peer: ", e.what()));
  }
  return f;
}

nlohmann::json ToJson(const Figures& f) {
  return {{"backward_only_s", f.backward_only},
          {"step_s", f.step},
          {"wait_s", f.wait},
          {"reducer_allreduce_s", f.reducer_allreduce},
          {"raw_allreduce_s", f.raw_allreduce},
          {"serial_allreduce_s", f.serial_allreduce},
          {"bytes", f.bytes},
          {"buckets", f.buckets}};
}

int Main(int argc, char** argv) {
  Config c;
  util::FlagSet flags("allreduce_bench", "[options]",
                      "Gradient all-reduce of a model across local ranks (Gloo, 127.0.0.1) next "
                      "to gloo::allreduce on one buffer of the same size.");
  flags.String("model", 0, &c.model, "model whose gradients are all-reduced");
  flags.Int("ranks", 0, &c.ranks, "local ranks (processes)");
  flags.Int("steps", 0, &c.steps, "measured steps (after one warm-up)");
  flags.Int("bucket-mb", 0, &c.bucket_mb, "reducer bucket size in MiB");
  flags.Int("batch", 0, &c.batch, "faces per side per rank in the backward pass");
  flags.Int("threads", 0, &c.threads, "LibTorch threads per rank");
  flags.Bool("json", 0, &c.json, "print the figures as JSON");
  flags.Int("rank", 0, &c.rank, "(internal) run as this rank");
  flags.String("store", 0, &c.store, "(internal) rendezvous folder");
  std::vector<std::string> args(argv + 1, argv + argc), positional;
  if (auto code = flags.ParseOrExit(args, &positional)) return *code;
  if (c.ranks < 2 || c.steps < 1 || c.bucket_mb < 1 || c.batch < 1) {
    std::cerr << "allreduce_bench: --ranks >= 2, --steps, --bucket-mb, --batch >= 1\n";
    return 2;
  }
  if (c.rank >= 0) {
    absl::StatusOr<Figures> f = RunRank(c);
    if (!f.ok()) {
      std::cerr << "allreduce_bench: rank " << c.rank << ": " << f.status() << "\n";
      return 1;
    }
    return util::WriteFileAtomically(absl::StrCat(c.store, "/figures-", c.rank, ".json"),
                                     ToJson(*f).dump())
                   .ok()
               ? 0
               : 1;
  }
  char pattern[] = "/tmp/fsc-allreduce-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string store = pattern;
  absl::StatusOr<std::string> self = util::SelfExecutable();
  if (!self.ok()) return 1;
  std::vector<std::vector<std::string>> argvs;
  for (int r = 0; r < c.ranks; ++r) {
    argvs.push_back({*self, "--model", c.model, "--ranks", std::to_string(c.ranks), "--steps",
                     std::to_string(c.steps), "--bucket-mb", std::to_string(c.bucket_mb), "--batch",
                     std::to_string(c.batch), "--threads", std::to_string(c.threads), "--rank",
                     std::to_string(r), "--store", store});
  }
  std::fprintf(stderr, "allreduce_bench: %d ranks of %s, %d steps...\n", c.ranks, c.model.c_str(),
               c.steps);
  auto exits = RunLocalRanks(argvs, absl::Seconds(30));
  int failed = !exits.ok();
  if (exits.ok()) {
    for (const RankExit& e : *exits) failed |= e.exit_code != 0;
  }
  nlohmann::json per_rank = nlohmann::json::array();
  for (int r = 0; r < c.ranks && !failed; ++r) {
    auto text = util::ReadFile(absl::StrCat(store, "/figures-", r, ".json"));
    if (!text.ok()) {
      failed = 1;
      break;
    }
    per_rank.push_back(nlohmann::json::parse(*text));
  }
  std::error_code ec;
  std::filesystem::remove_all(store, ec);
  if (failed) {
    std::cerr << "allreduce_bench: a rank failed\n";
    return 1;
  }
  // Rank 0's view (every rank waits for the slowest, so they agree closely).
  const nlohmann::json& f = per_rank[0];
  const double bytes = f["bytes"].get<double>();
  const double reducer = f["reducer_allreduce_s"], raw = f["raw_allreduce_s"];
  const double serial = f["serial_allreduce_s"];
  const double wait = f["wait_s"], step = f["step_s"], backward = f["backward_only_s"];
  const double hidden = reducer > 0 ? std::max(0.0, 1.0 - wait / reducer) : 0;
  nlohmann::json out = {{"model", c.model},
                        {"ranks", c.ranks},
                        {"bucket_mb", c.bucket_mb},
                        {"gradient_mb", bytes / 1e6},
                        {"buckets", f["buckets"]},
                        {"reducer_allreduce_s_per_step", serial},
                        {"reducer_bandwidth_mb_s", bytes / serial / 1e6},
                        {"gloo_allreduce_s_per_step", raw},
                        {"gloo_bandwidth_mb_s", bytes / raw / 1e6},
                        {"reducer_vs_gloo", serial / raw},
                        {"overlapped_allreduce_s_per_step", reducer},
                        {"backward_only_s_per_step", backward},
                        {"step_with_reducer_s", step},
                        {"wait_after_backward_s", wait},
                        {"hidden_share", hidden},
                        {"per_rank", per_rank}};
  if (c.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("model %s, %d ranks, %.1f MB of gradients in %d buckets of <= %d MiB\n",
              c.model.c_str(), c.ranks, bytes / 1e6, f["buckets"].get<int>(), c.bucket_mb);
  std::printf("  reducer buckets after backward  %8.3f s/step  %8.1f MB/s\n", serial,
              bytes / serial / 1e6);
  std::printf(
      "  gloo::allreduce, one buffer     %8.3f s/step  %8.1f MB/s   (reducer / gloo = "
      "%.2fx)\n",
      raw, bytes / raw / 1e6, serial / raw);
  std::printf(
      "  overlapped with backward: all-reduce %.3f s/step on the communication thread; "
      "backward alone %.3f s, step with reducer %.3f s, waited %.3f s after backward: "
      "%.0f%% of the all-reduce hidden\n",
      reducer, backward, step, wait, 100 * hidden);
  return 0;
}

}  // namespace
}  // namespace fsc::dist

int main(int argc, char** argv) { return fsc::dist::Main(argc, argv); }
