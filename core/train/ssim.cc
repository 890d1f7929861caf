// SSIM / MS-SSIM losses with a separable Gaussian window, in float32 outside autocast.
#include "core/train/ssim.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace fsc::train {
namespace {

constexpr double kC1 = 0.01 * 0.01;
constexpr double kC2 = 0.03 * 0.03;
constexpr int64_t kHalfWindow = kSsimWindow / 2;
constexpr double kMsSsimPowers[kMsSsimMaxScales] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
// Floor for MS-SSIM's factors before the fractional powers: d(x^p)/dx is unbounded at 0.
constexpr double kMsSsimFloor = 1e-6;

// Autocast would run the window convolutions in bf16/fp16, where E[x²] - E[x]² loses most of
// its digits. Excluding the autocast keys is what autocast itself does inside its kernels, and
// unlike the enable/disable calls it is spelled the same in LibTorch 1.13 and 2.x.
class NoAutocast {
 public:
  NoAutocast() : guard_(c10::autocast_dispatch_keyset) {}

 private:
  c10::impl::ExcludeDispatchKeyGuard guard_;
};

torch::Tensor ToFloat(const torch::Tensor& t) { return t.to(torch::kFloat); }

// The normalised 1-D Gaussian, as a depthwise kernel along `dim` (2: rows, 3: columns) for
// `channels` channels.
torch::Tensor GaussianKernel(int64_t channels, int dim, const torch::Device& device) {
  std::vector<float> taps(kSsimWindow);
  double sum = 0;
  for (int64_t i = 0; i < kSsimWindow; ++i) {
    const double d = static_cast<double>(i - kHalfWindow);
    taps[i] = static_cast<float>(std::exp(-d * d / (2 * kSsimSigma * kSsimSigma)));
    sum += taps[i];
  }
  for (float& t : taps) t = static_cast<float>(t / sum);
  torch::Tensor g = torch::tensor(taps, torch::kFloat).to(device);
  g = dim == 2 ? g.view({1, 1, kSsimWindow, 1}) : g.view({1, 1, 1, kSsimWindow});
  return g.repeat({channels, 1, 1, 1});
}

// The weight map lined up with an SSIM map: the weight of each window's centre pixel.
torch::Tensor CropToMap(const torch::Tensor& weight, const torch::Tensor& map) {
  return weight.narrow(2, kHalfWindow, map.size(2)).narrow(3, kHalfWindow, map.size(3));
}

// Per image and channel (N x C): the mean of `map`, weighted by `weight` (N x 1 x h x w, already
// lined up) when defined.
torch::Tensor SpatialMean(const torch::Tensor& map, const torch::Tensor& weight) {
  if (!weight.defined()) return map.mean({2, 3});
  const torch::Tensor total = weight.sum({2, 3}).clamp_min(1e-12);
  return (map * weight).sum({2, 3}) / total;
}

}  // namespace

