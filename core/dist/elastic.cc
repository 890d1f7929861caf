// RunElastic: generations, agreement on the state by digest, transfer to members that lack it,
// the all-reduced training loop, and bounded recovery from lost members.
#include "core/dist/elastic.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/dist/bulk_transfer.h"
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

std::string Megabytes(int64_t bytes) { return absl::StrFormat("%.1f MB", bytes / 1e6); }

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

// What a member holds at a generation's start: its restore point, as the iteration and the
// 32-byte digest in four words.
struct Holding {
  int64_t iteration = 0;
  std::array<int64_t, 4> digest{};
  bool operator==(const Holding& o) const { return iteration == o.iteration && digest == o.digest; }
};
constexpr int kHoldingWords = 5;

Holding HoldingOf(const train::TrainingState& state) {
  Holding h;
  h.iteration = state.iteration;
  const std::string bytes = absl::HexStringToBytes(state.digest);
  std::memcpy(h.digest.data(), bytes.data(), std::min(bytes.size(), sizeof(h.digest)));
  return h;
}

// Every member's holding, by rank: each fills its own slot, the others' stay at the minimum,
// and one max all-reduce (a few hundred bytes) gathers them.
absl::StatusOr<std::vector<Holding>> ExchangeHoldings(Communicator* comm, const Holding& mine) {
  const int world = comm->world_size();
  std::vector<int64_t> words(static_cast<size_t>(world) * kHoldingWords,
                             std::numeric_limits<int64_t>::min());
  int64_t* slot = words.data() + static_cast<size_t>(comm->rank()) * kHoldingWords;
  slot[0] = mine.iteration;
  std::copy(mine.digest.begin(), mine.digest.end(), slot + 1);
  FSC_RETURN_IF_ERROR(comm->AllReduceMaxHost(words.data(), words.size()));
  std::vector<Holding> all(world);
  for (int r = 0; r < world; ++r) {
    const int64_t* w = words.data() + static_cast<size_t>(r) * kHoldingWords;
    all[r].iteration = w[0];
    std::copy(w + 1, w + kHoldingWords, all[r].digest.begin());
  }
  return all;
}

// The source of a generation's state: the newest restore point, the lowest rank on ties.
int ChooseSource(const std::vector<Holding>& holdings) {
  int source = 0;
  for (int r = 1; r < static_cast<int>(holdings.size()); ++r) {
    if (holdings[r].iteration > holdings[source].iteration) source = r;
  }
  return source;
}

std::vector<ByteSpan> Spans(train::TrainingState* state) {
  std::vector<ByteSpan> spans;
  for (const auto& [data, bytes] : train::StateSpans(state)) spans.push_back({data, bytes});
  return spans;
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
  // "rank R (NAME)" for messages.
  std::string Member(int rank) const {
    return rank < static_cast<int>(gen_.members.size())
               ? absl::StrCat("rank ", rank, " (", gen_.members[rank], ")")
               : absl::StrCat("rank ", rank);
  }
  // The generation failed because of the group (a member lost, stalled or unreachable): noted
  // for the error that ends a run of such failures.
  End Lost(const std::string& stage, const absl::Status& status) {
    last_failure_ = absl::StrCat("generation ", gen_.id, ": ", stage, ": ", status.message());
    Event(last_failure_);
    return End::kLost;
  }

  // Connects generation `gen`, agrees on the state and trains until it ends.
  absl::StatusOr<End> RunGeneration();
  // Agrees on the state and moves it to the members that lack it. An error status is the
  // group's (the generation is lost); a fatal local error is returned through `fatal`.
  absl::Status AgreeOnState(Communicator* comm, absl::Status* fatal);
  // Sends / receives the restore point (or, with Recovery::kRestart, the source's weights).
  absl::Status MoveState(Communicator* comm, const TransferPlan& plan, absl::Status* fatal);
  absl::StatusOr<End> Steps(Communicator* comm, GradientReducer* reducer);
  // After a lost generation: back to the restore point (kRestart: the disk checkpoint, at the
  // next generation's start).
  absl::Status Recover();
  // Leaves data-parallel mode (drops the hook that points at `reducer`).
  absl::Status Detach();
  // The collective timeout of the next generation: doubled per consecutive failure, up to 8x.
  absl::Duration Timeout() const {
    return options_.collective_timeout * (1 << std::min(failed_generations_, 3));
  }

  train::Trainer* t_;
  GroupDirectory* group_;
  const ElasticOptions options_;
  const train::TrainCallbacks& callbacks_;
  train::RunSummary summary_;
  Generation gen_;
  Clock::time_point gen_start_;
  // Where a generation's start went, for its first-step event: seconds from gen_start_ to the
  // communicator, to the agreed state, to the reducer on it and to the trainer attached.
  double connected_s_ = 0, agreed_s_ = 0, built_s_ = 0, attached_s_ = 0;
  std::unique_ptr<GradientReducer> reducer_;  // made at the first generation, rebound after
  bool collective_failed_ = false;
  int failed_generations_ = 0;  // consecutive, without a completed step
  bool reload_ = false;         // kRestart: reload the disk checkpoint at the next generation
  bool progressed_ = false;     // the current generation completed a step
  std::string last_failure_;
  // Logging interval.
  Clock::time_point interval_start_;
  train::StepLosses interval_sum_;
  int64_t interval_steps_ = 0;
};

