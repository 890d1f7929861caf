// fsc bench: speed measurements of fsc's engines. `fsc bench train` times the full training step
// (both sides, losses, backward, optimiser) on random data, so it needs no faces.
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "core/model/model_registry.h"
#include "core/train/train_step.h"
#include "core/util/flags.h"
#include "core/util/limits.h"

namespace fsc::cli {
namespace {

train::Batch RandomBatch(train::Side side, int batch, int64_t size, bool mask) {
  train::Batch b;
  b.side = side;
  b.input = torch::rand({batch, 3, size, size});
  b.target = torch::rand({batch, 3, size, size});
  if (mask) b.mask = (torch::rand({batch, 1, size, size}) > 0.3).to(torch::kFloat32);
  return b;
}

int RunBenchTrain(const Args& args) {
  train::TrainOptions options;
  int iterations = 20, warmup = 3;
  bool json = false;
  options.threads = 0;
  util::FlagSet flags("fsc bench train", "[options]",
                      "Times the full training step (A and B through encoder and decoders, "
                      "losses, backward,\nAdam) on random data after a few warm-up steps.");
  flags.String("model", 0, &options.model, "model: " + absl::StrJoin(model::ModelNames(), ", "));
  flags.Int("batch", 'b', &options.batch_size, "faces per side per step", {1, 4096});
  flags.Int("iterations", 'i', &iterations, "timed steps", {1, 1000000});
  flags.Int("warmup", 0, &warmup, "untimed steps first", {0, 1000000});
  flags.Int("threads", 'j', &options.threads, "LibTorch threads (0: one per core)",
            {0, util::kMaxThreads});
  flags.String("precision", 0, &options.precision,
               "auto (bf16 where the CPU or GPU has it, else fp32), fp32, bf16 or fp16 (GPU)");
  flags.String("device", 0, &options.device, "auto, cpu, cuda or cuda:N");
  flags.String("loss", 0, &options.loss, "loss spec");
  flags.Bool("learn-mask", 0, &options.learn_mask, "with the mask output");
  flags.Double("gan-weight", 0, &options.gan_weight, "with the adversarial loss", {0, 1e6});
  flags.Bool("json", 0, &json, "print the result as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (iterations < 1 || warmup < 0) {
    std::cerr << "fsc bench train: --iterations must be >= 1 and --warmup >= 0\n";
    return 2;
  }
  auto step = train::TrainStep::Create(options);
  if (!step.ok()) {
    std::cerr << "fsc bench train: " << step.status().message() << "\n";
    return 1;
  }
  const int64_t size = (*step)->model().input_size();
  torch::manual_seed(0);
  const train::Batch a = RandomBatch(train::Side::kA, options.batch_size, size, options.learn_mask);
  const train::Batch b = RandomBatch(train::Side::kB, options.batch_size, size, options.learn_mask);
  for (int i = 0; i < warmup + iterations; ++i) {
    if (i == warmup) {
      if ((*step)->device().is_cuda()) torch::cuda::synchronize();
    }
    static std::chrono::steady_clock::time_point start;
    if (i == warmup) start = std::chrono::steady_clock::now();
    auto losses = (*step)->Run(a, b);
    if (!losses.ok()) {
      std::cerr << "fsc bench train: " << losses.status().message() << "\n";
      return 1;
    }
    if (i + 1 == warmup + iterations) {
      if ((*step)->device().is_cuda()) torch::cuda::synchronize();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double step_seconds = seconds / iterations;
      const double eps = 2.0 * options.batch_size / step_seconds;
      const int threads = torch::get_num_threads();
      if (json) {
        nlohmann::json out = {{"examples_per_sec", eps},
                              {"step_seconds", step_seconds},
                              {"model", options.model},
                              {"parameters", (*step)->model().ParameterCount()},
                              {"batch", options.batch_size},
                              {"threads", threads},
                              {"precision", train::PrecisionName((*step)->precision())},
                              {"device", (*step)->device().str()},
                              {"iterations", iterations},
                              {"warmup", warmup}};
        std::cout << out.dump() << "\n";
      } else {
        std::cout << absl::StrFormat(
            "train step %s batch %d x 2 sides, %s, %d threads on %s: %.3f s/step, %.1f "
            "examples/s\n",
            options.model, options.batch_size, train::PrecisionName((*step)->precision()), threads,
            (*step)->device().str(), step_seconds, eps);
      }
    }
  }
  return 0;
}

}  // namespace

int RunBenchCommand(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: fsc bench WHAT [options]   (fsc bench WHAT --help)\n\n"
                 "  train    time the full training step on random data\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "train") return RunBenchTrain(Args(args.begin() + 1, args.end()));
  std::cerr << "fsc bench: unknown benchmark '" << args[0] << "' (see 'fsc bench --help')\n";
  return 2;
}

}  // namespace fsc::cli
