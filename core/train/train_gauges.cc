// The training gauges of the standard metrics, fed from Trainer callbacks.
#include "core/train/train_gauges.h"

#include <string>

namespace fsc::train {

TrainGauges::TrainGauges(const metrics::StandardMetrics& m, int rank, bool gan, bool mask)
    : iteration_(*m.train_iteration),
      examples_family_(m.train_examples_per_second),
      rank_(rank),
      examples_per_second_(&m.train_examples_per_second.WithLabels({std::to_string(rank)})),
      loss_a_(m.train_loss.WithLabels({"a"})),
      loss_b_(m.train_loss.WithLabels({"b"})) {
  if (mask) {
    mask_a_ = &m.train_mask_loss.WithLabels({"a"});
    mask_b_ = &m.train_mask_loss.WithLabels({"b"});
  }
  if (gan) {
    gan_g_a_ = &m.train_gan_loss.WithLabels({"a", "generator"});
    gan_g_b_ = &m.train_gan_loss.WithLabels({"b", "generator"});
    gan_d_a_ = &m.train_gan_loss.WithLabels({"a", "discriminator"});
    gan_d_b_ = &m.train_gan_loss.WithLabels({"b", "discriminator"});
  }
}

void TrainGauges::SetRank(int rank) {
  if (rank == rank_) return;
  examples_per_second_->Set(0);
  rank_ = rank;
  examples_per_second_ = &examples_family_.WithLabels({std::to_string(rank)});
}

void TrainGauges::Step(int64_t iteration, const StepLosses& l) {
  iteration_.Set(static_cast<double>(iteration));
  if (l.skipped) return;
  loss_a_.Set(l.a);
  loss_b_.Set(l.b);
  if (mask_a_ != nullptr) {
    mask_a_->Set(l.mask_a);
    mask_b_->Set(l.mask_b);
  }
  if (gan_g_a_ != nullptr) {
    gan_g_a_->Set(l.gan_g_a);
    gan_g_b_->Set(l.gan_g_b);
    gan_d_a_->Set(l.gan_d_a);
    gan_d_b_->Set(l.gan_d_b);
  }
}

void TrainGauges::Interval(const IntervalReport& r) {
  examples_per_second_->Set(r.examples_per_sec);
}

void RecordCheckpoint(double seconds, const std::map<std::string, std::string>& files) {
  double bytes = 0;
  for (const auto& [role, contents] : files) bytes += static_cast<double>(contents.size());
  const metrics::StandardMetrics& m = metrics::Standard();
  m.checkpoint_seconds->Observe(seconds);
  m.checkpoint_bytes->Set(bytes);
}

}  // namespace fsc::train
