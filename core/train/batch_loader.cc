// BatchLoader: deterministic sampling by batch index, worker threads that fill tensors directly,
// in-order delivery per side.
#include "core/train/batch_loader.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/face/mask.h"
#include "core/util/status_macros.h"

namespace fsc::train {
namespace {

constexpr int kNumLandmarks = 68;
// Tags that keep the permutation streams apart from the per-sample streams.
constexpr uint64_t kPermutationTag = 0x7065726d75746521ull;

const char* SideName(Side side) { return side == Side::kA ? "A" : "B"; }

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Exact v / 255 for every 8-bit value (a multiply by 1/255 can be off by one ulp).
const std::array<float, 256>& UnitScale() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int v = 0; v < 256; ++v) t[v] = static_cast<float>(v) / 255.0f;
    return t;
  }();
  return table;
}

// Writes a BGR 8-bit image into three float planes in R, G, B order.
void WriteRgbPlanes(const cv::Mat& bgr, float* planes) {
  const std::array<float, 256>& unit = UnitScale();
  const int size = bgr.cols;
  float* red = planes;
  float* green = planes + static_cast<size_t>(size) * size;
  float* blue = green + static_cast<size_t>(size) * size;
  for (int row = 0; row < bgr.rows; ++row) {
    const uint8_t* src = bgr.ptr<uint8_t>(row);
    const size_t base = static_cast<size_t>(row) * size;
    for (int col = 0; col < size; ++col) {
      blue[base + col] = unit[src[3 * col]];
      green[base + col] = unit[src[3 * col + 1]];
      red[base + col] = unit[src[3 * col + 2]];
    }
  }
}

void WritePlane(const cv::Mat& gray, float* plane) {
  const std::array<float, 256>& unit = UnitScale();
  for (int row = 0; row < gray.rows; ++row) {
    const uint8_t* src = gray.ptr<uint8_t>(row);
    float* dst = plane + static_cast<size_t>(row) * gray.cols;
    for (int col = 0; col < gray.cols; ++col) dst[col] = unit[src[col]];
  }
}

// Empty batch tensors, allocated once and then written in place sample by sample.
Batch AllocateBatch(Side side, int64_t count, int size, bool mask, bool weight, bool pin) {
  auto options = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pin);
  Batch batch;
  batch.side = side;
  batch.input = torch::empty({count, 3, size, size}, options);
  batch.target = torch::empty({count, 3, size, size}, options);
  if (mask) batch.mask = torch::empty({count, 1, size, size}, options);
  if (weight) batch.weight = torch::empty({count, 1, size, size}, options);
  batch.landmarks = torch::empty({count, kNumLandmarks, 2}, options);
  batch.faces.reserve(count);
  return batch;
}

// Copies sample j into the batch tensors; runs `weight_map` when the batch carries weights.
absl::Status WriteSample(const AugmentedSample& sample, int64_t j,
                         const BatchLoaderOptions& options, Batch* batch) {
  const int64_t plane = batch->input.size(2) * batch->input.size(3);
  if (batch->weight.defined()) {
    FSC_ASSIGN_OR_RETURN(cv::Mat weight, options.weight_map(sample));
    const int size = static_cast<int>(batch->input.size(2));
    if (weight.type() != CV_32FC1 || weight.rows != size || weight.cols != size) {
      return absl::InternalError(absl::StrCat("the weight map callback returned a ", weight.cols,
                                              "x", weight.rows, " map of type ", weight.type(),
                                              "; it must be CV_32FC1 ", size, "x", size));
    }
    cv::Mat destination(size, size, CV_32F, batch->weight.data_ptr<float>() + j * plane);
    weight.copyTo(destination);
  }
  WriteRgbPlanes(sample.input, batch->input.data_ptr<float>() + j * 3 * plane);
  WriteRgbPlanes(sample.target, batch->target.data_ptr<float>() + j * 3 * plane);
  if (batch->mask.defined()) WritePlane(sample.mask, batch->mask.data_ptr<float>() + j * plane);
  float* points = batch->landmarks.data_ptr<float>() + j * kNumLandmarks * 2;
  for (int i = 0; i < kNumLandmarks; ++i) {
    points[2 * i] = sample.landmarks[i].x;
    points[2 * i + 1] = sample.landmarks[i].y;
  }
  return absl::OkStatus();
}

bool UsePinnedMemory(const BatchLoaderOptions& options) {
  return options.pin_memory && torch::cuda::is_available();
}