SsimMaps ComputeSsimMaps(const torch::Tensor& x_in, const torch::Tensor& y_in) {
  NoAutocast no_autocast;
  const torch::Tensor x = ToFloat(x_in);
  const torch::Tensor y = ToFloat(y_in);
  TORCH_CHECK(x.dim() == 4 && x.sizes() == y.sizes(), "SSIM needs two N x C x H x W images of ",
              "the same shape, got ", x.sizes(), " and ", y.sizes());
  TORCH_CHECK(x.size(2) >= kSsimWindow && x.size(3) >= kSsimWindow, "SSIM needs images of at ",
              "least ", kSsimWindow, " x ", kSsimWindow, " px, got ", x.size(2), " x ", x.size(3));
  const int64_t c = x.size(1);
  // The five local statistics in one pass of two depthwise 1-D convolutions.
  const torch::Tensor stacked = torch::cat({x, y, x * x, y * y, x * y}, 1);
  const int64_t groups = 5 * c;
  const auto options = torch::nn::functional::Conv2dFuncOptions().groups(groups);  // "valid"
  torch::Tensor blurred =
      torch::nn::functional::conv2d(stacked, GaussianKernel(groups, 2, x.device()), options);
  blurred = torch::nn::functional::conv2d(blurred, GaussianKernel(groups, 3, x.device()), options);
  const std::vector<torch::Tensor> s = blurred.chunk(5, 1);
  const torch::Tensor& mu_x = s[0];
  const torch::Tensor& mu_y = s[1];
  const torch::Tensor mu_xy = mu_x * mu_y;
  const torch::Tensor mu_xx = mu_x * mu_x;
  const torch::Tensor mu_yy = mu_y * mu_y;
  const torch::Tensor var_sum = (s[2] - mu_xx) + (s[3] - mu_yy);
  const torch::Tensor cov = s[4] - mu_xy;
  SsimMaps maps;
  maps.cs = (2 * cov + kC2) / (var_sum + kC2);
  maps.ssim = (2 * mu_xy + kC1) / (mu_xx + mu_yy + kC1) * maps.cs;
  return maps;
}

torch::Tensor Ssim(const torch::Tensor& x, const torch::Tensor& y) {
  return ComputeSsimMaps(x, y).ssim.mean();
}

torch::Tensor SsimLoss(const torch::Tensor& pred, const torch::Tensor& target,
                       const torch::Tensor& weight) {
  NoAutocast no_autocast;
  const torch::Tensor error = 1 - ComputeSsimMaps(pred, target).ssim;
  if (!weight.defined()) return error.mean();
  return (error * CropToMap(ToFloat(weight), error)).mean();
}

int MsSsimScales(int64_t height, int64_t width) {
  int scales = 0;
  for (int64_t side = std::min(height, width); side >= kSsimWindow && scales < kMsSsimMaxScales;
       side /= 2) {
    ++scales;
  }
  return scales;
}

torch::Tensor MsSsimLoss(const torch::Tensor& pred, const torch::Tensor& target,
                         const torch::Tensor& weight) {
  NoAutocast no_autocast;
  torch::Tensor x = ToFloat(pred);
  torch::Tensor y = ToFloat(target);
  TORCH_CHECK(x.dim() == 4, "MS-SSIM needs N x C x H x W images, got ", x.sizes());
  const int scales = MsSsimScales(x.size(2), x.size(3));
  TORCH_CHECK(scales >= kMsSsimMinScales, "MS-SSIM needs images of at least ", kSsimWindow * 2,
              " x ", kSsimWindow * 2, " px (two scales of the ", kSsimWindow, " px window), got ",
              x.size(2), " x ", x.size(3), "; use ssim instead");
  double power_sum = 0;
  for (int j = 0; j < scales; ++j) power_sum += kMsSsimPowers[j];

  torch::Tensor w = weight.defined() ? ToFloat(weight) : torch::Tensor();
  torch::Tensor result;  // N x C, the product over scales
  for (int j = 0; j < scales; ++j) {
    if (j > 0) {
      x = torch::avg_pool2d(x, 2);
      y = torch::avg_pool2d(y, 2);
      if (w.defined()) w = torch::avg_pool2d(w, 2);
    }
    const SsimMaps maps = ComputeSsimMaps(x, y);
    const torch::Tensor& map = j + 1 == scales ? maps.ssim : maps.cs;
    const torch::Tensor stat =
        SpatialMean(map, w.defined() ? CropToMap(w, map) : torch::Tensor()).clamp_min(kMsSsimFloor);
    const torch::Tensor factor = stat.pow(kMsSsimPowers[j] / power_sum);
    result = result.defined() ? result * factor : factor;
  }
  torch::Tensor error = 1 - result;  // N x C
  if (weight.defined()) error = error * ToFloat(weight).mean({1, 2, 3}).unsqueeze(1);
  return error.mean();
}

}  // namespace fsc::train
