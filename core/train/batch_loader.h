// Training batches for sides A and B, made ahead of time on worker threads so that the training
// step never waits on data.
//
// Sampling. Each side is an endless stream of samples: epoch e is a permutation of the face set
// drawn from (seed, side, e), and stream position g is face perm_e[g mod n] of epoch e = g / n,
// augmented with an Rng keyed by (seed, side, e, g mod n) (augment.h). Batch k of rank r in a
// world of w ranks holds stream positions (k·w + r)·B .. (k·w + r)·B + B − 1, B = batch_size.
// So:
//  - batch k is the same whichever thread made it and however many threads there are;
//  - ranks see disjoint parts of every epoch's permutation that together cover it, and a w-rank
//    run with batch B sees exactly the samples, augmentation included, of a 1-rank run with
//    batch w·B (rank r's batch is rows r·B .. r·B + B − 1 of that batch);
//  - resuming at batch k (options.first_batch) continues the stream exactly.
// Batches straddle epochs where the set size is not a multiple of the global batch.
//
// Threads. Workers take whole batches: the next batch of whichever side is the fewest batches
// ahead of its consumer, while at most `prefetch` per side are in flight or waiting. Next(side)
// hands them out in batch order. Worker threads only run OpenCV and fill tensors; nothing here uses
// LibTorch's intra-op pool. Destruction stops the workers (each finishes the batch in hand) and
// joins them.
//
// Memory. Samples are made from every face cropped to coverage at the model size (BGR, L*a*b*
// and mask: S² · 7 bytes per face, 28 KiB at 64 px, 112 KiB at 128 px): PreparedFaces, made once
// and shared by every loader over the same faces (a trainer's rollback or new shard makes a new
// loader, not new faces), so the FaceSets may be freed once they exist.
#ifndef FSC_CORE_TRAIN_BATCH_LOADER_H_
#define FSC_CORE_TRAIN_BATCH_LOADER_H_

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/mask.h"
#include "core/train/augment.h"
#include "core/train/face_set.h"

namespace fsc::train {

enum class Side { kA = 0, kB = 1 };

struct BatchLoaderOptions {
  int batch_size = 16;  // per side and per rank (ignored with global_batch)
  // > 0: a fixed global batch G per side, sharded: rank r's batch k holds rows
  // [r·G/w, (r+1)·G/w) of global batch k, i.e. stream positions k·G + row. The samples of a
  // global batch are then the same whatever w (also when w does not divide G), which is what
  // elastic training (a world that changes size mid-run) needs. Requires w <= G.
  int64_t global_batch = 0;
  int threads = 2;   // worker threads, shared by both sides
  int prefetch = 4;  // batches per side made ahead (in flight + waiting); >= 1
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
  // The landmark mask delivered in Batch::mask; nullopt for none (Batch::mask undefined).
  std::optional<face::MaskType> mask_type = face::MaskType::kExtended;
  AugmentOptions augment;   // augment.size is the model size S
  bool pin_memory = false;  // page-locked tensors for fast host-to-GPU copies; ignored without CUDA
  int64_t first_batch = 0;  // the first batch Next() returns per side (resume)
  // Optional per-sample weight map made on the worker threads, so that per-pixel CPU work stays
  // off the training step: e.g. a lambda calling BuildLossWeightMap (loss_weight_map.h) with the
  // sample's landmarks and mask. Must be thread-safe and return CV_32FC1 S x S; delivered as
  // Batch::weight. An error fails that batch.
  std::function<absl::StatusOr<cv::Mat>(const AugmentedSample&)> weight_map;
};

struct Batch {
  Side side = Side::kA;
  int64_t index = 0;  // batch number k of this side
  int64_t epoch = 0;  // epoch of the batch's first sample
  // float32, contiguous, N = batch_size, S = augment.size. Images and masks hold 0..1, colour
  // channels in RGB order (OpenCV's images are BGR; the tensors are RGB, as previews expect).
  torch::Tensor input;         // N x 3 x S x S: warped (the network's input)
  torch::Tensor target;        // N x 3 x S x S: not warped (what the decoder must produce)
  torch::Tensor mask;          // N x 1 x S x S aligned with target; undefined without mask_type
  torch::Tensor landmarks;     // N x 68 x 2 (x, y) in target pixels, pixel centres at integers
  torch::Tensor weight;        // N x 1 x S x S from options.weight_map; undefined without it
  std::vector<int64_t> faces;  // index in the side's FaceSet of each sample
};

struct LoaderStats {
  int64_t batches_produced = 0;   // both sides
  int64_t batches_delivered = 0;  // returned by Next()
  // Next() calls that found their batch not ready, and the time they blocked. The first batch
  // of each side is usually waited for (the workers have just started); after that a wait means
  // the loader is slower than the training step (more threads, or fewer augmentations).
  int64_t waits = 0;
  double wait_seconds = 0;
  double produce_seconds = 0;  // worker time spent making batches (sum over threads)
};

// Every face of one set cropped once (PrepareFace) for one model size, coverage and mask type.
// Immutable, so loaders on any number of threads share it.
class PreparedFaces {
 public:
  // Prepares set's faces on `threads` threads (>= 1).
  static std::shared_ptr<const PreparedFaces> Make(const FaceSet& set,
                                                   const AugmentOptions& augment,
                                                   std::optional<face::MaskType> mask_type,
                                                   int threads);