absl::Status ElasticRun::Detach() {
  return t_->SetDataParallel(t_->options().rank, t_->options().world_size, nullptr);
}

absl::Status ElasticRun::MoveState(Communicator* comm, const TransferPlan& plan,
                                   absl::Status* fatal) {
  const TransferRole role = RoleIn(plan, comm->rank());
  const bool weights_only = options_.recovery == Recovery::kRestart;
  // The source sends its restore point as it is (kRestart: a copy of its live weights).
  train::TrainingState sent;
  const train::TrainingState* source_state = t_->committed();
  if (role == TransferRole::kSource && weights_only) {
    sent = train::CopyState(t_->iteration(), t_->loss_history(),
                            {{train::kWeightsRole, t_->step().ModelTensors()}});
    source_state = &sent;
  }
  std::string layout = role == TransferRole::kSource ? train::StateLayout(*source_state) : "";
  FSC_RETURN_IF_ERROR(TransferString(comm, plan, &layout).status());
  train::TrainingState received;
  std::vector<ByteSpan> spans;
  if (role == TransferRole::kSource) {
    spans = Spans(const_cast<train::TrainingState*>(source_state));  // read only
  } else if (role == TransferRole::kReceiver) {
    FSC_ASSIGN_OR_RETURN(received, train::AllocateState(layout, "the received training state"));
    spans = Spans(&received);
  }
  TransferOptions options;
  // A receiver hashes each tensor as it arrives: the digest is known when the last byte is.
  std::optional<train::StateHasher> hasher;
  if (role == TransferRole::kReceiver) {
    hasher.emplace(received);
    options.on_span = [&](size_t) { hasher->Next(); };
  }
  const int64_t total = role == TransferRole::kSource ? source_state->bytes() : received.bytes();
  const std::string direction =
      role == TransferRole::kSource
          ? absl::StrCat("sending the state to ", plan.receivers.size(), " member(s)")
          : absl::StrCat("receiving the state from ", Member(plan.source));
  options.on_progress = [&](const TransferProgress& p) {
    Event(absl::StrFormat("generation %d: %s: %s of %s, %.1f MB/s", gen_.id, direction,
                          Megabytes(p.bytes_done), Megabytes(total), p.MegabytesPerSecond()));
  };
  FSC_ASSIGN_OR_RETURN(TransferStats stats, Transfer(comm, plan, spans, options));
  summary_.dist.state_bytes_sent += stats.bytes_sent;
  summary_.dist.state_bytes_received += stats.bytes_received;
  if (role == TransferRole::kBystander) return absl::OkStatus();
  Event(absl::StrFormat("generation %d: %s: %s in %.1f s (%.1f MB/s)", gen_.id, direction,
                        Megabytes(total), stats.seconds,
                        stats.seconds > 0 ? total / 1e6 / stats.seconds : 0));
  if (role != TransferRole::kReceiver) return absl::OkStatus();
  if (hasher->Finish() != received.digest) {
    return absl::DataLossError(absl::StrCat("the state received from ", Member(plan.source),
                                            " does not match its digest"));
  }
  if (weights_only) {
    absl::Status loaded = t_->step().LoadModel(
        train::TensorMap(received.roles[train::kWeightsRole]), "the received weights");
    if (!loaded.ok()) *fatal = loaded;
    return absl::OkStatus();
  }
  absl::Status adopted = t_->Adopt(std::move(received));
  if (!adopted.ok()) *fatal = adopted;  // another model's state
  return absl::OkStatus();
}

absl::Status ElasticRun::AgreeOnState(Communicator* comm, absl::Status* fatal) {
  const int world = comm->world_size();
  TransferPlan plan;
  if (options_.recovery == Recovery::kRestart) {
    // DDP's start: rank 0's weights to everyone, whatever they hold.
    plan.source = 0;
    for (int r = 1; r < world; ++r) plan.receivers.push_back(r);
  } else {
    FSC_ASSIGN_OR_RETURN(std::vector<Holding> holdings,
                         ExchangeHoldings(comm, HoldingOf(*t_->committed())));
    plan.source = ChooseSource(holdings);
    for (int r = 0; r < world; ++r) {
      if (r != plan.source && !(holdings[r] == holdings[plan.source])) plan.receivers.push_back(r);
    }
  }
  if (plan.receivers.empty()) {
    Event(absl::StrCat("generation ", gen_.id, ": every member holds the state of iteration ",
                       t_->iteration(), " (digest ", t_->committed()->digest.substr(0, 12),
                       "): nothing to move"));
    return absl::OkStatus();
  }
  return MoveState(comm, plan, fatal);
}

