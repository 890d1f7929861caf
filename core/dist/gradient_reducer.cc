// GradientReducer: buckets, per-parameter hooks and the communication thread.
#include "core/dist/gradient_reducer.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace fsc::dist {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The slot of an entry in a flat buffer, shaped like its parameter.
torch::Tensor Slot(const torch::Tensor& flat, int64_t offset, const torch::Tensor& param) {
  return flat.narrow(0, offset, param.numel()).view(param.sizes());
}

}  // namespace

std::vector<BucketLayout> PlanBuckets(const std::vector<torch::Tensor>& params,
                                      int64_t bucket_bytes) {
  std::vector<BucketLayout> buckets;
  BucketLayout current;
  for (int i = static_cast<int>(params.size()) - 1; i >= 0; --i) {
    current.params.push_back(i);
    current.offsets.push_back(current.elements);
    current.elements += params[i].numel();
    if (current.elements * static_cast<int64_t>(sizeof(float)) >= bucket_bytes) {
      buckets.push_back(std::move(current));
      current = BucketLayout();
    }
  }
  if (!current.params.empty()) buckets.push_back(std::move(current));
  return buckets;
}

absl::StatusOr<std::unique_ptr<GradientReducer>> GradientReducer::Create(
    Communicator* comm, const GradientGroups& groups, int64_t bucket_bytes) {
  if (bucket_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("bucket size ", bucket_bytes, " bytes must be positive"));
  }
  std::unique_ptr<GradientReducer> r(new GradientReducer(comm));
  try {
    for (const auto& [name, params] : groups) {
      Group g;
      g.name = name;
      g.params = params;
      for (size_t i = 0; i < params.size(); ++i) {
        if (params[i].scalar_type() != torch::kFloat32) {
          return absl::InvalidArgumentError(absl::StrCat("gradient group \"", name,
                                                         "\": parameter ", i,
                                                         " is not float32; the all-reduce "
                                                         "buckets are float32"));
        }
      }
      g.buckets = PlanBuckets(params, bucket_bytes);
      g.where.assign(params.size(), {-1, -1});
      for (size_t b = 0; b < g.buckets.size(); ++b) {
        auto bucket = std::make_unique<Bucket>();
        bucket->layout = g.buckets[b];
        bucket->flat = torch::zeros({bucket->layout.elements},
                                    torch::TensorOptions()
                                        .dtype(torch::kFloat32)
                                        .device(params[bucket->layout.params[0]].device()));
        for (size_t e = 0; e < bucket->layout.params.size(); ++e) {
          g.where[bucket->layout.params[e]] = {static_cast<int>(b), static_cast<int>(e)};
        }
        g.state.push_back(std::move(bucket));
      }
      r->ResetGroup(g);
      r->groups_.push_back(std::move(g));
    }
    for (int gi = 0; gi < static_cast<int>(r->groups_.size()); ++gi) {
      for (int pi = 0; pi < static_cast<int>(r->groups_[gi].params.size()); ++pi) {
        torch::Tensor p = r->groups_[gi].params[pi];
        GradientReducer* raw = r.get();
        const unsigned handle = p.register_hook(
            [raw, gi, pi](const torch::Tensor& grad) { raw->OnGradient(gi, pi, grad); });
        r->hooks_.emplace_back(p, handle);
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("setting up the gradient buckets: ", e.what()));
  }
  r->ResetCursor();
  r->comm_thread_ = std::thread([raw = r.get()] { raw->CommLoop(); });
  return r;
}

GradientReducer::~GradientReducer() {
  for (auto& [param, handle] : hooks_) {
    try {
      param.remove_hook(handle);
    } catch (const std::exception&) {
      // The parameter's autograd metadata is gone; nothing to remove.
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (comm_thread_.joinable()) comm_thread_.join();
}

void GradientReducer::Rebind(Communicator* comm) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !in_collective_; });
  comm_ = comm;
  error_ = absl::OkStatus();
  for (Group& g : groups_) ResetGroup(g);
  ResetCursor();
  stats_ = ReducerStats();
  cv_.notify_all();
}

void GradientReducer::ResetCursor() {
  cursor_group_ = cursor_bucket_ = 0;
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (!groups_[i].state.empty()) {
      cursor_group_ = static_cast<int>(i);
      break;
    }
  }
}

void GradientReducer::set_weight(double weight) {
  std::lock_guard<std::mutex> lock(mu_);
  weight_ = weight;
}

void GradientReducer::set_overlap(bool overlap) {
  std::lock_guard<std::mutex> lock(mu_);
  overlap_ = overlap;
}

void GradientReducer::ResetGroup(Group& g) {
  for (auto& bucket : g.state) {
    bucket->arrived.assign(bucket->layout.params.size(), false);
    bucket->missing = static_cast<int>(bucket->layout.params.size());
    bucket->full = bucket->ready = bucket->done = false;
  }
}

void GradientReducer::OnGradient(int group, int param, const torch::Tensor& grad) {
  Store(group, param, grad);
}

