// fsc train: flags and wiring for core/train/trainer, with Ctrl-C saving the model before exit
// and, with --metrics-port, Prometheus metrics served while training.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "core/dist/elastic.h"
#include "core/dist/local_group.h"
#include "core/dist/local_launcher.h"
#include "core/metrics/gpu_memory.h"
#include "core/metrics/http_server.h"
#include "core/metrics/standard_metrics.h"
#include "core/model/model_registry.h"
#include "core/train/checkpoint.h"
#include "core/train/train_gauges.h"
#include "core/train/train_spec.h"
#include "core/train/trainer.h"
#include "core/util/file_io.h"
#include "core/util/flags.h"
#include "core/util/json_fields.h"
#include "core/util/paths.h"
#include "core/util/progress.h"

namespace fsc::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

// --resume DIR or --resume=DIR among the arguments, or "".
std::string FindResume(const Args& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--resume" && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind("--resume=", 0) == 0) return args[i].substr(9);
  }
  return "";
}

std::string LossLine(const train::IntervalReport& r, bool gan, bool mask) {
  std::string line =
      absl::StrFormat("iter %7d  loss A %.5f  loss B %.5f", r.iteration, r.losses.a, r.losses.b);
  if (mask) absl::StrAppendFormat(&line, "  mask A %.5f  B %.5f", r.losses.mask_a, r.losses.mask_b);
  if (gan) {
    absl::StrAppendFormat(&line, "  G A %.4f  B %.4f  D A %.4f  B %.4f", r.losses.gan_g_a,
                          r.losses.gan_g_b, r.losses.gan_d_a, r.losses.gan_d_b);
  }
  absl::StrAppendFormat(&line, "  %.1f examples/s", r.examples_per_sec);
  return line;
}

// `fsc train --ranks N`: this process starts N ranks of itself (its arguments without --ranks,
// plus --dist-rank/--dist-world/--dist-store; ranks > 0 write their checkpoints to a folder of
// their own under the store) and waits for them. Rank 0 writes MODEL_DIR.
int RunLocalRanks(const Args& args, int ranks) {
  Args base;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--ranks") {
      ++i;
      continue;
    }
    if (args[i].rfind("--ranks=", 0) == 0) continue;
    base.push_back(args[i]);
  }
  absl::StatusOr<std::string> self = util::SelfExecutable();
  if (!self.ok()) {
    std::cerr << "fsc train: --ranks: " << self.status().message() << "\n";
    return 1;
  }
  char pattern[] = "/tmp/fsc-ranks-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    std::cerr << "fsc train: --ranks: cannot make a rendezvous folder in /tmp\n";
    return 1;
  }
  const std::string store = pattern;
  std::vector<std::vector<std::string>> argvs;
  for (int r = 0; r < ranks; ++r) {
    std::vector<std::string> argv = {*self, "train"};
    argv.insert(argv.end(), base.begin(), base.end());
    argv.insert(argv.end(), {"--dist-rank", std::to_string(r), "--dist-world",
                             std::to_string(ranks), "--dist-store", store});
    if (r > 0) {
      argv.insert(argv.end(), {"-m", absl::StrCat(store, "/rank-", r), "--metrics-port", "-1"});
    }
    argvs.push_back(std::move(argv));
  }
  std::cerr << "fsc train: starting " << ranks << " local ranks (rendezvous in " << store << ")\n";
  // Children share the terminal's Ctrl-C; this process only waits.
  std::signal(SIGINT, SIG_IGN);
  absl::StatusOr<std::vector<dist::RankExit>> exits = dist::RunLocalRanks(argvs, absl::Seconds(60));
  std::error_code ec;
  std::filesystem::remove_all(store, ec);
  if (!exits.ok()) {
    std::cerr << "fsc train: --ranks: " << exits.status().message() << "\n";
    return 1;
  }
  int code = 0;
  for (const dist::RankExit& e : *exits) {
    if (e.exit_code != 0) {
      std::cerr << "fsc train: rank " << e.rank << " exited with status " << e.exit_code << "\n";
      code = 1;
    }
  }
  return code;
}

