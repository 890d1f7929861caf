// TASK_TRAIN with core/train's Trainer: one process, or one rank of an elastic group
// (core/dist/elastic.h) whose membership the coordinator keeps.
#include "worker/train_task.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/dist/elastic.h"
#include "core/rpc/option_schema.h"
#include "core/train/train_gauges.h"
#include "core/train/train_spec.h"
#include "core/train/trainer.h"
#include "core/util/artifact_names.h"
#include "core/util/status_macros.h"
#include "worker/preview_publisher.h"

namespace fsc::worker {
namespace fs = std::filesystem;
namespace {

bool HasPng(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string ext = absl::AsciiStrToLower(it->path().extension().string());
    if (ext == ".png" && it->is_regular_file()) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<train::TrainOptions> TrainOptionsFromSpec(const proto::TrainOptions& spec,
                                                         train::TrainOptions base) {
  FSC_RETURN_IF_ERROR(rpc::ValidateOptions(spec, "spec.train"));
  train::ApplyTrainSpec(spec, &base);
  return base;
}

absl::StatusOr<std::string> FindFacesFolder(const std::string& dir) {
  if (HasPng(dir)) return dir;
  fs::path nested = fs::path(dir) / kFacesFolderName;
  if (HasPng(nested)) return nested.string();
  return absl::NotFoundError(absl::StrCat("no face PNGs in ", dir, " (nor in its faces/): the ",
                                          "face dataset must be an fsc extract output"));
}

absl::Status RunTrainTask(const proto::Task& task, const TaskEnv& env) {
  const proto::TrainOptions& spec = task.spec().train();
  const fs::path in(env.in_dir);
  const std::string model_out = (fs::path(env.out_dir) / kTaskModelFolder).string();
  const fs::path model_in = in / kTaskModelFolder;
  std::error_code ec;
  const bool resume = fs::is_directory(model_in, ec);
  train::TrainOptions base;
  if (resume) {
    FSC_ASSIGN_OR_RETURN(base, train::Trainer::LoadOptions(model_in.string()));
  }
  // Checked before any of the spec is used (its ranks included).
  FSC_ASSIGN_OR_RETURN(train::TrainOptions options, TrainOptionsFromSpec(spec, std::move(base)));
  // A job with several rank slots trains as one elastic group, even when only one slot is live.
  const bool elastic = std::max(spec.ranks(), spec.max_ranks()) > 1;
  std::unique_ptr<dist::GroupDirectory> group;
  if (elastic) {
    group = env.group ? env.group(task.job_id()) : nullptr;
    if (group == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("the job trains on ", std::max(spec.ranks(), spec.max_ranks()),
                       " ranks, which needs the coordinator's rendezvous (run it under "
                       "fsc-worker)"));
    }
  }
  FSC_ASSIGN_OR_RETURN(options.faces_a, FindFacesFolder((in / kTaskFacesAFolder).string()));
  FSC_ASSIGN_OR_RETURN(options.faces_b, FindFacesFolder((in / kTaskFacesBFolder).string()));
  options.model_dir = model_out;
  options.threads = std::max(1, env.threads);
  options.loader_threads = std::clamp(env.threads / 2, 1, 4);
  // Only the final model travels back; snapshots would multiply the upload.
  options.snapshot_every = std::numeric_limits<int>::max();
  options.keep_snapshots = 0;

  auto trainer =
      resume ? train::Trainer::Resume(model_in.string(), options) : train::Trainer::Create(options);
  if (!trainer.ok()) return trainer.status();
  train::Trainer& t = **trainer;
  const int64_t first = t.iteration();
  const int64_t target = options.iterations;
  env.Report({0, 0, "it",
              absl::StrFormat("training %s (%d parameters), %d + %d faces, batch %d, from "
                              "iteration %d to %d on %s",
                              t.step().model().name(), t.step().model().ParameterCount(),
                              t.faces(train::Side::kA), t.faces(train::Side::kB),
                              options.batch_size, first, target, t.step().device().str())});

  const auto start = std::chrono::steady_clock::now();
  // Prometheus gauges of this rank (its rank follows the generation in elastic runs), and
  // previews for `fsc preview`.
  train::TrainGauges gauges(metrics::Standard(), t.options().rank, t.step().has_gan(),
                            t.step().model().learn_mask());
  PreviewPublisher previews(
      model_out, env.scratch_dir.empty() ? env.out_dir + ".scratch" : env.scratch_dir, env);
  train::TrainCallbacks callbacks;
  callbacks.should_stop = [&] { return env.Cancelled(); };
  TaskProgress last;  // the latest progress, repeated with event lines
  last.unit = "it";
  callbacks.on_step = [&](int64_t iteration, const train::StepLosses& losses) {
    gauges.Step(iteration, losses);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    TaskProgress p;
    p.fraction = target > first ? static_cast<double>(iteration - first) / (target - first) : 1;
    p.rate = seconds > 0 ? (iteration - first) / seconds : 0;
    p.unit = "it";
    last = p;
    env.Report(p);
    // The Trainer writes a preview after the step that reaches a multiple of preview_every, so
    // one that is new here shows the previous iteration.
    previews.Poll(iteration - 1);
  };
  if (elastic) {
    // The group's life (generations joined, members lost, checkpoints restored) goes to the
    // job's log: it is how a user sees a recovery happen.
    callbacks.on_event = [&](const std::string& message) {
      TaskProgress p = last;
      p.message = message;
      env.Report(p);
    };
  }
  callbacks.on_interval = [&](const train::IntervalReport& r) {
    gauges.SetRank(t.options().rank);
    gauges.Interval(r);
    TaskProgress p;
    p.fraction = target > first ? static_cast<double>(r.iteration - first) / (target - first) : 1;
    p.rate = r.seconds > 0 ? r.iterations / r.seconds : 0;
    p.unit = "it";
    p.message = absl::StrFormat("iter %d  loss A %.5f  loss B %.5f  %.1f examples/s", r.iteration,
                                r.losses.a, r.losses.b, r.examples_per_sec);
    env.Report(p);
  };
  train::RunSummary summary;
  if (elastic) {
    dist::ElasticOptions elastic_options;
    if (!spec.backend().empty()) elastic_options.backend = spec.backend();
    elastic_options.bind_address = env.data_plane_address;
    if (spec.bucket_mb() > 0) elastic_options.bucket_bytes = int64_t{spec.bucket_mb()} << 20;
    elastic_options.collective_timeout = absl::Seconds(env.collective_timeout_s);
    elastic_options.recovery = env.elastic_recovery;
    FSC_ASSIGN_OR_RETURN(summary, dist::RunElastic(&t, group.get(), elastic_options, callbacks));
  } else {
    FSC_ASSIGN_OR_RETURN(summary, t.Run(callbacks));
  }
  if (summary.stopped) {
    return absl::CancelledError(
        absl::StrCat("training stopped at iteration ", summary.end_iteration, " of ", target));
  }
  TaskProgress done;
  done.fraction = 1;
  done.rate = summary.seconds > 0 ? (summary.end_iteration - first) / summary.seconds : 0;
  done.unit = "it";
  previews.Poll(summary.end_iteration);  // the final preview, written by Run at its end
  done.message = absl::StrFormat("trained to iteration %d in %.1f s (%.1f examples/s)",
                                 summary.end_iteration, summary.seconds, summary.examples_per_sec);
  if (elastic) {
    const train::RunSummary::Dist& d = summary.dist;
    absl::StrAppendFormat(&done.message,
                          "; %s of %d ranks at the end, %d generations, compute %.1f s, "
                          "all-reduce wait %.1f s, %.1f MB all-reduced, state sent %d bytes, "
                          "received %d bytes",
                          d.final_rank0 ? "rank 0" : "a rank", d.final_world_size, d.generations,
                          d.compute_seconds, d.allreduce_wait_seconds, d.allreduce_bytes / 1e6,
                          d.state_bytes_sent, d.state_bytes_received);
    if (!d.final_rank0) {
      // Every rank holds the same final checkpoint; only rank 0's travels back (the coordinator
      // takes the stage's model from it).
      std::error_code removed;
      fs::remove_all(model_out, removed);
      if (removed) {
        return absl::InternalError(
            absl::StrCat("cannot remove ", model_out, ": ", removed.message()));
      }
    }
  }
  env.Report(done);
  return absl::OkStatus();
}

}  // namespace fsc::worker