absl::Status ValidateOptions(const BatchLoaderOptions& o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("batch loader: ", what));
  };
  if (o.batch_size < 1) return bad(absl::StrCat("batch size ", o.batch_size, " must be >= 1"));
  if (o.threads < 1 || o.threads > 256)
    return bad(absl::StrCat("threads ", o.threads, " not in 1..256"));
  if (o.prefetch < 1) return bad(absl::StrCat("prefetch ", o.prefetch, " must be >= 1"));
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return bad(absl::StrCat("rank ", o.rank, " of world size ", o.world_size, " is not valid"));
  }
  if (o.first_batch < 0) return bad(absl::StrCat("first batch ", o.first_batch, " is negative"));
  if (o.global_batch < 0 || (o.global_batch > 0 && o.global_batch < o.world_size)) {
    return bad(absl::StrCat("global batch ", o.global_batch, " cannot be shared by ", o.world_size,
                            " ranks (each needs at least one row)"));
  }
  return ValidateAugmentOptions(o.augment);
}

int64_t GlobalBatch(const BatchLoaderOptions& options) {
  return options.global_batch > 0 ? options.global_batch
                                  : static_cast<int64_t>(options.batch_size) * options.world_size;
}

absl::Status TooFewFaces(Side side, const std::string& dir, int64_t faces,
                         const BatchLoaderOptions& options) {
  return absl::InvalidArgumentError(absl::StrCat(
      "face set ", SideName(side), " (", dir, ") has ", faces, " faces, fewer than the batch of ",
      GlobalBatch(options),
      (options.world_size > 1 && options.global_batch == 0
           ? absl::StrCat(" (", options.batch_size, " x ", options.world_size, " ranks)")
           : std::string()),
      "; extract more faces or lower the batch size"));
}

}  // namespace

struct BatchLoader::SideState {
  std::shared_ptr<const PreparedFaces> faces;
  int64_t next_to_claim = 0;    // next batch index a worker will make
  int64_t next_to_deliver = 0;  // next batch index Next() returns
  std::map<int64_t, absl::StatusOr<Batch>> ready;
};

BatchLoader::BatchLoader(const BatchLoaderOptions& options) : options_(options) {}