// What the command line asked for, parsed and checked.
struct TrainRequest {
  train::TrainOptions options;
  std::string resume;  // the model folder to continue, or ""
  std::string architecture_file;
  bool json = false;
  metrics::MetricsFlags metrics;
  // Data-parallel training (core/dist). --batch stays the global batch whatever the ranks.
  dist::ElasticOptions elastic;
  int ranks = 1, dist_rank = 0, dist_world = 0, bucket_mb = 25, collective_timeout = 30;
  std::string dist_store;

  bool distributed() const { return dist_world > 1; }
  bool quiet() const { return distributed() && dist_rank > 0; }  // rank 0 speaks for the group
};

// The model, data, optimiser, loss and output flags.
void AddTrainingFlags(util::FlagSet* flags, TrainRequest* r) {
  train::TrainOptions& o = r->options;
  flags->String("a", 0, &o.faces_a, "folder of faces A (fsc extract output)");
  flags->String("b", 0, &o.faces_b, "folder of faces B");
  flags->String("model-dir", 'm', &o.model_dir, "model folder (checkpoints, previews)");
  flags->String("resume", 0, &r->resume, "continue the checkpoint in this model folder");
  // The options a cluster job also has (one definition: fsc.proto's TrainOptions).
  train::AddTrainSpecFlags(flags, &o);
  flags->String("architecture", 0, &r->architecture_file,
                "JSON file with a custom layout instead of --model (keys as in a checkpoint's "
                "\"architecture\"; for experiments and tests)");
  flags->Double("beta1", 0, &o.beta1, "Adam beta1");
  flags->Double("beta2", 0, &o.beta2, "Adam beta2");
  flags->Double("eye-multiplier", 0, &o.eye_multiplier, "loss weight of the eyes");
  flags->Double("mouth-multiplier", 0, &o.mouth_multiplier, "loss weight of the mouth");
  flags->String("mask", 0, &o.mask_type,
                "mask for the masked loss and --learn-mask: none, hull, components, extended");
  flags->Double("mask-loss-weight", 0, &o.mask_loss_weight, "weight of the learned mask's loss");
  flags->Double("coverage", 0, &o.coverage, "centre fraction of the face the model sees");
  flags->Bool("augment", 0, &o.augment, "random rotate/zoom/shift/flip and colour jitter");
  flags->Bool("warp", 0, &o.warp, "Faceswap's random warp of the input");
  flags->String("gan-loss", 0, &o.gan_loss, "adversarial loss: lsgan, bce");
  flags->Double("gan-lr", 0, &o.gan_learning_rate, "discriminators' Adam learning rate");
  flags->Double("clip-grad", 0, &o.clip_grad_norm, "clip gradients to this norm; 0: off");
  flags->Int("snapshot-every", 0, &o.snapshot_every,
             "keep a snapshot every N iterations (0: at every save)");
  flags->Int("keep-snapshots", 0, &o.keep_snapshots, "snapshots kept (oldest go first)");
  flags->Int("preview-every", 0, &o.preview_every,
             "write MODEL_DIR/preview.png every N iterations (0: never)");
  flags->Bool("timelapse", 0, &o.timelapse, "also keep timelapse/preview_NNNNNN.png");
  flags->Int("preview-rows", 0, &o.preview_rows, "face pairs in the preview");
  flags->Int("log-every", 0, &o.log_every, "print losses every N iterations");
  flags->String("device", 0, &o.device, "auto, cpu, cuda or cuda:N");
  flags->Int("threads", 'j', &o.threads, "LibTorch threads (0: one per core)");
  flags->Int("loader-threads", 0, &o.loader_threads, "augmentation threads");
  flags->Bool("deterministic", 0, &o.deterministic,
              "deterministic LibTorch algorithms (bit-exact resume on a GPU)");
  flags->Bool("json", 0, &r->json, "print a JSON summary on stdout at the end");
  metrics::AddMetricsFlags(flags, &r->metrics);
}

