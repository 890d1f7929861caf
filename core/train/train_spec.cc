// The binding between proto::TrainOptions fields and TrainOptions members (see train_spec.h).
#include "core/train/train_spec.h"

#include <vector>

#include "core/rpc/option_binding.h"

namespace fsc::train {
namespace {

using rpc::Bind;

// The trainer's member behind each annotated field that is not cluster-only. A field missing
// here fails TrainSpecTest.EveryTrainerFieldIsBound.
const std::vector<rpc::OptionBinding<TrainOptions>>& TrainBindings() {
  static const auto* const bindings = new std::vector<rpc::OptionBinding<TrainOptions>>{
      Bind<TrainOptions>(
          "model", [](auto& o) -> auto& { return o.model; }),
      Bind<TrainOptions>(
          "batch", [](auto& o) -> auto& { return o.batch_size; }),
      Bind<TrainOptions>(
          "iterations", [](auto& o) -> auto& { return o.iterations; }),
      Bind<TrainOptions>(
          "lr", [](auto& o) -> auto& { return o.learning_rate; }),
      Bind<TrainOptions>(
          "loss", [](auto& o) -> auto& { return o.loss; }),
      Bind<TrainOptions>(
          "precision", [](auto& o) -> auto& { return o.precision; }),
      Bind<TrainOptions>(
          "save_every", [](auto& o) -> auto& { return o.save_every; }),
      Bind<TrainOptions>(
          "seed", [](auto& o) -> auto& { return o.seed; }),
      Bind<TrainOptions>(
          "learn_mask", [](auto& o) -> auto& { return o.learn_mask; }),
      Bind<TrainOptions>(
          "gan_weight", [](auto& o) -> auto& { return o.gan_weight; }),
      Bind<TrainOptions>(
          "epsilon", [](auto& o) -> auto& { return o.epsilon; }),
  };
  return *bindings;
}

}  // namespace

void AddTrainSpecFlags(util::FlagSet* flags, TrainOptions* options) {
  rpc::AddBoundFlags<proto::TrainOptions>(TrainBindings(), flags, options);
}

void ApplyTrainSpec(const proto::TrainOptions& spec, TrainOptions* options) {
  rpc::ApplyBound(TrainBindings(), spec, options);
}

proto::TrainOptions TrainSpecOf(const TrainOptions& options) {
  return rpc::BoundSpecOf<proto::TrainOptions>(TrainBindings(), options);
}

}  // namespace fsc::train
