// What accelerators this worker can offer, for RegisterRequest.gpus.
#ifndef FSC_WORKER_GPU_INFO_H_
#define FSC_WORKER_GPU_INFO_H_

#include <vector>

#include "proto/fsc.pb.h"

namespace fsc::worker {

// One entry per CUDA device LibTorch sees (none on a CPU build or a machine without GPUs).
std::vector<proto::GpuInfo> DetectGpus();

}  // namespace fsc::worker

#endif  // FSC_WORKER_GPU_INFO_H_