void AddDistributedFlags(util::FlagSet* flags, TrainRequest* r) {
  flags->Int("ranks", 0, &r->ranks,
             "train data-parallel on N processes of this machine (gradients all-reduced; --batch "
             "is the global batch, shared by the ranks)",
             {1, 1024});
  flags->Int("dist-rank", 0, &r->dist_rank, "this process's rank in a --dist-world group",
             {0, 1023});
  flags->Int("dist-world", 0, &r->dist_world,
             "size of a fixed group of processes started by hand (with --dist-rank and "
             "--dist-store; --ranks does this for you)",
             {0, 1024});
  flags->String("dist-store", 0, &r->dist_store,
                "folder shared by the group's processes, where they find each other");
  flags->String("backend", 0, &r->elastic.backend,
                "collectives: auto (nccl on a GPU, gloo on the CPU), gloo or nccl");
  flags->Int("bucket-mb", 0, &r->bucket_mb, "gradient all-reduce bucket size in MiB", {1, 4096});
  flags->String("bind-address", 0, &r->elastic.bind_address,
                "address this rank's collectives listen on (default 127.0.0.1)");
  flags->Int("collective-timeout", 0, &r->collective_timeout,
             "seconds a collective (an all-reduce, one chunk of a state transfer) may go without "
             "progress before failing",
             {1, 86400});
}

// Prints a usage error and gives its exit code.
int Usage(const std::string& message) {
  std::cerr << "fsc train: " << message << " (see 'fsc train --help')\n";
  return 2;
}

// The checks that need every flag: how the ranks are formed, the custom layout, the folders,
// then every option's range (ValidateTrainOptions, which the trainer applies again).
std::optional<int> CheckTrainRequest(TrainRequest* r) {
  if (r->ranks > 1 && r->dist_world > 0) {
    return Usage("--ranks starts its own group; do not combine it with --dist-world");
  }
  if (r->dist_world > 0 && (r->dist_rank >= r->dist_world || r->dist_store.empty())) {
    return Usage("--dist-world W needs --dist-rank in [0, W) and --dist-store DIR");
  }
  if (r->ranks > 1) return std::nullopt;  // each rank checks the rest itself
  r->elastic.bucket_bytes = static_cast<int64_t>(r->bucket_mb) << 20;
  r->elastic.collective_timeout = absl::Seconds(r->collective_timeout);
  if (r->distributed()) {
    // Sharded from the start (RunElastic keeps the shard while the group stays the same).
    r->options.rank = r->dist_rank;
    r->options.world_size = r->dist_world;
  }
  if (!r->architecture_file.empty()) {
    absl::StatusOr<std::string> text = util::ReadFile(r->architecture_file);
    nlohmann::json layout = text.ok() ? util::ParseOutsideJson(*text) : nlohmann::json();
    absl::StatusOr<model::Architecture> arch =
        layout.is_discarded() || layout.is_null()
            ? absl::InvalidArgumentError("not a readable JSON file")
            : train::ArchitectureFromJson(layout);
    if (!arch.ok()) {
      std::cerr << "fsc train: --architecture " << r->architecture_file << ": "
                << arch.status().message() << "\n";
      return 1;
    }
    r->options.architecture = *arch;
    r->options.model = arch->name;
  }
  if (r->resume.empty() &&
      (r->options.faces_a.empty() || r->options.faces_b.empty() || r->options.model_dir.empty())) {
    return Usage("needs --a DIR_A --b DIR_B -m MODEL_DIR, or --resume MODEL_DIR");
  }
  if (absl::Status valid = train::ValidateTrainOptions(r->options); !valid.ok()) {
    return Usage(std::string(valid.message()));
  }
  return std::nullopt;
}

// Fills `r` from the command line (on top of the checkpoint's options with --resume). Returns the
// exit code when the command should stop here: --help, a usage error, an unreadable checkpoint
// or --architecture file.
std::optional<int> ParseTrainRequest(const Args& args, TrainRequest* r) {
  r->resume = FindResume(args);
  if (!r->resume.empty()) {
    // A resumed run starts from the checkpoint's own options; flags given now override them.
    absl::StatusOr<train::TrainOptions> saved = train::Trainer::LoadOptions(r->resume);
    if (!saved.ok()) {
      std::cerr << "fsc train: cannot resume: " << saved.status().message() << "\n";
      return 1;
    }
    r->options = *saved;
  }
  util::FlagSet flags(
      "fsc train", "--a DIR_A --b DIR_B -m MODEL_DIR [options]  |  --resume MODEL_DIR [options]",
      "Trains a face-swap model on two folders of aligned faces made by fsc extract: one shared\n"
      "encoder, one decoder per face (A->A, B->B). Checkpoints, previews and snapshots go to\n"
      "MODEL_DIR; Ctrl-C saves and stops. --resume continues a model exactly where it stopped\n"
      "(its saved options apply; flags given with it override them).\n"
      "Exit status: 0 done, 1 error, 2 usage.");
  AddTrainingFlags(&flags, r);
  AddDistributedFlags(&flags, r);
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return exit_code;
  if (!positional.empty()) return Usage("unexpected argument '" + positional[0] + "'");
  return CheckTrainRequest(r);
}

