// RunElastic: generations, state agreement and broadcast, the all-reduced training loop and
// recovery from a lost member.
#include "core/dist/elastic.h"

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/dist/communicator.h"
#include "core/dist/gradient_reducer.h"
#include "core/metrics/standard_metrics.h"
#include "core/util/status_macros.h"

namespace fsc::dist {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The losses of a step and the two flags every rank must agree on, summed over the group in
// one small all-reduce after each step. Losses are weighted by the rank's share of the batch,
// so the sums are the global batch's means.
constexpr int kLosses = 8;
constexpr int kChanged = kLosses, kStop = kLosses + 1, kAgreement = kLosses + 2;

void PackLosses(const train::StepLosses& l, double w, double* v) {
  const double values[kLosses] = {l.a,       l.b,       l.mask_a,  l.mask_b,
                                  l.gan_g_a, l.gan_g_b, l.gan_d_a, l.gan_d_b};
  for (int i = 0; i < kLosses; ++i) v[i] = values[i] * w;
}

train::StepLosses UnpackLosses(const double* v) {
  train::StepLosses l;
  l.a = v[0];
  l.b = v[1];
  l.mask_a = v[2];
  l.mask_b = v[3];
  l.gan_g_a = v[4];
  l.gan_g_b = v[5];
  l.gan_d_a = v[6];
  l.gan_d_b = v[7];
  return l;
}

// How a generation ended.
enum class End { kDone, kStopped, kChanged, kLost };

class ElasticRun {
 public:
  ElasticRun(train::Trainer* trainer, GroupDirectory* group, const ElasticOptions& options,
             const train::TrainCallbacks& callbacks)
      : t_(trainer), group_(group), options_(options), callbacks_(callbacks) {}

  absl::StatusOr<train::RunSummary> Run();

 private:
  void Event(const std::string& text) {
    if (callbacks_.on_event) callbacks_.on_event(text);
  }
  // Connects generation `gen`, agrees on the state and trains until it ends.
  absl::StatusOr<End> RunGeneration(const Generation& gen);
  absl::StatusOr<End> Steps(const Generation& gen, Communicator* comm, GradientReducer* reducer);
  // Leaves data-parallel mode (drops the hook that points at `reducer`).
  absl::Status Detach();