void GradientReducer::Store(int group, int param, const torch::Tensor& grad) {
  Group& g = groups_[group];
  const auto [b, e] = g.where[param];
  Bucket& bucket = *g.state[b];
  double weight;
  bool again;
  {
    std::lock_guard<std::mutex> lock(mu_);
    weight = weight_;
    again = bucket.arrived[e];
    if (bucket.full) return;  // too late for this step's bucket (cannot happen with one backward)
  }
  // The copy runs without the lock: only this parameter's hook writes its slot, and the bucket
  // is not reduced before every slot has arrived.
  torch::Tensor slot = Slot(bucket.flat, bucket.layout.offsets[e], g.params[param]);
  torch::NoGradGuard no_grad;
  if (again) {
    slot.add_(grad.to(torch::kFloat32), weight);
  } else {
    at::mul_out(slot, grad.to(torch::kFloat32), at::scalar_tensor(weight, slot.options()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!again) {
    bucket.arrived[e] = true;
    if (--bucket.missing == 0) {
      bucket.full = true;
      bucket.ready = overlap_;
      cv_.notify_all();
    }
  }
}

void GradientReducer::CommLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      if (stop_) return true;
      if (comm_ == nullptr || groups_.empty() || !error_.ok() ||
          groups_[cursor_group_].state.empty()) {
        return false;
      }
      const Bucket& b = *groups_[cursor_group_].state[cursor_bucket_];
      return b.ready && !b.done;
    });
    if (stop_) return;
    Bucket& bucket = *groups_[cursor_group_].state[cursor_bucket_];
    Communicator* comm = comm_;
    in_collective_ = true;
    lock.unlock();
    const Clock::time_point start = Clock::now();
    absl::Status status =
        comm->AllReduceSum(bucket.flat.data_ptr<float>(), static_cast<size_t>(bucket.flat.numel()));
    const double seconds = Since(start);
    lock.lock();
    in_collective_ = false;
    cv_.notify_all();  // a Rebind may be waiting
    stats_.allreduce_seconds += seconds;
    if (!status.ok()) {
      error_ = status;
      cv_.notify_all();
      continue;  // wait for stop_
    }
    stats_.bytes += bucket.flat.numel() * static_cast<int64_t>(sizeof(float));
    ++stats_.buckets;
    bucket.done = true;
    // Next bucket: the rest of this group, then the next group's (and round again next step).
    if (++cursor_bucket_ == static_cast<int>(groups_[cursor_group_].state.size())) {
      cursor_bucket_ = 0;
      for (size_t i = 0; i < groups_.size(); ++i) {  // skips groups without parameters
        cursor_group_ = (cursor_group_ + 1) % static_cast<int>(groups_.size());
        if (!groups_[cursor_group_].state.empty()) break;
      }
    }
    cv_.notify_all();
  }
}

absl::Status GradientReducer::Finish(const std::string& name,
                                     const std::vector<torch::Tensor>& grads) {
  int gi = -1;
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i].name == name) gi = static_cast<int>(i);
  }
  if (gi < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("gradient group \"", name, "\" was not registered with the reducer"));
  }
  Group& g = groups_[gi];
  if (grads.size() != g.params.size()) {
    return absl::InvalidArgumentError(absl::StrCat("gradient group \"", name, "\": ", grads.size(),
                                                   " gradients for ", g.params.size(),
                                                   " parameters"));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) return error_;
  }
  try {
    // Parameters backward gave no gradient (unused this step) contribute their zeros.
    for (size_t i = 0; i < g.params.size(); ++i) {
      const auto [b, e] = g.where[i];
      bool arrived;
      {
        std::lock_guard<std::mutex> lock(mu_);
        arrived = g.state[b]->arrived[e];
      }
      if (!arrived) Store(gi, static_cast<int>(i), grads[i]);
    }
    const Clock::time_point start = Clock::now();
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (auto& bucket : g.state) bucket->ready = true;  // all full now (without overlap: go)
      cv_.notify_all();
      cv_.wait(lock, [&] {
        if (!error_.ok()) return true;
        for (const auto& bucket : g.state) {
          if (!bucket->done) return false;
        }
        return true;
      });
      stats_.wait_seconds += Since(start);
      if (!error_.ok()) return error_;
    }
    torch::NoGradGuard no_grad;
    for (const auto& bucket : g.state) {
      for (size_t e = 0; e < bucket->layout.params.size(); ++e) {
        const int p = bucket->layout.params[e];
        torch::Tensor grad = grads[p];
        grad.copy_(Slot(bucket->flat, bucket->layout.offsets[e], g.params[p]));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    ResetGroup(g);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("gradient all-reduce of \"", name, "\": ", e.what()));
  }
  return absl::OkStatus();
}

ReducerStats GradientReducer::TakeStats() {
  std::lock_guard<std::mutex> lock(mu_);
  ReducerStats out = stats_;
  stats_ = ReducerStats();
  return out;
}

}  // namespace fsc::dist