absl::StatusOr<End> ElasticRun::RunGeneration() {
  if (reload_) {
    // kRestart: the last checkpoint, from the disk.
    reload_ = false;
    absl::Status restored = t_->RestoreLastCheckpoint();
    if (!restored.ok() && !absl::IsNotFound(restored)) return restored;
    if (restored.ok()) FSC_RETURN_IF_ERROR(t_->Commit());
    Event(absl::StrCat("generation ", gen_.id, ": back to the disk checkpoint of iteration ",
                       t_->iteration(), " (", Megabytes(t_->committed()->bytes()), " read)"));
  }
  std::unique_ptr<KeyValueStore> store = group_->StoreFor(gen_.id);
  FSC_ASSIGN_OR_RETURN(std::string backend,
                       ResolveBackend(options_.backend, t_->step().device().is_cuda()));
  CommunicatorOptions co;
  co.backend = backend;
  co.rank = gen_.rank;
  co.world_size = gen_.world_size;
  co.bind_address = options_.bind_address;
  co.timeout = Timeout();
  co.connect_timeout = std::max(options_.connect_timeout, co.timeout);
  if (t_->step().device().is_cuda()) co.cuda_device = t_->step().device().index();
  absl::StatusOr<std::unique_ptr<Communicator>> comm = Connect(co, store.get());
  if (!comm.ok()) {
    // A backend this machine lacks or a bad rank is fatal; anything else is the group's.
    if (absl::IsFailedPrecondition(comm.status()) || absl::IsInvalidArgument(comm.status())) {
      return comm.status();
    }
    return Lost("connecting failed", comm.status());
  }
  connected_s_ = Since(gen_start_);
  Event(absl::StrCat("generation ", gen_.id, ": ", Member(gen_.rank), " of ", gen_.world_size, " (",
                     backend, ", collective timeout ", absl::FormatDuration(co.timeout), ")"));

  absl::Status fatal;
  absl::Status agreed = AgreeOnState(comm->get(), &fatal);
  if (!fatal.ok()) return fatal;
  if (!agreed.ok()) return Lost("agreeing on the state failed", agreed);
  agreed_s_ = Since(gen_start_);

  // One reducer for the whole run: its buckets (the model's size) are allocated once, and each
  // generation only moves it to its communicator.
  if (reducer_ == nullptr) {
    FSC_ASSIGN_OR_RETURN(reducer_, GradientReducer::Create(comm->get(), t_->step().GradientGroups(),
                                                           options_.bucket_bytes));
  } else {
    reducer_->Rebind(comm->get());
  }
  // Parked on every way out: the communicator it uses goes with this generation.
  absl::Cleanup park = [this] { reducer_->Rebind(nullptr); };
  GradientReducer* raw = reducer_.get();
  built_s_ = Since(gen_start_);
  collective_failed_ = false;
  absl::Status attached = t_->SetDataParallel(
      gen_.rank, gen_.world_size,
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
  attached_s_ = Since(gen_start_);
  ++summary_.dist.generations;
  summary_.dist.final_rank0 = gen_.rank == 0;
  summary_.dist.final_world_size = gen_.world_size;
  absl::StatusOr<End> end = Steps(comm->get(), raw);
  FSC_RETURN_IF_ERROR(Detach());
  return end;
}

absl::StatusOr<End> ElasticRun::Steps(Communicator* comm, GradientReducer* reducer) {
  const train::TrainOptions& o = t_->options();
  const double weight = static_cast<double>(t_->shard_rows()) / o.batch_size;
  const int64_t examples_per_step = 2LL * o.batch_size;
  const metrics::StandardMetrics& m = metrics::Standard();
  prometheus::Histogram& compute_hist = m.train_step_seconds.WithLabels({"compute"});
  prometheus::Histogram& allreduce_hist = m.train_step_seconds.WithLabels({"allreduce"});
  bool first = true;
  while (t_->iteration() < o.iterations) {
    const Clock::time_point start = Clock::now();
    absl::StatusOr<train::StepLosses> losses = t_->Step();
    const double step_seconds = Since(start);
    if (!losses.ok()) {
      if (!collective_failed_) return losses.status();  // not the group's fault
      return Lost(absl::StrCat("lost a member at iteration ", t_->iteration() + 1),
                  losses.status());
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
    agreement[kChanged] = group_->Changed(gen_.id) ? 1 : 0;
    agreement[kStop] = callbacks_.should_stop && callbacks_.should_stop() ? 1 : 0;
    absl::Status status = comm->AllReduceSumHost(agreement, kAgreement);
    if (!status.ok()) {
      // The step is done here but not everywhere: go back to the restore point.
      return Lost(absl::StrCat("lost a member after iteration ", t_->iteration()), status);
    }
    progressed_ = true;
    if (first) {
      first = false;
      Event(absl::StrFormat(
          "generation %d: first step (iteration %d) done %.2f s after the generation started "
          "(connected %.2f s, state agreed %.2f s, reducer ready %.2f s, attached %.2f s; the step "
          "%.2f s: "
          "batch wait %.2f s, all-reduce wait %.2f s)",
          gen_.id, t_->iteration(), Since(gen_start_), connected_s_, agreed_s_, built_s_,
          attached_s_, step_seconds, t_->loader_stats().wait_seconds, rs.wait_seconds));
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
      // A new restore point; its checkpoint is written in the background.
      FSC_RETURN_IF_ERROR(t_->Commit());
      FSC_RETURN_IF_ERROR(t_->SaveCommitted());
      Event(absl::StrCat("saved iteration ", it, " to ", o.model_dir));
    }
    if (gen_.rank == 0 && o.preview_every > 0 && it % o.preview_every == 0) {
      FSC_RETURN_IF_ERROR(t_->WritePreview());
    }
    if (agreement[kStop] > 0) return End::kStopped;
    if (agreement[kChanged] > 0 && it < o.iterations) return End::kChanged;
  }
  return End::kDone;
}

absl::Status ElasticRun::Recover() {
  if (options_.recovery == Recovery::kRestart) {
    reload_ = true;  // at the next generation's start, as a restarted TorchElastic worker does
    return absl::OkStatus();
  }
  FSC_RETURN_IF_ERROR(t_->Rollback());
  Event(absl::StrCat("back to the restore point of iteration ", t_->iteration(), " (in memory)"));
  return absl::OkStatus();
}

absl::StatusOr<train::RunSummary> ElasticRun::Run() {
  summary_.start_iteration = t_->iteration();
  const Clock::time_point start = Clock::now();
  interval_start_ = start;
  // The restore point every member compares at its first generation (fresh members with the
  // same seed, or members resumed from the same checkpoint, hold the same one).
  if (t_->committed() == nullptr || t_->committed()->iteration != t_->iteration()) {
    FSC_RETURN_IF_ERROR(t_->Commit());
  }
  int64_t generation = -1;
  End end = End::kLost;
  while (true) {
    absl::StatusOr<Generation> gen = group_->Next(generation);
    if (!gen.ok()) return gen.status();
    gen_ = *gen;
    gen_start_ = Clock::now();
    generation = gen_.id;
    progressed_ = false;
    FSC_ASSIGN_OR_RETURN(end, RunGeneration());
    if (progressed_) failed_generations_ = 0;
    if (end == End::kDone || end == End::kStopped) break;
    if (end == End::kChanged) {
      // Every member stopped after the same step: that is the next restore point.
      FSC_RETURN_IF_ERROR(t_->Commit());
      Event(absl::StrCat("generation ", generation, " ended at iteration ", t_->iteration(),
                         " (membership changed)"));
      continue;
    }
    // A generation lost after completing steps lost a member; one lost before its first step
    // failed, and such failures in a row are bounded.
    if (!progressed_ && ++failed_generations_ >= options_.max_failed_generations) {
      std::vector<std::string> members;
      for (int r = 0; r < gen_.world_size; ++r) members.push_back(Member(r));
      return absl::FailedPreconditionError(
          absl::StrCat("elastic training made no progress in ", failed_generations_,
                       " generations in a row (the collective timeout grew to ",
                       absl::FormatDuration(Timeout()), "); the last failure: ", last_failure_,
                       ". Raise the collective timeout (--collective-timeout, now ",
                       absl::FormatDuration(options_.collective_timeout),
                       ") if the members are slow or loaded, or check the network between them (",
                       absl::StrJoin(members, ", "), ")"));
    }
    FSC_RETURN_IF_ERROR(Recover());
  }
  FSC_RETURN_IF_ERROR(t_->WaitForSave());
  if (t_->saved_iteration() != t_->iteration()) {
    FSC_RETURN_IF_ERROR(t_->Commit());
    FSC_RETURN_IF_ERROR(t_->SaveCommitted());
    FSC_RETURN_IF_ERROR(t_->WaitForSave());
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
  if (options.max_failed_generations < 1) {
    return absl::InvalidArgumentError("max_failed_generations must be at least 1");
  }
  ElasticRun run(trainer, group, options, callbacks);
  return run.Run();
}

}  // namespace fsc::dist
