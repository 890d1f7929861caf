// GlooCommunicator: Gloo's TCP transport and collectives, with timeouts and exceptions mapped
// to Status.
#include "core/dist/gloo_communicator.h"

#include <gloo/allreduce.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/types.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/dist/gloo_store.h"
#include "core/util/status_macros.h"

namespace fsc::dist {
namespace {

using ReduceFn = void (*)(void*, const void*, const void*, size_t);

// Slots of point-to-point messages: apart from Gloo's collectives (small prefixes) and numbered
// per pair and direction, so that messages match in call order.
constexpr uint8_t kPointToPointSlotPrefix = 0x51;

// Gloo reports everything by exception; its timeouts say "Timed out".
absl::Status FromException(const std::exception& e, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", e.what());
  if (absl::StrContains(e.what(), "Timed out") || absl::StrContains(e.what(), "timed out") ||
      absl::StrContains(e.what(), "DEADLINE_EXCEEDED")) {
    return absl::DeadlineExceededError(message);
  }
  return absl::UnavailableError(message);
}

class GlooCommunicator : public Communicator {
 public:
  GlooCommunicator(const CommunicatorOptions& options,
                   std::shared_ptr<gloo::transport::Device> device,
                   std::shared_ptr<gloo::rendezvous::Context> context)
      : options_(options), device_(std::move(device)), context_(std::move(context)) {}

  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  std::string backend() const override { return "gloo"; }

  absl::Status AllReduceSum(float* data, size_t count) override {
    return Reduce(data, count, static_cast<ReduceFn>(&gloo::sum<float>), "all-reduce");
  }
  absl::Status AllReduceSumHost(double* data, size_t count) override {
    return Reduce(data, count, static_cast<ReduceFn>(&gloo::sum<double>), "all-reduce (sum)");
  }
  absl::Status AllReduceMaxHost(int64_t* data, size_t count) override {
    return Reduce(data, count, static_cast<ReduceFn>(&gloo::max<int64_t>), "all-reduce (max)");
  }

  absl::Status Broadcast(void* data, size_t bytes, int root) override {
    if (root < 0 || root >= options_.world_size) {
      return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " is not a rank"));
    }
    return Run("broadcast", [&] {
      if (options_.world_size == 1 || bytes == 0) return;
      gloo::BroadcastOptions opts(context_);
      opts.setOutput(static_cast<uint8_t*>(data), bytes);
      opts.setRoot(root);
      opts.setTag(next_tag_++);
      opts.setTimeout(Timeout());
      gloo::broadcast(opts);
    });
  }

  absl::Status Send(const void* data, size_t bytes, int peer) override {
    FSC_RETURN_IF_ERROR(CheckPeer(peer, "send"));
    return Run("send", [&] {
      if (bytes == 0) return;
      // Gloo's unbound buffers take a non-const pointer; a send only reads it.
      std::unique_ptr<gloo::transport::UnboundBuffer> buffer =
          context_->createUnboundBuffer(const_cast<void*>(data), bytes);
      buffer->send(peer, gloo::Slot::build(kPointToPointSlotPrefix, sent_[peer]++));
      buffer->waitSend(Timeout());
    });
  }

  absl::Status Recv(void* data, size_t bytes, int peer) override {
    FSC_RETURN_IF_ERROR(CheckPeer(peer, "receive"));
    return Run("receive", [&] {
      if (bytes == 0) return;
      std::unique_ptr<gloo::transport::UnboundBuffer> buffer =
          context_->createUnboundBuffer(data, bytes);
      buffer->recv(peer, gloo::Slot::build(kPointToPointSlotPrefix, received_[peer]++));
      buffer->waitRecv(Timeout());
    });
  }

 private:
  template <typename T>
  absl::Status Reduce(T* data, size_t count, ReduceFn fn, const char* what) {
    return Run(what, [&] {
      if (options_.world_size == 1 || count == 0) return;
      gloo::AllreduceOptions opts(context_);
      opts.setOutput(data, count);  // in place: the output is the input too
      opts.setReduceFunction(fn);
      opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
      opts.setTag(next_tag_++);
      opts.setTimeout(Timeout());
      gloo::allreduce(opts);
    });
  }

  absl::Status CheckPeer(int peer, const char* what) const {
    if (peer < 0 || peer >= options_.world_size || peer == options_.rank) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": rank ", peer, " is not another rank of the group"));
    }
    return absl::OkStatus();
  }

  std::chrono::milliseconds Timeout() const {
    return std::chrono::milliseconds(absl::ToInt64Milliseconds(options_.timeout));
  }

  template <typename Fn>
  absl::Status Run(const char* what, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(what,
                                                        ": the group's connection failed earlier (",
                                                        broken_.message(), "); connect again"));
    }
    try {
      fn();
    } catch (const std::exception& e) {
      broken_ = FromException(e, absl::StrCat("gloo ", what, " (rank ", options_.rank, " of ",
                                              options_.world_size, ")"));
      return broken_;
    }
    return absl::OkStatus();
  }

  const CommunicatorOptions options_;
  std::shared_ptr<gloo::transport::Device> device_;
  std::shared_ptr<gloo::rendezvous::Context> context_;
  std::mutex mu_;
  uint32_t next_tag_ = 1;  // the same sequence on every rank: collectives match by order
  std::map<int, uint32_t> sent_, received_;  // point-to-point messages per peer and direction
  absl::Status broken_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> ConnectGloo(const CommunicatorOptions& options,
                                                          KeyValueStore* store) {
  const std::string address = options.bind_address.empty() ? "127.0.0.1" : options.bind_address;
  const std::string what = absl::StrCat("gloo connect (rank ", options.rank, " of ",
                                        options.world_size, ", listening on ", address, ")");
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = address;
    std::shared_ptr<gloo::transport::Device> device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(options.rank, options.world_size);
    context->setTimeout(std::chrono::milliseconds(absl::ToInt64Milliseconds(options.timeout)));
    // The store waits for the other ranks to arrive; the pairs then connect within `timeout`.
    GlooStore gloo_store(store, ConnectTimeout(options));
    // Keys under "gloo/" so that other users of the store (the elastic loop) never collide.
    gloo::rendezvous::PrefixStore prefixed("gloo", gloo_store);
    context->connectFullMesh(prefixed, device);
    return std::unique_ptr<Communicator>(
        new GlooCommunicator(options, std::move(device), std::move(context)));
  } catch (const std::exception& e) {
    return FromException(e, what);
  }
}

}  // namespace fsc::dist
