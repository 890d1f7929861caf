// Chunked point-to-point transfer from one source, with progress tokens for the bystanders.
#include "core/dist/bulk_transfer.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace fsc::dist {
namespace {

using Clock = std::chrono::steady_clock;

// The token that ends a bystander's wait; any other token is the bytes moved so far.
constexpr int64_t kDoneToken = -1;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::Status CheckPlan(const Communicator& comm, const TransferPlan& plan) {
  const auto outside = [&](int rank) { return rank < 0 || rank >= comm.world_size(); };
  if (outside(plan.source)) {
    return absl::InvalidArgumentError(
        absl::StrCat("transfer source ", plan.source, " is not a rank of the group"));
  }
  std::set<int> seen;
  for (int rank : plan.receivers) {
    if (outside(rank) || rank == plan.source || !seen.insert(rank).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "transfer receiver ", rank, " is outside the group, the source or named ", "twice"));
    }
  }
  return absl::OkStatus();
}

// Reports progress every options.report_every.
class ProgressClock {
 public:
  ProgressClock(const TransferOptions& options, int64_t total)
      : options_(options), start_(Clock::now()), last_report_(start_), last_token_(start_) {
    progress_.bytes_total = total;
  }

  void Moved(int64_t bytes_done) {
    progress_.bytes_done = bytes_done;
    if (!options_.on_progress || Clock::now() - last_report_ < ToChrono(options_.report_every)) {
      return;
    }
    last_report_ = Clock::now();
    progress_.seconds = Since(start_);
    options_.on_progress(progress_);
  }

  // True (and the token clock restarts) when a token is due.
  bool TokenDue() {
    if (Clock::now() - last_token_ < ToChrono(options_.token_every)) return false;
    last_token_ = Clock::now();
    return true;
  }

  double seconds() const { return Since(start_); }

 private:
  static Clock::duration ToChrono(absl::Duration d) {
    return std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(d));
  }

  const TransferOptions& options_;
  const Clock::time_point start_;
  Clock::time_point last_report_, last_token_;
  TransferProgress progress_;
};

absl::Status SendTokens(Communicator* comm, const std::vector<int>& bystanders, int64_t token) {
  for (int rank : bystanders) {
    FSC_RETURN_IF_ERROR(comm->Send(&token, sizeof(token), rank));
  }
  return absl::OkStatus();
}

absl::Status RunSource(Communicator* comm, const TransferPlan& plan,
                       const std::vector<int>& bystanders, const std::vector<ByteSpan>& spans,
                       const TransferOptions& options, ProgressClock* clock, TransferStats* stats) {
  int64_t done = 0;
  for (const ByteSpan& span : spans) {
    for (size_t offset = 0; offset < span.bytes; offset += options.chunk_bytes) {
      const size_t n = std::min(options.chunk_bytes, span.bytes - offset);
      const char* chunk = static_cast<const char*>(span.data) + offset;
      for (int rank : plan.receivers) {
        absl::Status sent = comm->Send(chunk, n, rank);
        if (!sent.ok()) {
          return absl::Status(sent.code(), absl::StrCat("sending to rank ", rank, " after ", done,
                                                        " bytes: ", sent.message()));
        }
        stats->bytes_sent += static_cast<int64_t>(n);
      }
      done += static_cast<int64_t>(n);
      clock->Moved(done);
      if (!bystanders.empty() && clock->TokenDue()) {
        FSC_RETURN_IF_ERROR(SendTokens(comm, bystanders, done));
      }
    }
  }
  return SendTokens(comm, bystanders, kDoneToken);
}