  train::Trainer* t_;
  GroupDirectory* group_;
  const ElasticOptions options_;
  const train::TrainCallbacks& callbacks_;
  train::RunSummary summary_;
  bool collective_failed_ = false;
  // Logging interval.
  Clock::time_point interval_start_;
  train::StepLosses interval_sum_;
  int64_t interval_steps_ = 0;
};

absl::Status ElasticRun::Detach() {
  return t_->SetDataParallel(t_->options().rank, t_->options().world_size, nullptr);
}

absl::StatusOr<End> ElasticRun::RunGeneration(const Generation& gen) {
  std::unique_ptr<KeyValueStore> store = group_->StoreFor(gen.id);
  FSC_ASSIGN_OR_RETURN(std::string backend,
                       ResolveBackend(options_.backend, t_->step().device().is_cuda()));
  CommunicatorOptions co;
  co.backend = backend;
  co.rank = gen.rank;
  co.world_size = gen.world_size;
  co.bind_address = options_.bind_address;
  co.timeout = options_.collective_timeout;
  if (t_->step().device().is_cuda()) co.cuda_device = t_->step().device().index();
  absl::StatusOr<std::unique_ptr<Communicator>> comm = Connect(co, store.get());
  if (!comm.ok()) {
    // A member that never arrived, or a backend this machine lacks (the latter is fatal).
    if (absl::IsFailedPrecondition(comm.status()) || absl::IsInvalidArgument(comm.status())) {
      return comm.status();
    }
    Event(absl::StrCat("generation ", gen.id, ": connecting failed: ", comm.status().message()));
    return End::kLost;
  }
  Event(absl::StrCat("generation ", gen.id, ": rank ", gen.rank, " of ", gen.world_size, " (",
                     backend, ")"));

  // The state source: the member with the highest iteration (lowest rank on ties).
  constexpr int64_t kRanks = 1 << 16;
  int64_t key = t_->iteration() * kRanks + (kRanks - 1 - gen.rank);
  absl::Status status = (*comm)->AllReduceMaxHost(&key, 1);
  if (!status.ok()) {
    Event(absl::StrCat("generation ", gen.id, ": agreement failed: ", status.message()));
    return End::kLost;
  }
  const int source = static_cast<int>(kRanks - 1 - key % kRanks);
  std::string state;
  if (gen.rank == source) {
    FSC_ASSIGN_OR_RETURN(state, t_->ExportState());
  }
  status = BroadcastString(comm->get(), &state, source);
  if (!status.ok()) {
    Event(absl::StrCat("generation ", gen.id, ": state broadcast failed: ", status.message()));
    return End::kLost;
  }
  if (gen.rank != source) {
    FSC_RETURN_IF_ERROR(t_->ImportState(state));
  }
  state.clear();
  state.shrink_to_fit();
  Event(absl::StrCat("generation ", gen.id, ": state of iteration ", t_->iteration(), " from rank ",
                     source));
  // A restore point for this generation: every member holds the agreed state on disk.
  if (t_->saved_iteration() != t_->iteration()) {
    FSC_RETURN_IF_ERROR(t_->Save());
  }

  FSC_ASSIGN_OR_RETURN(
      std::unique_ptr<GradientReducer> reducer,
      GradientReducer::Create(comm->get(), t_->step().GradientGroups(), options_.bucket_bytes));
  GradientReducer* raw = reducer.get();
  collective_failed_ = false;
  absl::Status attached = t_->SetDataParallel(
      gen.rank, gen.world_size,
      [this, raw](const std::string& group, const std::vector<torch::Tensor>& grads) {
        absl::Status s = raw->Finish(group, grads);
        if (!s.ok()) collective_failed_ = true;
        return s;
      });
  if (!attached.ok()) {
    Detach().IgnoreError();  // never leave the trainer a hook into a reducer about to go
    return attached;
  }
  raw->set_weight(static_cast<double>(t_->shard_rows()) / t_->options().batch_size);
  ++summary_.dist.generations;
  summary_.dist.final_rank0 = gen.rank == 0;
  summary_.dist.final_world_size = gen.world_size;
  absl::StatusOr<End> end = Steps(gen, comm->get(), raw);
  FSC_RETURN_IF_ERROR(Detach());
  reducer.reset();  // before the communicator it uses
  return end;
}

absl::StatusOr<End> ElasticRun::Steps(const Generation& gen, Communicator* comm,
                                      GradientReducer* reducer) {
  const train::TrainOptions& o = t_->options();
  const double weight = static_cast<double>(t_->shard_rows()) / o.batch_size;
  const int64_t examples_per_step = 2LL * o.batch_size;
  const metrics::StandardMetrics& m = metrics::Standard();
  prometheus::Histogram& compute_hist = m.train_step_seconds.WithLabels({"compute"});
  prometheus::Histogram& allreduce_hist = m.train_step_seconds.WithLabels({"allreduce"});
  while (t_->iteration() < o.iterations) {
    const Clock::time_point start = Clock::now();
    absl::StatusOr<train::StepLosses> losses = t_->Step();
    const double step_seconds = Since(start);
    if (!losses.ok()) {
      if (!collective_failed_) return losses.status();  // not the group's fault
      Event(absl::StrCat("generation ", gen.id, ": lost a member at iteration ",
                         t_->iteration() + 1, ": ", losses.status().message()));
      return End::kLost;
    }
    const ReducerStats rs = reducer->TakeStats();
    const double compute = std::max(0.0, step_seconds - rs.wait_seconds);
    summary_.dist.compute_seconds += compute;
    summary_.dist.allreduce_wait_seconds += rs.wait_seconds;
    summary_.dist.allreduce_seconds += rs.allreduce_seconds;
    summary_.dist.allreduce_bytes += rs.bytes;
    compute_hist.Observe(compute);
    allreduce_hist.Observe(rs.wait_seconds);
    m.allreduce_bytes->Increment(static_cast<double>(rs.bytes));

    double agreement[kAgreement];
    PackLosses(*losses, weight, agreement);
    agreement[kChanged] = group_->Changed(gen.id) ? 1 : 0;
    agreement[kStop] = callbacks_.should_stop && callbacks_.should_stop() ? 1 : 0;
    absl::Status status = comm->AllReduceSumHost(agreement, kAgreement);
    if (!status.ok()) {
      // The step is done here but not everywhere: go back to the last checkpoint.
      Event(absl::StrCat("generation ", gen.id, ": lost a member after iteration ", t_->iteration(),
                         ": ", status.message()));
      return End::kLost;
    }
    const train::StepLosses global = UnpackLosses(agreement);
    summary_.losses.push_back(global);
    if (callbacks_.on_step) callbacks_.on_step(t_->iteration(), global);
    train::AddLosses(global, &interval_sum_);
    ++interval_steps_;
    const int64_t it = t_->iteration();
    if (it % o.log_every == 0 || it == o.iterations) {
      train::IntervalReport report;
      report.iteration = it;
      report.iterations = interval_steps_;
      report.seconds = Since(interval_start_);
      report.losses = train::DivideLosses(interval_sum_, static_cast<double>(interval_steps_));
      report.examples_per_sec =
          report.seconds > 0 ? interval_steps_ * examples_per_step / report.seconds : 0;
      t_->RecordInterval(report);
      if (callbacks_.on_interval) callbacks_.on_interval(report);
      interval_sum_ = train::StepLosses();
      interval_steps_ = 0;
      interval_start_ = Clock::now();
    }
    if (it % o.save_every == 0) {
      FSC_RETURN_IF_ERROR(t_->Save());
      Event(absl::StrCat("saved iteration ", it, " to ", o.model_dir));
    }
    if (gen.rank == 0 && o.preview_every > 0 && it % o.preview_every == 0) {
      FSC_RETURN_IF_ERROR(t_->WritePreview());
    }
    if (agreement[kStop] > 0) return End::kStopped;
    if (agreement[kChanged] > 0 && it < o.iterations) return End::kChanged;
  }
  return End::kDone;
}

absl::StatusOr<train::RunSummary> ElasticRun::Run() {
  summary_.start_iteration = t_->iteration();
  const Clock::time_point start = Clock::now();
  interval_start_ = start;
  int64_t generation = -1;
  End end = End::kLost;
  while (true) {
    absl::StatusOr<Generation> gen = group_->Next(generation);
    if (!gen.ok()) return gen.status();
    generation = gen->id;
    FSC_ASSIGN_OR_RETURN(end, RunGeneration(*gen));
    if (end == End::kDone || end == End::kStopped) break;
    if (end == End::kChanged) {
      // Every member stopped after the same step: keep it, then re-form.
      if (t_->saved_iteration() != t_->iteration()) {
        FSC_RETURN_IF_ERROR(t_->Save());
      }
      Event(absl::StrCat("generation ", generation, " ended at iteration ", t_->iteration(),
                         " (membership changed)"));
      continue;
    }
    // Lost a member: the last checkpoint is the state every survivor shares.
    absl::Status restored = t_->RestoreLastCheckpoint();
    if (!restored.ok() && !absl::IsNotFound(restored)) return restored;
    Event(absl::StrCat("back to the checkpoint of iteration ", t_->iteration()));
  }
  if (t_->saved_iteration() != t_->iteration()) {
    FSC_RETURN_IF_ERROR(t_->Save());
    Event(absl::StrCat("saved iteration ", t_->iteration(), " to ", t_->options().model_dir));
  }
  const train::TrainOptions& o = t_->options();
  if (summary_.dist.final_rank0 && o.preview_every > 0 && t_->iteration() % o.preview_every != 0) {
    FSC_RETURN_IF_ERROR(t_->WritePreview());
  }
  summary_.stopped = end == End::kStopped;
  summary_.seconds = Since(start);
  summary_.end_iteration = t_->iteration();
  const int64_t steps = summary_.end_iteration - summary_.start_iteration;
  summary_.examples_per_sec =
      summary_.seconds > 0 ? steps * 2.0 * o.batch_size / summary_.seconds : 0;
  summary_.loader = t_->loader_stats();
  return summary_;
}

}  // namespace

absl::StatusOr<train::RunSummary> RunElastic(train::Trainer* trainer, GroupDirectory* group,
                                             const ElasticOptions& options,
                                             const train::TrainCallbacks& callbacks) {
  if (trainer == nullptr || group == nullptr) {
    return absl::InvalidArgumentError("RunElastic needs a trainer and a group directory");
  }
  if (options.bucket_bytes < 1) {
    return absl::InvalidArgumentError("the gradient bucket size must be positive");
  }
  ElasticRun run(trainer, group, options, callbacks);
  return run.Run();
}

}  // namespace fsc::dist