// Reports a run as it goes: the progress bar and loss lines (rank 0 only), the training gauges
// when metrics are served, the trainer's and the group's events.
class TrainProgress {
 public:
  TrainProgress(const TrainRequest& r, train::Trainer& t, bool serve_metrics)
      : r_(r),
        gan_(t.step().has_gan()),
        mask_(t.step().model().learn_mask()),
        terminal_(isatty(fileno(stderr)) != 0) {
    if (serve_metrics) {
      gauges_.emplace(metrics::Standard(), r.distributed() ? r.dist_rank : 0, gan_, mask_);
      if (t.step().device().is_cuda()) {
        metrics::ExportGpuMemory({std::max<int>(0, t.step().device().index())});
      }
      metrics::Standard().train_iteration->Set(static_cast<double>(t.iteration()));
    }
    if (!r.quiet()) bar_.emplace("train", r.options.iterations, "it", stderr, t.iteration());
  }

  train::TrainCallbacks Callbacks() {
    train::TrainCallbacks callbacks;
    callbacks.should_stop = [] { return g_stop.load(); };
    callbacks.on_step = [this](int64_t iteration, const train::StepLosses& losses) {
      if (gauges_) gauges_->Step(iteration, losses);
      if (bar_) bar_->Update(iteration);
    };
    callbacks.on_interval = [this](const train::IntervalReport& report) {
      if (gauges_) gauges_->Interval(report);
      if (r_.quiet()) return;
      // On a terminal the line replaces the bar, which is redrawn at the next step.
      std::fprintf(stderr, "%s%s\n", terminal_ ? "\r\x1b[K" : "",
                   LossLine(report, gan_, mask_).c_str());
    };
    callbacks.on_event = [this](const std::string& text) {
      const std::string rank = r_.distributed() ? absl::StrCat("rank ", r_.dist_rank, ": ") : "";
      std::fprintf(stderr, "%s%s%s\n", terminal_ ? "\r\x1b[K" : "", rank.c_str(), text.c_str());
    };
    return callbacks;
  }

  void Finish() {
    if (bar_) bar_->Finish();
  }

 private:
  const TrainRequest& r_;
  const bool gan_, mask_, terminal_;
  std::optional<train::TrainGauges> gauges_;
  std::optional<util::Progress> bar_;  // ranks > 0 show none
};

void PrintStart(train::Trainer& t, const TrainRequest& r) {
  std::cerr << absl::StrFormat(
      "fsc train: model %s (%d parameters) on %s, %s, %d + %d faces, batch %d, %s at "
      "iteration %d of %d\n",
      t.step().model().name(), t.step().model().ParameterCount(), t.step().device().str(),
      train::PrecisionName(t.step().precision()), t.faces(train::Side::kA),
      t.faces(train::Side::kB), r.options.batch_size, r.resume.empty() ? "starting" : "resuming",
      t.iteration(), r.options.iterations);
  if (r.distributed()) {
    const int batch = r.options.batch_size;
    std::cerr << absl::StrFormat(
        "fsc train: rank %d of %d, %d faces per side of the batch\n", r.dist_rank, r.dist_world,
        (r.dist_rank + 1) * batch / r.dist_world - r.dist_rank * batch / r.dist_world);
  }
}

void PrintSummary(const train::RunSummary& summary, const TrainRequest& r) {
  const train::LoaderStats& loader = summary.loader;
  if (!r.quiet()) {
    std::cerr << absl::StrFormat(
        "fsc train: %s at iteration %d in %.1f s (%.1f examples/s); loader waited %d times, "
        "%.2f s in all%s\n",
        summary.stopped ? "stopped" : "done", summary.end_iteration, summary.seconds,
        summary.examples_per_sec, loader.waits, loader.wait_seconds,
        summary.stopped ? "; resume with --resume " + r.options.model_dir : "");
  }
  if (r.distributed()) {
    const auto& d = summary.dist;
    const double hidden =
        d.allreduce_seconds > 0 ? 1.0 - d.allreduce_wait_seconds / d.allreduce_seconds : 0;
    std::cerr << absl::StrFormat(
        "fsc train: rank %d: compute %.2f s, all-reduce %.2f s (%.2f s not hidden, %.0f%% "
        "hidden), %.1f MB all-reduced\n",
        r.dist_rank, d.compute_seconds, d.allreduce_seconds, d.allreduce_wait_seconds,
        100 * std::max(0.0, hidden), d.allreduce_bytes / 1e6);
  }
}