absl::Status RunReceiver(Communicator* comm, const TransferPlan& plan,
                         const std::vector<ByteSpan>& spans, const TransferOptions& options,
                         ProgressClock* clock, TransferStats* stats) {
  for (size_t index = 0; index < spans.size(); ++index) {
    const ByteSpan& span = spans[index];
    for (size_t offset = 0; offset < span.bytes; offset += options.chunk_bytes) {
      const size_t n = std::min(options.chunk_bytes, span.bytes - offset);
      absl::Status received = comm->Recv(static_cast<char*>(span.data) + offset, n, plan.source);
      if (!received.ok()) {
        return absl::Status(received.code(),
                            absl::StrCat("receiving from rank ", plan.source, " after ",
                                         stats->bytes_received, " bytes: ", received.message()));
      }
      stats->bytes_received += static_cast<int64_t>(n);
      clock->Moved(stats->bytes_received);
    }
    if (options.on_span) options.on_span(index);
  }
  return absl::OkStatus();
}

absl::Status RunBystander(Communicator* comm, const TransferPlan& plan) {
  while (true) {
    int64_t token = 0;
    absl::Status received = comm->Recv(&token, sizeof(token), plan.source);
    if (!received.ok()) {
      return absl::Status(received.code(),
                          absl::StrCat("waiting for rank ", plan.source,
                                       "'s transfer to end: ", received.message()));
    }
    if (token == kDoneToken) return absl::OkStatus();
  }
}

}  // namespace

TransferRole RoleIn(const TransferPlan& plan, int rank) {
  if (rank == plan.source) return TransferRole::kSource;
  const bool receives =
      std::find(plan.receivers.begin(), plan.receivers.end(), rank) != plan.receivers.end();
  return receives ? TransferRole::kReceiver : TransferRole::kBystander;
}

absl::StatusOr<TransferStats> Transfer(Communicator* comm, const TransferPlan& plan,
                                       const std::vector<ByteSpan>& spans,
                                       const TransferOptions& options) {
  FSC_RETURN_IF_ERROR(CheckPlan(*comm, plan));
  if (options.chunk_bytes == 0) {
    return absl::InvalidArgumentError("the transfer chunk size must be positive");
  }
  TransferStats stats;
  if (plan.receivers.empty()) return stats;  // nobody lacks the data: nothing moves
  int64_t total = 0;
  for (const ByteSpan& span : spans) total += static_cast<int64_t>(span.bytes);
  ProgressClock clock(options, total);
  absl::Status status;
  switch (RoleIn(plan, comm->rank())) {
    case TransferRole::kSource: {
      std::vector<int> bystanders;
      for (int rank = 0; rank < comm->world_size(); ++rank) {
        if (RoleIn(plan, rank) == TransferRole::kBystander) bystanders.push_back(rank);
      }
      status = RunSource(comm, plan, bystanders, spans, options, &clock, &stats);
      break;
    }
    case TransferRole::kReceiver:
      status = RunReceiver(comm, plan, spans, options, &clock, &stats);
      break;
    case TransferRole::kBystander:
      status = RunBystander(comm, plan);
      break;
  }
  if (!status.ok()) return status;
  stats.seconds = clock.seconds();
  return stats;
}

absl::StatusOr<TransferStats> TransferString(Communicator* comm, const TransferPlan& plan,
                                             std::string* bytes, const TransferOptions& options) {
  FSC_RETURN_IF_ERROR(CheckPlan(*comm, plan));
  const TransferRole role = RoleIn(plan, comm->rank());
  int64_t size = role == TransferRole::kSource ? static_cast<int64_t>(bytes->size()) : 0;
  FSC_ASSIGN_OR_RETURN(TransferStats head, Transfer(comm, plan, {{&size, sizeof(size)}}, options));
  if (size < 0) return absl::DataLossError("transfer: a negative size arrived");
  if (role == TransferRole::kReceiver) bytes->assign(static_cast<size_t>(size), '\0');
  std::vector<ByteSpan> body;
  if (role != TransferRole::kBystander) body.push_back({bytes->data(), bytes->size()});
  FSC_ASSIGN_OR_RETURN(TransferStats stats, Transfer(comm, plan, body, options));
  stats.bytes_sent += head.bytes_sent;
  stats.bytes_received += head.bytes_received;
  stats.seconds += head.seconds;
  return stats;
}

}  // namespace fsc::dist
