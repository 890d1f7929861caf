// Tests for the reconstruction losses: known values of mae/mse, SSIM against a direct
// double-precision evaluation of its formula, MS-SSIM's scales and refusals, weight maps, the
// loss-spec parser, float32 under autocast, and the landmark weight map.
#include "core/train/loss.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/face/alignment.h"
#include "core/train/loss_weight_map.h"
#include "core/train/ssim.h"

namespace fsc::train {
namespace {

double Value(const torch::Tensor& t) { return t.item<double>(); }

// Turns CPU autocast on (bf16) for the scope, the way at::autocast::set_cpu_enabled does, in a
// form that LibTorch 1.13 and 2.x share.
class CpuAutocastScope {
 public:
  CpuAutocastScope() {
    c10::impl::tls_set_dispatch_key_excluded(c10::DispatchKey::AutocastCPU, false);
  }
  ~CpuAutocastScope() {
    c10::impl::tls_set_dispatch_key_excluded(c10::DispatchKey::AutocastCPU, true);
  }
};

// SSIM of one channel straight from its definition, in double: for every window position the
// Gaussian-weighted means, variances and covariance, then the mean of the per-window index.
double ReferenceSsim(const torch::Tensor& x_in, const torch::Tensor& y_in) {
  const torch::Tensor x = x_in.to(torch::kDouble);
  const torch::Tensor y = y_in.to(torch::kDouble);
  const int64_t h = x.size(0), w = x.size(1), k = 11;
  std::vector<double> g(k);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    g[i] = std::exp(-(i - 5.0) * (i - 5.0) / (2 * 1.5 * 1.5));
    sum += g[i];
  }
  for (double& v : g) v /= sum;
  const auto xa = x.accessor<double, 2>();
  const auto ya = y.accessor<double, 2>();
  const double c1 = 0.0001, c2 = 0.0009;
  double total = 0;
  int64_t count = 0;
  for (int64_t r = 0; r + k <= h; ++r) {
    for (int64_t c = 0; c + k <= w; ++c) {
      double mx = 0, my = 0;
      for (int64_t i = 0; i < k; ++i) {
        for (int64_t j = 0; j < k; ++j) {
          mx += g[i] * g[j] * xa[r + i][c + j];
          my += g[i] * g[j] * ya[r + i][c + j];
        }
      }
      double vx = 0, vy = 0, cov = 0;
      for (int64_t i = 0; i < k; ++i) {
        for (int64_t j = 0; j < k; ++j) {
          const double dx = xa[r + i][c + j] - mx, dy = ya[r + i][c + j] - my;
          vx += g[i] * g[j] * dx * dx;
          vy += g[i] * g[j] * dy * dy;
          cov += g[i] * g[j] * dx * dy;
        }
      }
      total += (2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      ++count;
    }
  }
  return total / count;
}

TEST(PixelLossTest, ConstantImages) {
  const torch::Tensor a = torch::full({2, 3, 8, 8}, 0.2f);
  const torch::Tensor b = torch::full({2, 3, 8, 8}, 0.7f);
  EXPECT_NEAR(Value(MaeLoss(a, b)), 0.5, 1e-6);
  EXPECT_NEAR(Value(MseLoss(a, b)), 0.25, 1e-6);
  EXPECT_EQ(Value(MaeLoss(a, a)), 0.0);
  EXPECT_EQ(Value(MseLoss(b, b)), 0.0);
}

TEST(PixelLossTest, WeightMapScalesWhereItIsLarge) {
  // The images differ by 0.5 only in the top half.
  torch::Tensor pred = torch::zeros({1, 3, 8, 8});
  pred.narrow(2, 0, 4).fill_(0.5);
  const torch::Tensor target = torch::zeros({1, 3, 8, 8});
  const double plain = Value(MaeLoss(pred, target));
  EXPECT_NEAR(plain, 0.25, 1e-6);

  torch::Tensor weight = torch::ones({1, 1, 8, 8});
  weight.narrow(2, 0, 4).fill_(3.0);  // ×3 where the error is
  EXPECT_NEAR(Value(MaeLoss(pred, target, weight)), 3 * plain, 1e-6);
  EXPECT_NEAR(Value(MseLoss(pred, target, weight)), 3 * Value(MseLoss(pred, target)), 1e-6);

  weight.fill_(1.0);
  weight.narrow(2, 4, 4).fill_(5.0);  // large only where there is no error: no change
  EXPECT_NEAR(Value(MaeLoss(pred, target, weight)), plain, 1e-6);

  weight.narrow(2, 0, 4).fill_(0.0);  // masked out where the error is
  EXPECT_EQ(Value(MaeLoss(pred, target, weight)), 0.0);
}

TEST(SsimTest, IdenticalImagesAreOne) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({2, 3, 32, 32});
  EXPECT_NEAR(Value(Ssim(x, x)), 1.0, 1e-5);
  EXPECT_NEAR(Value(SsimLoss(x, x)), 0.0, 1e-5);
  EXPECT_NEAR(Value(MsSsimLoss(x, x)), 0.0, 1e-5);
}

TEST(SsimTest, NegativeImageIsFarApart) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::rand({1, 3, 32, 32});
  // The inverted image: structure anti-correlated, so SSIM goes negative.
  EXPECT_LT(Value(Ssim(x, 1 - x)), 0.0);
  EXPECT_GT(Value(SsimLoss(x, 1 - x)), 1.0);
  // A small perturbation stays close.
  EXPECT_GT(Value(Ssim(x, (x + 0.02 * torch::randn_like(x)).clamp(0, 1))), 0.9);
}