std::shared_ptr<const PreparedFaces> PreparedFaces::Make(const FaceSet& set,
                                                         const AugmentOptions& augment,
                                                         std::optional<face::MaskType> mask_type,
                                                         int threads) {
  std::shared_ptr<PreparedFaces> prepared(new PreparedFaces());
  prepared->dir_ = set.dir();
  prepared->size_ = augment.size;
  prepared->coverage_ = augment.coverage;
  prepared->mask_type_ = mask_type;
  prepared->faces_.resize(set.size());
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  const int64_t workers = std::clamp<int64_t>(threads, 1, std::max<int64_t>(set.size(), 1));
  for (int64_t t = 0; t < workers; ++t) {
    pool.emplace_back([&] {
      for (int64_t i = next++; i < set.size(); i = next++) {
        prepared->faces_[i] = PrepareFace(set[i], augment, mask_type);
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  return prepared;
}

absl::Status PreparedFaces::Fits(const BatchLoaderOptions& options) const {
  if (options.augment.size == size_ && options.augment.coverage == coverage_ &&
      options.mask_type == mask_type_) {
    return absl::OkStatus();
  }
  auto describe = [](int size, double coverage, const std::optional<face::MaskType>& mask) {
    return absl::StrCat(size, " px, coverage ", coverage, ", ",
                        mask ? face::MaskTypeName(*mask) + " mask" : "no mask");
  };
  return absl::InvalidArgumentError(
      absl::StrCat("batch loader: the faces of ", dir_, " were prepared at ",
                   describe(size_, coverage_, mask_type_), ", but the loader's options ask for ",
                   describe(options.augment.size, options.augment.coverage, options.mask_type),
                   "; prepare them again with these options (PreparedFaces::Make)"));
}

absl::StatusOr<std::unique_ptr<BatchLoader>> BatchLoader::Create(
    const FaceSet* a, const FaceSet* b, const BatchLoaderOptions& options) {
  FSC_RETURN_IF_ERROR(ValidateOptions(options));
  std::shared_ptr<const PreparedFaces> prepared[2];
  const FaceSet* sets[2] = {a, b};
  for (int s = 0; s < 2; ++s) {
    // Refused before any face is cropped: the same check Create makes on prepared faces.
    if (sets[s] != nullptr && sets[s]->size() < GlobalBatch(options)) {
      return TooFewFaces(static_cast<Side>(s), sets[s]->dir(), sets[s]->size(), options);
    }
    if (sets[s] != nullptr) {
      prepared[s] =
          PreparedFaces::Make(*sets[s], options.augment, options.mask_type, options.threads);
    }
  }
  return Create(std::move(prepared[0]), std::move(prepared[1]), options);
}

absl::StatusOr<std::unique_ptr<BatchLoader>> BatchLoader::Create(
    std::shared_ptr<const PreparedFaces> a, std::shared_ptr<const PreparedFaces> b,
    const BatchLoaderOptions& options) {
  FSC_RETURN_IF_ERROR(ValidateOptions(options));
  if (a == nullptr && b == nullptr) {
    return absl::InvalidArgumentError("batch loader: needs the face set of side A, B or both");
  }
  const int64_t global_batch = GlobalBatch(options);
  std::unique_ptr<BatchLoader> loader(new BatchLoader(options));
  loader->global_rows_ = global_batch;
  if (options.global_batch > 0) {
    loader->first_row_ = options.rank * global_batch / options.world_size;
    loader->rows_ = (options.rank + 1) * global_batch / options.world_size - loader->first_row_;
  } else {
    loader->first_row_ = static_cast<int64_t>(options.rank) * options.batch_size;
    loader->rows_ = options.batch_size;
  }
  std::shared_ptr<const PreparedFaces> sides[2] = {std::move(a), std::move(b)};
  for (int s = 0; s < 2; ++s) {
    if (sides[s] == nullptr) continue;
    FSC_RETURN_IF_ERROR(sides[s]->Fits(options));
    if (sides[s]->size() < global_batch) {
      return TooFewFaces(static_cast<Side>(s), sides[s]->dir(), sides[s]->size(), options);
    }
    auto state = std::make_unique<SideState>();
    state->faces = std::move(sides[s]);
    state->next_to_claim = state->next_to_deliver = options.first_batch;
    loader->sides_[s] = std::move(state);
  }
  for (int t = 0; t < options.threads; ++t) {
    loader->workers_.emplace_back([raw = loader.get()] { raw->WorkerLoop(); });
  }
  return loader;
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  ready_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

int64_t BatchLoader::num_faces(Side side) const {
  const auto& state = sides_[static_cast<int>(side)];
  return state ? state->faces->size() : 0;
}

void BatchLoader::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // The side with room for another batch and the fewest made ahead goes first, so a consumer
    // alternating A and B finds both ready and one that reads a single side never stalls.
    int chosen = -1;
    work_cv_.wait(lock, [&] {
      if (stop_) return true;
      int64_t best_ahead = options_.prefetch;
      chosen = -1;
      for (int s = 0; s < 2; ++s) {
        const SideState* state = sides_[s].get();
        if (state == nullptr) continue;
        const int64_t ahead = state->next_to_claim - state->next_to_deliver;
        if (ahead < best_ahead) {
          best_ahead = ahead;
          chosen = s;
        }
      }
      return chosen >= 0;
    });
    if (stop_) return;
    SideState& state = *sides_[chosen];
    const int64_t index = state.next_to_claim++;
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<Batch> batch = Produce(static_cast<Side>(chosen), index);
    const double seconds = SecondsSince(start);
    lock.lock();
    state.ready.emplace(index, std::move(batch));
    ++stats_.batches_produced;
    stats_.produce_seconds += seconds;
    ready_cv_.notify_all();
  }
}

absl::StatusOr<Batch> BatchLoader::Next(Side side) {
  SideState* state = sides_[static_cast<int>(side)].get();
  if (state == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("batch loader: side ", SideName(side), " has no face set"));
  }
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t index = state->next_to_deliver;
  auto it = state->ready.find(index);
  if (it == state->ready.end()) {
    const auto start = std::chrono::steady_clock::now();
    ready_cv_.wait(lock, [&] {
      it = state->ready.find(index);
      return stop_ || it != state->ready.end();
    });
    ++stats_.waits;
    stats_.wait_seconds += SecondsSince(start);
    if (it == state->ready.end()) return absl::CancelledError("batch loader is shutting down");
  }
  absl::StatusOr<Batch> batch = std::move(it->second);
  state->ready.erase(it);
  ++state->next_to_deliver;
  ++stats_.batches_delivered;
  lock.unlock();
  work_cv_.notify_all();
  return batch;
}

LoaderStats BatchLoader::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::shared_ptr<const std::vector<int64_t>> BatchLoader::Permutation(Side side, int64_t epoch) {
  const std::pair<int, int64_t> key(static_cast<int>(side), epoch);
  std::lock_guard<std::mutex> lock(permutation_mu_);
  auto it = permutations_.find(key);
  if (it != permutations_.end()) return it->second;
  const int64_t n = sides_[key.first]->faces->size();
  auto order = std::make_shared<std::vector<int64_t>>(n);
  for (int64_t i = 0; i < n; ++i) (*order)[i] = i;
  Rng rng = Rng::ForKey({options_.seed, kPermutationTag, static_cast<uint64_t>(key.first),
                         static_cast<uint64_t>(epoch)});
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    std::swap((*order)[i], (*order)[rng.Below(static_cast<uint64_t>(i) + 1)]);
  }
  // Workers are at most a few batches apart, so only neighbouring epochs are ever needed: keep
  // the cache small by dropping this side's oldest epoch (recomputed if ever needed again).
  auto side_begin = permutations_.lower_bound({key.first, INT64_MIN});
  auto side_end = permutations_.lower_bound({key.first + 1, INT64_MIN});
  if (std::distance(side_begin, side_end) >= 4) permutations_.erase(side_begin);
  permutations_.emplace(key, order);
  return order;
}

absl::StatusOr<Batch> BatchLoader::Produce(Side side, int64_t index) {
  const SideState& state = *sides_[static_cast<int>(side)];
  const int64_t n = state.faces->size();
  // Batch `index` of this rank is rows [first_row_, first_row_ + rows_) of global batch `index`
  // (without global_batch, rows_ = batch_size and global_rows_ = batch_size · world_size, which
  // is the (k·w + r)·B layout).
  const int64_t count = rows_;
  const int64_t first = index * global_rows_ + first_row_;
  try {
    Batch batch = AllocateBatch(side, count, options_.augment.size, options_.mask_type.has_value(),
                                static_cast<bool>(options_.weight_map), UsePinnedMemory(options_));
    batch.index = index;
    batch.epoch = first / n;
    std::shared_ptr<const std::vector<int64_t>> order;
    AugmentedSample sample;
    for (int64_t j = 0; j < count; ++j) {
      const int64_t position = first + j;
      const int64_t epoch = position / n;
      const int64_t offset = position % n;
      if (j == 0 || offset == 0) order = Permutation(side, epoch);
      const int64_t face = (*order)[offset];
      Rng rng = Rng::ForKey({options_.seed, static_cast<uint64_t>(side),
                             static_cast<uint64_t>(epoch), static_cast<uint64_t>(offset)});
      const SampleParams params = DrawSampleParams(options_.augment, rng);
      AugmentSample((*state.faces)[face], options_.augment, params, &sample);
      absl::Status written = WriteSample(sample, j, options_, &batch);
      if (!written.ok()) {
        return absl::Status(written.code(), absl::StrCat("batch loader: batch ", index, " of side ",
                                                         SideName(side), ": ", written.message()));
      }
      batch.faces.push_back(face);
    }
    return batch;
  } catch (const std::exception& e) {  // cv::Exception, c10::Error: report, don't kill the run
    return absl::InternalError(absl::StrCat("batch loader: making batch ", index, " of side ",
                                            SideName(side), " failed: ", e.what()));
  }
}

absl::StatusOr<Batch> MakePlainBatch(const FaceSet& set, Side side,
                                     const std::vector<int64_t>& faces,
                                     const BatchLoaderOptions& options) {
  FSC_RETURN_IF_ERROR(ValidateAugmentOptions(options.augment));
  AugmentOptions plain = options.augment;
  plain.augment = false;
  for (int64_t face : faces) {
    if (face < 0 || face >= set.size()) {
      return absl::InvalidArgumentError(absl::StrCat("preview face ", face, " is outside face set ",
                                                     set.dir(), " of ", set.size(), " faces"));
    }
  }
  try {
    Batch batch = AllocateBatch(side, static_cast<int64_t>(faces.size()), plain.size,
                                options.mask_type.has_value(),
                                static_cast<bool>(options.weight_map), UsePinnedMemory(options));
    AugmentedSample sample;
    for (size_t j = 0; j < faces.size(); ++j) {
      const PreparedFace prepared = PrepareFace(set[faces[j]], plain, options.mask_type);
      AugmentSample(prepared, plain, SampleParams(), &sample);
      FSC_RETURN_IF_ERROR(WriteSample(sample, static_cast<int64_t>(j), options, &batch));
      batch.faces.push_back(faces[j]);
    }
    return batch;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("making a preview batch failed: ", e.what()));
  }
}

}  // namespace fsc::train
