// NcclCommunicator: NCCL collectives on a CUDA stream of their own, with host-side timeouts.
// Host bytes (broadcast, send, receive) move through a device staging buffer in 16 MiB pieces,
// each bounded by the timeout on its own: the same "no progress" rule as bulk_transfer.h.
// Compiled only with FSC_WITH_CUDA (CMake's FSC_CUDA block); uses the CUDA runtime API and NCCL
// only, so a CPU LibTorch build links it too.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/dist/nccl_communicator.h"
#include "core/util/status_macros.h"

namespace fsc::dist {
namespace {

absl::Status CudaError(cudaError_t error, const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorString(error)));
}

absl::Status NcclError(ncclResult_t result, const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", ncclGetErrorString(result)));
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(const CommunicatorOptions& options, ncclComm_t comm, cudaStream_t stream)
      : options_(options), comm_(comm), stream_(stream) {}

  ~NcclCommunicator() override {
    cudaSetDevice(options_.cuda_device);
    if (staging_ != nullptr) cudaFree(staging_);
    if (comm_ != nullptr) {
      if (broken_.ok()) {
        ncclCommDestroy(comm_);
      } else {
        ncclCommAbort(comm_);
      }
    }
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  std::string backend() const override { return "nccl"; }

  absl::Status AllReduceSum(float* data, size_t count) override {
    std::lock_guard<std::mutex> lock(mu_);
    FSC_RETURN_IF_ERROR(Usable("all-reduce"));
    return Launch("all-reduce", [&] {
      return ncclAllReduce(data, data, count, ncclFloat32, ncclSum, comm_, stream_);
    });
  }

  absl::Status AllReduceSumHost(double* data, size_t count) override {
    return HostReduce(data, count * sizeof(double), count, ncclFloat64, ncclSum, "all-reduce");
  }
  absl::Status AllReduceMaxHost(int64_t* data, size_t count) override {
    return HostReduce(data, count * sizeof(int64_t), count, ncclInt64, ncclMax, "all-reduce");
  }

  absl::Status Broadcast(void* data, size_t bytes, int root) override {
    if (root < 0 || root >= options_.world_size) {
      return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " is not a rank"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    FSC_RETURN_IF_ERROR(Usable("broadcast"));
    const bool sending = options_.rank == root;
    return Staged(data, bytes, sending, !sending, "broadcast", [&](size_t n) {
      return ncclBroadcast(staging_, staging_, n, ncclUint8, root, comm_, stream_);
    });
  }

  absl::Status Send(const void* data, size_t bytes, int peer) override {
    FSC_RETURN_IF_ERROR(CheckPeer(peer, "send"));
    std::lock_guard<std::mutex> lock(mu_);
    FSC_RETURN_IF_ERROR(Usable("send"));
    return Staged(const_cast<void*>(data), bytes, true, false, "send",
                  [&](size_t n) { return ncclSend(staging_, n, ncclUint8, peer, comm_, stream_); });
  }

  absl::Status Recv(void* data, size_t bytes, int peer) override {
    FSC_RETURN_IF_ERROR(CheckPeer(peer, "receive"));
    std::lock_guard<std::mutex> lock(mu_);
    FSC_RETURN_IF_ERROR(Usable("receive"));
    return Staged(data, bytes, false, true, "receive",
                  [&](size_t n) { return ncclRecv(staging_, n, ncclUint8, peer, comm_, stream_); });
  }

 private:
  absl::Status CheckPeer(int peer, const char* what) const {
    if (peer < 0 || peer >= options_.world_size || peer == options_.rank) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": rank ", peer, " is not another rank of the group"));
    }
    return absl::OkStatus();
  }

  // Moves host bytes through the staging buffer in pieces of its size, each piece one NCCL call
  // (`call(n)`) bounded by the timeout: a bulk transfer fails only when a piece makes no
  // progress for that long, never because the whole is large. `upload`: copy each piece to the
  // GPU first; `download`: copy it back afterwards. mu_ held.
  template <typename Call>
  absl::Status Staged(void* data, size_t bytes, bool upload, bool download, const char* what,
                      Call&& call) {
    constexpr size_t kPiece = 16 << 20;
    FSC_RETURN_IF_ERROR(EnsureStaging(std::min(bytes, kPiece)));
    for (size_t offset = 0; offset < bytes; offset += kPiece) {
      const size_t n = std::min(kPiece, bytes - offset);
      char* host = static_cast<char*>(data) + offset;
      if (upload) {
        cudaError_t e = cudaMemcpyAsync(staging_, host, n, cudaMemcpyHostToDevice, stream_);
        if (e != cudaSuccess) return CudaError(e, absl::StrCat("nccl ", what, ": copy to the GPU"));
      }
      FSC_RETURN_IF_ERROR(Launch(what, [&] { return call(n); }));
      if (download) {
        cudaError_t e = cudaMemcpy(host, staging_, n, cudaMemcpyDeviceToHost);
        if (e != cudaSuccess) {
          return CudaError(e, absl::StrCat("nccl ", what, ": copy from the GPU"));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status Usable(const char* what) {
    if (broken_.ok())
      return cudaSetDevice(options_.cuda_device) == cudaSuccess
                 ? absl::OkStatus()
                 : absl::InternalError("cannot select the communicator's GPU");
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": the group's connection failed earlier (", broken_.message(), "); connect again"));
  }

  absl::Status EnsureStaging(size_t bytes) {
    if (bytes <= staging_bytes_) return absl::OkStatus();
    if (staging_ != nullptr) cudaFree(staging_);
    staging_ = nullptr;
    cudaError_t e = cudaMalloc(&staging_, bytes);
    if (e != cudaSuccess) return CudaError(e, "nccl: staging buffer");
    staging_bytes_ = bytes;
    return absl::OkStatus();
  }

  absl::Status HostReduce(void* data, size_t bytes, size_t count, ncclDataType_t type,
                          ncclRedOp_t op, const char* what) {
    std::lock_guard<std::mutex> lock(mu_);
    FSC_RETURN_IF_ERROR(Usable(what));
    FSC_RETURN_IF_ERROR(EnsureStaging(bytes));
    cudaError_t e = cudaMemcpyAsync(staging_, data, bytes, cudaMemcpyHostToDevice, stream_);
    if (e != cudaSuccess) return CudaError(e, "nccl: copy to the GPU");
    FSC_RETURN_IF_ERROR(Launch(
        what, [&] { return ncclAllReduce(staging_, staging_, count, type, op, comm_, stream_); }));
    e = cudaMemcpy(data, staging_, bytes, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) return CudaError(e, "nccl: copy from the GPU");
    return absl::OkStatus();
  }

  // Enqueues one NCCL call and waits for the stream, polling so that a peer that never
  // arrives (or an asynchronous NCCL error) ends in an abort instead of a hang.
  template <typename Fn>
  absl::Status Launch(const char* what, Fn&& fn) {
    const std::string name =
        absl::StrCat("nccl ", what, " (rank ", options_.rank, " of ", options_.world_size, ")");
    ncclResult_t r = fn();
    if (r != ncclSuccess) return Fail(NcclError(r, name));
    const absl::Time deadline = absl::Now() + options_.timeout;
    while (true) {
      cudaError_t q = cudaStreamQuery(stream_);
      if (q == cudaSuccess) return absl::OkStatus();
      if (q != cudaErrorNotReady) return Fail(CudaError(q, name));
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess) return Fail(NcclError(async, name));
      if (absl::Now() >= deadline) {
        return Fail(absl::DeadlineExceededError(absl::StrCat(name, ": not finished within ",
                                                             absl::FormatDuration(options_.timeout),
                                                             " (a peer died or is unreachable)")));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  absl::Status Fail(absl::Status status) {
    broken_ = status;
    return status;
  }

  const CommunicatorOptions options_;
  ncclComm_t comm_;
  cudaStream_t stream_;
  std::mutex mu_;
  void* staging_ = nullptr;
  size_t staging_bytes_ = 0;
  absl::Status broken_;
};

}  // namespace

bool NcclCompiledIn() { return true; }

absl::StatusOr<std::unique_ptr<Communicator>> ConnectNccl(const CommunicatorOptions& options,
                                                          KeyValueStore* store) {
  int devices = 0;
  cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the nccl backend needs a GPU, and this machine has none usable (",
                     e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA devices",
                     "); train on the CPU with --backend gloo"));
  }
  if (options.cuda_device < 0 || options.cuda_device >= devices) {
    return absl::FailedPreconditionError(
        absl::StrCat("GPU ", options.cuda_device, " does not exist (", devices, " found)"));
  }
  e = cudaSetDevice(options.cuda_device);
  if (e != cudaSuccess) return CudaError(e, "nccl: selecting the GPU");

  // Rank 0 makes the unique id; everyone else reads it from the store.
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (options.rank == 0) {
    ncclResult_t r = ncclGetUniqueId(&id);
    if (r != ncclSuccess) return NcclError(r, "nccl: making the group's unique id");
    FSC_RETURN_IF_ERROR(
        store->Set("nccl/unique_id", std::string(reinterpret_cast<const char*>(&id), sizeof(id))));
  } else {
    FSC_ASSIGN_OR_RETURN(std::vector<std::string> values,
                         store->Get({"nccl/unique_id"}, ConnectTimeout(options)));
    if (values[0].size() != sizeof(id)) {
      return absl::DataLossError("nccl: the unique id in the rendezvous store has a wrong size");
    }
    std::memcpy(&id, values[0].data(), sizeof(id));
  }
  cudaStream_t stream = nullptr;
  e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) return CudaError(e, "nccl: creating a stream");

  // Non-blocking init so that a peer that never joins is a timeout here too.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  ncclResult_t r = ncclCommInitRankConfig(&comm, options.world_size, id, options.rank, &config);
  const absl::Time deadline = absl::Now() + ConnectTimeout(options);
  while (r == ncclInProgress || (r == ncclSuccess && comm != nullptr)) {
    ncclResult_t state = ncclSuccess;
    ncclCommGetAsyncError(comm, &state);
    if (state == ncclSuccess) {
      r = ncclSuccess;
      break;
    }
    if (state != ncclInProgress) {
      r = state;
      break;
    }
    if (absl::Now() >= deadline) {
      ncclCommAbort(comm);
      cudaStreamDestroy(stream);
      return absl::DeadlineExceededError(absl::StrCat("nccl: the group did not form within ",
                                                      absl::FormatDuration(options.timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (r != ncclSuccess) {
    if (comm != nullptr) ncclCommAbort(comm);
    cudaStreamDestroy(stream);
    return NcclError(r, "nccl: joining the group");
  }
  return std::unique_ptr<Communicator>(new NcclCommunicator(options, comm, stream));
}

}  // namespace fsc::dist