TEST(SsimTest, MatchesDirectFormula) {
  torch::manual_seed(3);
  // Smooth plus noisy content on a tiny image (3 x 2 window positions).
  const torch::Tensor x = torch::rand({1, 1, 13, 12});
  const torch::Tensor y = (0.6 * x + 0.4 * torch::rand({1, 1, 13, 12})).clamp(0, 1);
  const SsimMaps maps = ComputeSsimMaps(x, y);
  EXPECT_EQ(maps.ssim.sizes(), (std::vector<int64_t>{1, 1, 3, 2}));
  const double reference = ReferenceSsim(x[0][0], y[0][0]);
  EXPECT_NEAR(Value(Ssim(x, y)), reference, 1e-5);
  EXPECT_NEAR(Value(SsimLoss(x, y)), 1 - reference, 1e-5);
  // Channels are independent: a 3-channel stack averages the per-channel values.
  const torch::Tensor z = torch::rand({1, 1, 13, 12});
  const double ref_z = ReferenceSsim(x[0][0], z[0][0]);
  EXPECT_NEAR(Value(Ssim(torch::cat({x, x, x}, 1), torch::cat({y, z, x}, 1))),
              (reference + ref_z + 1.0) / 3, 1e-5);
}

TEST(SsimTest, WeightMapFollowsTheWindows) {
  torch::manual_seed(4);
  const torch::Tensor target = torch::rand({1, 3, 32, 32});
  torch::Tensor pred = target.clone();
  pred.narrow(2, 0, 12).copy_(torch::rand({1, 3, 12, 32}));  // damage the top rows only
  const double plain = Value(SsimLoss(pred, target));
  EXPECT_GT(plain, 0.05);

  // A uniform weight k scales the loss by k.
  EXPECT_NEAR(Value(SsimLoss(pred, target, torch::full({1, 1, 32, 32}, 2.0))), 2 * plain, 1e-5);
  // More weight over the damage raises the loss. More weight where no window sees the damage
  // (the bottom rows) changes nothing: the loss is the mean of weight x error, not a normalised
  // average.
  torch::Tensor top = torch::ones({1, 1, 32, 32});
  top.narrow(2, 0, 12).fill_(3.0);
  EXPECT_GT(Value(SsimLoss(pred, target, top)), 1.5 * plain);
  torch::Tensor bottom = torch::ones({1, 1, 32, 32});
  bottom.narrow(2, 24, 8).fill_(10.0);
  EXPECT_NEAR(Value(SsimLoss(pred, target, bottom)), plain, 1e-5);
  // Masking the damaged rows (and the windows that see them) removes the loss.
  torch::Tensor mask = torch::zeros({1, 1, 32, 32});
  mask.narrow(2, 17, 15).fill_(1.0);
  EXPECT_NEAR(Value(SsimLoss(pred, target, mask)), 0.0, 1e-5);

  // MS-SSIM: uniform weights scale, a zero map gives zero (and finite gradients).
  const double ms = Value(MsSsimLoss(pred, target));
  EXPECT_GT(ms, 0.0);
  EXPECT_NEAR(Value(MsSsimLoss(pred, target, torch::full({1, 1, 32, 32}, 3.0))), 3 * ms, 1e-5);
  torch::Tensor leaf = pred.clone().requires_grad_(true);
  const torch::Tensor zero = MsSsimLoss(leaf, target, torch::zeros({1, 1, 32, 32}));
  EXPECT_EQ(Value(zero), 0.0);
  zero.backward();
  EXPECT_TRUE(torch::isfinite(leaf.grad()).all().item<bool>());
}