// The --json summary.
nlohmann::json SummaryJson(const train::RunSummary& summary, train::Trainer& t,
                           const TrainRequest& r) {
  nlohmann::json losses = nlohmann::json::array();
  for (const train::StepLosses& l : summary.losses) {
    nlohmann::json entry = {{"loss_a", l.a}, {"loss_b", l.b}};
    if (t.step().has_gan()) {
      entry["gan_g_a"] = l.gan_g_a;
      entry["gan_g_b"] = l.gan_g_b;
      entry["gan_d_a"] = l.gan_d_a;
      entry["gan_d_b"] = l.gan_d_b;
    }
    losses.push_back(entry);
  }
  const train::LoaderStats& loader = summary.loader;
  nlohmann::json out = {{"model", t.step().model().name()},
                        {"model_dir", r.options.model_dir},
                        {"start_iteration", summary.start_iteration},
                        {"iteration", summary.end_iteration},
                        {"stopped", summary.stopped},
                        {"seconds", summary.seconds},
                        {"examples_per_sec", summary.examples_per_sec},
                        {"batch", r.options.batch_size},
                        {"precision", train::PrecisionName(t.step().precision())},
                        {"loader_waits", loader.waits},
                        {"loader_wait_seconds", loader.wait_seconds},
                        {"loader_produce_seconds", loader.produce_seconds},
                        {"losses", losses}};
  if (r.distributed()) {
    const auto& d = summary.dist;
    out["dist"] = {{"world_size", d.final_world_size},
                   {"generations", d.generations},
                   {"compute_seconds", d.compute_seconds},
                   {"allreduce_seconds", d.allreduce_seconds},
                   {"allreduce_wait_seconds", d.allreduce_wait_seconds},
                   {"allreduce_bytes", d.allreduce_bytes}};
  }
  return out;
}

}  // namespace

int RunTrainCommand(const Args& args) {
  TrainRequest request;
  if (std::optional<int> stop = ParseTrainRequest(args, &request)) return *stop;
  if (request.ranks > 1) return RunLocalRanks(args, request.ranks);

  // Metrics first, so that a taken port fails before any work.
  metrics::MetricsServer metrics_server;
  if (absl::Status started = metrics::StartMetrics(request.metrics, &metrics_server);
      !started.ok()) {
    std::cerr << "fsc train: --metrics-port: " << started.message() << "\n";
    return absl::IsInvalidArgument(started) ? 2 : 1;
  }
  if (metrics_server.running()) {
    std::cerr << "fsc train: metrics at " << metrics_server.url() << "\n";
  }

  absl::StatusOr<std::unique_ptr<train::Trainer>> trainer =
      request.resume.empty() ? train::Trainer::Create(request.options)
                             : train::Trainer::Resume(request.resume, request.options);
  if (!trainer.ok()) {
    std::cerr << "fsc train: " << trainer.status().message() << "\n";
    return 1;
  }
  train::Trainer& t = **trainer;
  PrintStart(t, request);

  TrainProgress progress(request, t, metrics_server.running());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  absl::StatusOr<train::RunSummary> summary;
  if (request.distributed()) {
    dist::LocalGroup group(request.dist_store, request.dist_rank, request.dist_world);
    summary = dist::RunElastic(&t, &group, request.elastic, progress.Callbacks());
  } else {
    summary = t.Run(progress.Callbacks());
  }
  progress.Finish();
  if (!summary.ok()) {
    std::cerr << "fsc train: " << summary.status().message() << "\n";
    return 1;
  }
  PrintSummary(*summary, request);
  if (request.json && !request.quiet()) {
    std::cout << SummaryJson(*summary, t, request).dump(2) << "\n";
  }
  return 0;
}

}  // namespace fsc::cli
