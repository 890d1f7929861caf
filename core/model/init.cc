// Seeded weight initialisers (He / Glorot uniform, ICNR, normal) for fsc's models.
#include "core/model/init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

namespace fsc::model {
namespace {

// fan_in / fan_out of a linear (O x I) or conv (O x I x kh x kw) weight, as Keras counts them.
int64_t FanIn(const torch::Tensor& w) { return w.numel() / w.size(0); }
int64_t FanOut(const torch::Tensor& w) { return w.numel() / w.size(1); }

// Draws U(-limit, limit) on the CPU (where the generator lives) and copies into `weight`, which
// may be on any device or in any memory format.
void FillUniform(torch::Tensor& weight, double limit, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  torch::Tensor values = torch::empty(weight.sizes(), torch::kFloat);
  values.uniform_(-limit, limit, gen);
  weight.copy_(values);
}

}  // namespace

at::Generator MakeInitGenerator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

void HeUniform(torch::Tensor& weight, at::Generator& gen) {
  FillUniform(weight, std::sqrt(6.0 / static_cast<double>(FanIn(weight))), gen);
}

void GlorotUniform(torch::Tensor& weight, at::Generator& gen) {
  const double fans = static_cast<double>(FanIn(weight) + FanOut(weight));
  FillUniform(weight, std::sqrt(6.0 / fans), gen);
}

void IcnrHeUniform(torch::Tensor& weight, int64_t scale, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  const int64_t sub = scale * scale;
  TORCH_CHECK(weight.dim() == 4 && weight.size(0) % sub == 0,
              "ICNR needs a conv weight whose output channels divide by scale^2");
  std::vector<int64_t> shape = weight.sizes().vec();
  shape[0] /= sub;
  torch::Tensor kernel = torch::empty(shape, torch::kFloat);
  // The fan-in of the sub-kernel is the conv's own, so the He limit is the same as for the conv.
  kernel.uniform_(-std::sqrt(6.0 / static_cast<double>(FanIn(weight))),
                  std::sqrt(6.0 / static_cast<double>(FanIn(weight))), gen);
  weight.copy_(kernel.repeat_interleave(sub, 0));
}

void Normal(torch::Tensor& weight, double mean, double std, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  torch::Tensor values = torch::empty(weight.sizes(), torch::kFloat);
  values.normal_(mean, std, gen);
  weight.copy_(values);
}

}  // namespace fsc::model