TEST(MsSsimTest, ScalesFitTheSize) {
  EXPECT_EQ(MsSsimScales(64, 64), 3);
  EXPECT_EQ(MsSsimScales(128, 128), 4);
  EXPECT_EQ(MsSsimScales(176, 176), 5);
  EXPECT_EQ(MsSsimScales(256, 256), 5);
  EXPECT_EQ(MsSsimScales(22, 40), 2);
  EXPECT_EQ(MsSsimScales(21, 64), 1);
  EXPECT_EQ(MsSsimScales(10, 10), 0);
  EXPECT_THROW(MsSsimLoss(torch::rand({1, 3, 16, 16}), torch::rand({1, 3, 16, 16})), c10::Error);
}

TEST(MsSsimTest, WithTwoScalesIsAWeightedProduct) {
  // 22 px: scale 0 contributes cs^(0.0448/s), scale 1 ssim^(0.2856/s), s = their sum.
  torch::manual_seed(5);
  const torch::Tensor x = torch::rand({1, 1, 22, 22});
  const torch::Tensor y = (0.7 * x + 0.3 * torch::rand({1, 1, 22, 22})).clamp(0, 1);
  const double s = 0.0448 + 0.2856;
  const double cs0 = Value(ComputeSsimMaps(x, y).cs.mean());
  const double ssim1 =
      Value(ComputeSsimMaps(torch::avg_pool2d(x, 2), torch::avg_pool2d(y, 2)).ssim.mean());
  const double expected = 1 - std::pow(cs0, 0.0448 / s) * std::pow(ssim1, 0.2856 / s);
  EXPECT_NEAR(Value(MsSsimLoss(x, y)), expected, 1e-5);
}

TEST(MsSsimTest, GradientsFlow) {
  torch::manual_seed(6);
  const torch::Tensor target = torch::rand({2, 3, 64, 64});
  torch::Tensor pred = torch::rand({2, 3, 64, 64}).requires_grad_(true);
  MsSsimLoss(pred, target).backward();
  ASSERT_TRUE(pred.grad().defined());
  EXPECT_TRUE(torch::isfinite(pred.grad()).all().item<bool>());
  EXPECT_GT(Value(pred.grad().abs().sum()), 0.0);
}

TEST(LossAutocastTest, Float32UnderAutocast) {
  torch::manual_seed(7);
  const torch::Tensor x = torch::rand({2, 3, 32, 32});
  const torch::Tensor y = torch::rand({2, 3, 32, 32});
  const double ssim = Value(SsimLoss(x, y));
  const double ms = Value(MsSsimLoss(x, y));
  const double mae = Value(MaeLoss(x, y));
  CpuAutocastScope autocast;
  // Autocast really is on: a convolution comes out in bf16.
  ASSERT_EQ(torch::conv2d(x, torch::rand({1, 3, 3, 3})).scalar_type(), torch::kBFloat16);
  const torch::Tensor ssim_ac = SsimLoss(x, y);
  EXPECT_EQ(ssim_ac.scalar_type(), torch::kFloat);
  EXPECT_NEAR(Value(ssim_ac), ssim, 1e-6);
  EXPECT_NEAR(Value(MsSsimLoss(x, y)), ms, 1e-6);
  EXPECT_NEAR(Value(MaeLoss(x, y)), mae, 1e-6);
  // bf16 model outputs are accepted and give a float32 loss.
  const torch::Tensor bf = SsimLoss(x.to(torch::kBFloat16), y);
  EXPECT_EQ(bf.scalar_type(), torch::kFloat);
  EXPECT_NEAR(Value(bf), ssim, 1e-2);
}