  int64_t size() const { return static_cast<int64_t>(faces_.size()); }
  const PreparedFace& operator[](int64_t i) const { return faces_[i]; }
  const std::string& dir() const { return dir_; }
  // OK when faces prepared this way are what `options` samples from; INVALID_ARGUMENT otherwise.
  absl::Status Fits(const BatchLoaderOptions& options) const;

 private:
  PreparedFaces() = default;
  std::vector<PreparedFace> faces_;
  std::string dir_;
  int size_ = 0;
  double coverage_ = 0;
  std::optional<face::MaskType> mask_type_;
};

class BatchLoader {
 public:
  // `a` and `b` are the two sides' face sets; either may be null (that side then has no
  // batches), not both. INVALID_ARGUMENT for bad options or a set smaller than the global batch
  // (batch_size · world_size), as Faceswap refuses.
  static absl::StatusOr<std::unique_ptr<BatchLoader>> Create(const FaceSet* a, const FaceSet* b,
                                                             const BatchLoaderOptions& options);
  // The same over faces already prepared for these options (PreparedFaces::Fits), which the
  // loader shares: no face is cropped again.
  static absl::StatusOr<std::unique_ptr<BatchLoader>> Create(std::shared_ptr<const PreparedFaces> a,
                                                             std::shared_ptr<const PreparedFaces> b,
                                                             const BatchLoaderOptions& options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch of `side`, in order, blocking until it is made. FAILED_PRECONDITION for a
  // side without faces; the error of a batch that could not be made (e.g. OpenCV failed); the
  // stream goes on after an error. Calls for one side must not overlap (A and B may be read
  // from different threads).
  absl::StatusOr<Batch> Next(Side side);

  LoaderStats stats() const;
  const BatchLoaderOptions& options() const { return options_; }
  // Rows of this rank's batches, and the first row it holds in the global batch.
  int64_t rows() const { return rows_; }
  int64_t first_row() const { return first_row_; }
  // Faces of a side (0 when absent).
  int64_t num_faces(Side side) const;

 private:
  struct SideState;
  BatchLoader(const BatchLoaderOptions& options);
  void WorkerLoop();
  // Makes batch `index` of `side`; thread-safe.
  absl::StatusOr<Batch> Produce(Side side, int64_t index);
  // The face order of `epoch` for `side` (cached for a few epochs).
  std::shared_ptr<const std::vector<int64_t>> Permutation(Side side, int64_t epoch);

  BatchLoaderOptions options_;
  int64_t rows_ = 0, first_row_ = 0, global_rows_ = 0;  // per batch: this rank's, its offset, all
  std::unique_ptr<SideState> sides_[2];

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // workers: a slot freed or stop
  std::condition_variable ready_cv_;  // consumers: a batch is ready
  bool stop_ = false;
  LoaderStats stats_;

  std::mutex permutation_mu_;
  std::map<std::pair<int, int64_t>, std::shared_ptr<const std::vector<int64_t>>> permutations_;

  std::vector<std::thread> workers_;
};

// A batch of chosen faces without augmentation (coverage crop only, input = target), in the same
// tensor layout; for previews. INVALID_ARGUMENT for an index outside `set` or bad options.
absl::StatusOr<Batch> MakePlainBatch(const FaceSet& set, Side side,
                                     const std::vector<int64_t>& faces,
                                     const BatchLoaderOptions& options);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_BATCH_LOADER_H_