TEST(ImageLossTest, ParsesSpecs) {
  auto loss = ImageLoss::Parse("ssim:1,mae:0.5");
  ASSERT_TRUE(loss.ok()) << loss.status();
  ASSERT_EQ(loss->terms().size(), 2u);
  EXPECT_EQ(loss->terms()[0].kind, LossKind::kSsim);
  EXPECT_EQ(loss->terms()[0].weight, 1.0);
  EXPECT_EQ(loss->terms()[1].kind, LossKind::kMae);
  EXPECT_EQ(loss->terms()[1].weight, 0.5);
  EXPECT_EQ(loss->ToString(), "ssim:1,mae:0.5");

  auto spaced = ImageLoss::Parse(" mse , ms-ssim : 2.5 ");
  ASSERT_TRUE(spaced.ok()) << spaced.status();
  EXPECT_EQ(spaced->ToString(), "mse:1,ms-ssim:2.5");
  EXPECT_TRUE(ImageLoss::Parse(kDefaultLossSpec).ok());
}

TEST(ImageLossTest, RefusesBadSpecs) {
  for (const char* spec : {"", " ", "ssim:", "ssim:0", "ssim:-1", "ssim:abc", "ssim:inf",
                           "ssim:nan", "ssim,ssim:2", "ssim,", "l1", "ssim:1:2", "ssim;mae"}) {
    auto loss = ImageLoss::Parse(spec);
    ASSERT_FALSE(loss.ok()) << spec;
    EXPECT_EQ(loss.status().code(), absl::StatusCode::kInvalidArgument) << spec;
  }
  auto unknown = ImageLoss::Parse("ssim,lpips:0.1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("lpips"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("ms-ssim"), std::string::npos);  // lists known ones
}

TEST(ImageLossTest, ComputesTheWeightedSum) {
  torch::manual_seed(8);
  const torch::Tensor x = torch::rand({2, 3, 32, 32});
  const torch::Tensor y = torch::rand({2, 3, 32, 32});
  torch::Tensor weight = torch::rand({2, 1, 32, 32}) * 3;
  auto loss = ImageLoss::Parse("ssim:1,mae:0.5,mse:2");
  ASSERT_TRUE(loss.ok());
  auto value = loss->Compute(x, y, weight);
  ASSERT_TRUE(value.ok()) << value.status();
  const double expected = Value(SsimLoss(x, y, weight)) + 0.5 * Value(MaeLoss(x, y, weight)) +
                          2 * Value(MseLoss(x, y, weight));
  EXPECT_NEAR(Value(*value), expected, 1e-5);
  // One weight map for the whole batch is accepted.
  EXPECT_TRUE(loss->Compute(x, y, weight.narrow(0, 0, 1)).ok());
  auto same = loss->Compute(x, x);
  ASSERT_TRUE(same.ok());
  EXPECT_NEAR(Value(*same), 0.0, 1e-5);
}

TEST(ImageLossTest, RefusesBadInputs) {
  auto loss = ImageLoss::Parse("ms-ssim,mae");
  ASSERT_TRUE(loss.ok());
  const torch::Tensor x = torch::rand({2, 3, 32, 32});
  EXPECT_EQ(loss->Compute(x, torch::rand({2, 3, 32, 31})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loss->Compute(x, x, torch::ones({2, 3, 32, 32})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loss->Compute(x, x, torch::ones({3, 1, 32, 32})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loss->Compute(torch::rand({3, 32, 32}), torch::rand({3, 32, 32})).status().code(),
            absl::StatusCode::kInvalidArgument);
  // ms-ssim refuses images too small for two scales, clearly and before any LibTorch error.
  const absl::Status small = loss->CheckImageSize(16, 16);
  EXPECT_EQ(small.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(small.message().find("ms-ssim"), std::string::npos) << small;
  const torch::Tensor tiny = torch::rand({1, 3, 16, 16});
  EXPECT_EQ(loss->Compute(tiny, tiny).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(loss->CheckImageSize(64, 64).ok());
  EXPECT_FALSE(ImageLoss::Parse("ssim")->CheckImageSize(10, 64).ok());
  EXPECT_TRUE(ImageLoss::Parse("mae")->CheckImageSize(4, 4).ok());
}

// The mean face, 100 px wide, in a 128 px square.
std::vector<cv::Point2f> TestFace() {
  std::vector<cv::Point2f> points;
  for (const cv::Point2f& p : face::MeanFace68()) points.push_back(p * 100.f + cv::Point2f(14, 14));
  return points;
}

cv::Point2f Centre(const std::vector<cv::Point2f>& points, int begin, int end) {
  cv::Point2f sum(0, 0);
  for (int i = begin; i < end; ++i) sum += points[i];
  return sum / static_cast<float>(end - begin);
}

float At(const cv::Mat& map, cv::Point2f p) { return map.at<float>(cvRound(p.y), cvRound(p.x)); }

TEST(LossWeightMapTest, EyesAndMouthAreEmphasised) {
  const std::vector<cv::Point2f> face = TestFace();
  auto map = BuildLossWeightMap(face, cv::Size(128, 128), cv::Mat());
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->type(), CV_32FC1);
  EXPECT_NEAR(At(*map, Centre(face, 36, 42)), 3.0f, 0.3f);  // right eye
  EXPECT_NEAR(At(*map, Centre(face, 42, 48)), 3.0f, 0.3f);  // left eye
  EXPECT_NEAR(At(*map, Centre(face, 48, 60)), 2.0f, 0.1f);  // mouth
  EXPECT_EQ(map->at<float>(2, 2), 1.0f);                    // a corner
  EXPECT_EQ(At(*map, face[30]), 1.0f);                      // the nose tip
  double lo, hi;
  cv::minMaxLoc(*map, &lo, &hi);
  EXPECT_EQ(lo, 1.0);
  EXPECT_LE(hi, 3.0 + 1e-5);

  LossWeightOptions flat;
  flat.eye_multiplier = 1;
  flat.mouth_multiplier = 1;
  auto ones = BuildLossWeightMap(face, cv::Size(128, 128), cv::Mat(), flat);
  ASSERT_TRUE(ones.ok());
  EXPECT_EQ(cv::countNonZero(*ones != 1.0f), 0);
}

TEST(LossWeightMapTest, MaskMultiplies) {
  const std::vector<cv::Point2f> face = TestFace();
  cv::Mat mask(128, 128, CV_8UC1, cv::Scalar(255));
  mask.colRange(0, 64).setTo(0);  // the image's left half is background
  auto map = BuildLossWeightMap(face, cv::Size(128, 128), mask);
  ASSERT_TRUE(map.ok()) << map.status();
  // The right eye (iBUG 36-41) is on the image's left.
  EXPECT_EQ(At(*map, Centre(face, 36, 42)), 0.0f);
  EXPECT_NEAR(At(*map, Centre(face, 42, 48)), 3.0f, 0.3f);
  EXPECT_EQ(map->at<float>(2, 120), 1.0f);

  // Without landmarks it is the mask alone, float masks as they are.
  cv::Mat soft(128, 128, CV_32FC1, cv::Scalar(0.25));
  auto plain = BuildLossWeightMap({}, cv::Size(128, 128), soft);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(cv::countNonZero(*plain != 0.25f), 0);
}

TEST(LossWeightMapTest, RefusesBadInput) {
  std::vector<cv::Point2f> face = TestFace();
  const cv::Size size(128, 128);
  std::vector<cv::Point2f> short_face(face.begin(), face.begin() + 67);
  EXPECT_EQ(BuildLossWeightMap(short_face, size, cv::Mat()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(BuildLossWeightMap(face, size, cv::Mat(64, 64, CV_8UC1)).ok());
  EXPECT_FALSE(BuildLossWeightMap(face, size, cv::Mat(128, 128, CV_8UC3)).ok());
  LossWeightOptions negative;
  negative.eye_multiplier = -1;
  EXPECT_FALSE(BuildLossWeightMap(face, size, cv::Mat(), negative).ok());
  face[10].x = std::nanf("");
  EXPECT_FALSE(BuildLossWeightMap(face, size, cv::Mat()).ok());
}

}  // namespace
}  // namespace fsc::train
