// Tests for the face-swap models, the patch discriminator and the adversarial losses: registry,
// exact parameter counts, output shapes with and without a learned mask, seeded initialisation,
// stable parameter names and save/load, gradients reaching every parameter, channels-last.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <sstream>
#include <string>

#include "core/model/adversarial_loss.h"
#include "core/model/device.h"
#include "core/model/discriminator.h"
#include "core/model/face_swap_model.h"
#include "core/model/model_registry.h"

namespace fsc::model {
namespace {

// Parameter counts by hand (weights + biases; k x k convs have k²·in·out + out).
//
// original, encoder:
//   conv 5x5   3->128     25·3·128 + 128          =      9,728
//   conv 5x5 128->256     25·128·256 + 256        =    819,456
//   conv 5x5 256->512     25·256·512 + 512        =  3,277,312
//   conv 5x5 512->1024    25·512·1024 + 1024      = 13,108,224
//   dense 4·4·1024->1024  16384·1024 + 1024       = 16,778,240
//   dense 1024->4·4·1024  1024·16384 + 16384      = 16,793,600
//   upscale 512: conv 3x3 1024->2048  9·1024·2048 + 2048 = 18,876,416
//                                                   ----------
//                                                   69,662,976
// original, each decoder:
//   upscale 256: conv 3x3 512->1024   9·512·1024 + 1024  =  4,719,616
//   upscale 128: conv 3x3 256->512    9·256·512 + 512    =  1,180,160
//   upscale 64:  conv 3x3 128->256    9·128·256 + 256    =    295,168
//   conv 5x5 64->3                    25·64·3 + 3        =      4,803
//                                                          ---------
//                                                          6,199,747
//   mask branch: the same upscales + conv 5x5 64->1 (1,601) = 6,196,545
// original total: 69,662,976 + 2 · 6,199,747 = 82,062,470 (with mask + 2 · 6,196,545 =
// 94,455,560).
constexpr int64_t kOriginalEncoder = 69662976;
constexpr int64_t kOriginalDecoder = 6199747;
constexpr int64_t kOriginalMaskBranch = 6196545;
constexpr int64_t kOriginalTotal = 82062470;
//
// lightweight, encoder:
//   conv 5x5 3->128, 128->256, 256->512     9,728 + 819,456 + 3,277,312 =  4,106,496
//   dense 8·8·512->512   32768·512 + 512                               = 16,777,728
//   dense 512->4·4·512   512·8192 + 8192                               =  4,202,496
//   upscale 256: conv 3x3 512->1024  9·512·1024 + 1024                 =  4,719,616
//                                                                        ----------
//                                                                        29,806,336
// lightweight, each decoder:
//   upscale 512: conv 3x3 256->2048  9·256·2048 + 2048 =  4,720,640
//   upscale 256: conv 3x3 512->1024                    =  4,719,616
//   upscale 128: conv 3x3 256->512                     =  1,180,160
//   conv 5x5 128->3  25·128·3 + 3                      =      9,603
//                                                        ----------
//                                                        10,630,019
// lightweight total: 29,806,336 + 2 · 10,630,019 = 51,066,374.
constexpr int64_t kLightweightEncoder = 29806336;
constexpr int64_t kLightweightDecoder = 10630019;
constexpr int64_t kLightweightTotal = 51066374;
//
// dfl-h128: encoder convs as original's (17,214,720) + dense 8·8·1024->512 (33,554,944) + dense
// 512->8·8·512 (16,809,984) + upscale 512 on 512 channels (9,439,232) = 77,018,880; decoder
// upscales 512 (9,439,232), 256 (4,719,616), 128 (1,180,160) + conv 5x5 128->3 (9,603) =
// 15,348,611; total 107,716,102.
constexpr int64_t kDflH128Total = 107716102;

int64_t Count(const std::vector<torch::Tensor>& params) {
  int64_t n = 0;
  for (const torch::Tensor& p : params) n += p.numel();
  return n;
}

// A 16 px model with the same structure, for tests that need many forward/backward passes.
Architecture TinyArchitecture() {
  Architecture a;
  a.name = "tiny";
  a.input_size = 16;
  a.encoder_filters = {8, 16};
  a.dense_dim = 32;
  a.latent_size = 2;
  a.latent_channels = 16;
  a.encoder_upscale = 8;
  a.decoder_filters = {8, 4};
  return a;
}

ModelOptions Options(bool learn_mask, uint64_t seed = 0, bool icnr_init = true) {
  ModelOptions options;
  options.learn_mask = learn_mask;
  options.seed = seed;
  options.icnr_init = icnr_init;
  return options;
}

DiscriminatorOptions DOptions(int64_t size, int64_t filters = 64, uint64_t seed = 0,
                              int64_t in_channels = 3) {
  DiscriminatorOptions options;
  options.input_size = size;
  options.base_filters = filters;
  options.seed = seed;
  options.in_channels = in_channels;
  return options;
}

std::shared_ptr<FaceSwapModel> MustCreate(const std::string& name, const ModelOptions& options) {
  auto model = CreateModel(name, options);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

void ExpectSameParameters(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pa = a.named_parameters();
  const auto pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    const torch::Tensor* other = pb.find(item.key());
    ASSERT_NE(other, nullptr) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), *other)) << item.key();
  }
}

TEST(DeviceTest, SpellingsOfTrainingAndInference) {
  absl::StatusOr<torch::Device> cpu = ResolveDevice("cpu");
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  EXPECT_TRUE(cpu->is_cpu());
  absl::StatusOr<torch::Device> automatic = ResolveDevice("auto");
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  EXPECT_EQ(automatic->is_cuda(), torch::cuda::is_available());
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(ResolveDevice("cuda:0").status().code(), absl::StatusCode::kFailedPrecondition);
  }
  // Neither a device LibTorch knows (nonsense) nor one it knows but fsc does not use (meta).
  for (const char* name : {"nonsense", "meta"}) {
    absl::Status status = ResolveDevice(name).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(status.message().find("use auto, cpu, cuda or cuda:N"), std::string::npos) << status;
  }
}

TEST(ModelRegistryTest, ListsTheModels) {
  EXPECT_EQ(ModelNames(), (std::vector<std::string>{"original", "lightweight", "dfl-h128"}));
}

TEST(ModelRegistryTest, UnknownNameListsKnownOnes) {
  auto model = CreateModel("villain", {});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& name : ModelNames()) {
    EXPECT_NE(model.status().message().find(name), std::string::npos) << model.status();
  }
}

TEST(FaceSwapModelTest, OriginalParameterCountsAndShapes) {
  auto model = MustCreate("original", {});
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->input_size(), 64);
  EXPECT_EQ(Count(model->EncoderParameters()), kOriginalEncoder);
  EXPECT_EQ(Count(model->DecoderParameters(Side::kA)), kOriginalDecoder);
  EXPECT_EQ(Count(model->DecoderParameters(Side::kB)), kOriginalDecoder);
  EXPECT_EQ(model->ParameterCount(), kOriginalTotal);

  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({1, 3, 64, 64});
  const torch::Tensor latent = model->Encode(x);
  EXPECT_EQ(latent.sizes(), (std::vector<int64_t>{1, 512, 8, 8}));
  for (Side side : {Side::kA, Side::kB}) {
    const DecoderOutput out = model->Decode(latent, side);
    EXPECT_EQ(out.face.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
    EXPECT_FALSE(out.mask.defined());
    EXPECT_GT(out.face.min().item<float>(), 0.f);
    EXPECT_LT(out.face.max().item<float>(), 1.f);
  }
}

TEST(FaceSwapModelTest, OriginalWithMask) {
  ModelOptions options;
  options.learn_mask = true;
  auto model = MustCreate("original", options);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(Count(model->DecoderParameters(Side::kA)), kOriginalDecoder + kOriginalMaskBranch);
  EXPECT_EQ(model->ParameterCount(), kOriginalTotal + 2 * kOriginalMaskBranch);

  torch::NoGradGuard no_grad;
  const DecoderOutput out = model->Forward(torch::rand({1, 3, 64, 64}), Side::kB);
  EXPECT_EQ(out.face.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
  ASSERT_TRUE(out.mask.defined());
  EXPECT_EQ(out.mask.sizes(), (std::vector<int64_t>{1, 1, 64, 64}));
}

TEST(FaceSwapModelTest, LightweightParameterCountsAndShapes) {
  ModelOptions options;
  options.learn_mask = true;
  auto model = MustCreate("lightweight", {});
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(Count(model->EncoderParameters()), kLightweightEncoder);
  EXPECT_EQ(Count(model->DecoderParameters(Side::kA)), kLightweightDecoder);
  EXPECT_EQ(model->ParameterCount(), kLightweightTotal);

  auto masked = MustCreate("lightweight", options);
  ASSERT_NE(masked, nullptr);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({2, 3, 64, 64});
  EXPECT_EQ(model->Encode(x).sizes(), (std::vector<int64_t>{2, 256, 8, 8}));
  const DecoderOutput out = masked->Forward(x, Side::kA);
  EXPECT_EQ(out.face.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  ASSERT_TRUE(out.mask.defined());
  EXPECT_EQ(out.mask.sizes(), (std::vector<int64_t>{2, 1, 64, 64}));
}

TEST(FaceSwapModelTest, DflH128CountAndShapes) {
  ModelOptions options;
  options.learn_mask = true;
  auto model = MustCreate("dfl-h128", {});
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->input_size(), 128);
  EXPECT_EQ(model->ParameterCount(), kDflH128Total);
  torch::NoGradGuard no_grad;
  const torch::Tensor latent = model->Encode(torch::rand({1, 3, 128, 128}));
  EXPECT_EQ(latent.sizes(), (std::vector<int64_t>{1, 512, 16, 16}));
  const DecoderOutput out = model->Decode(latent, Side::kA);
  EXPECT_EQ(out.face.sizes(), (std::vector<int64_t>{1, 3, 128, 128}));
  EXPECT_FALSE(out.mask.defined());
}

TEST(FaceSwapModelTest, ParameterGroupsCoverTheModel) {
  FaceSwapModel model(TinyArchitecture(), Options(true));
  EXPECT_EQ(Count(model.EncoderParameters()) + Count(model.DecoderParameters(Side::kA)) +
                Count(model.DecoderParameters(Side::kB)),
            model.ParameterCount());
  // The groups are the model's own tensors (an optimiser over them trains the model).
  EXPECT_TRUE(
      model.EncoderParameters()[0].is_same(model.named_parameters()["encoder.down0.conv.weight"]));
}

TEST(FaceSwapModelTest, StableParameterNames) {
  FaceSwapModel model(TinyArchitecture(), Options(true));
  std::set<std::string> names;
  for (const auto& item : model.named_parameters()) names.insert(item.key());
  for (const char* name :
       {"encoder.down0.conv.weight", "encoder.down1.conv.bias", "encoder.dense0.weight",
        "encoder.dense1.bias", "encoder.upscale.conv.weight", "decoder_a.face_up0.conv.weight",
        "decoder_a.face_up1.conv.weight", "decoder_a.face_out.conv.weight",
        "decoder_a.mask_up0.conv.weight", "decoder_a.mask_out.conv.bias",
        "decoder_b.face_out.conv.weight", "decoder_b.mask_up1.conv.weight"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  // 2 downs + 2 dense + 1 upscale = 5 layers; each decoder 2 + 1 per branch, 2 branches.
  EXPECT_EQ(names.size(), 2u * (5 + 2 * 2 * 3));
}

TEST(FaceSwapModelTest, SameSeedSameWeights) {
  ModelOptions options;
  options.seed = 42;
  options.learn_mask = true;
  FaceSwapModel a(TinyArchitecture(), options);
  FaceSwapModel b(TinyArchitecture(), options);
  ExpectSameParameters(a, b);

  // The global RNG plays no part.
  torch::manual_seed(7);
  FaceSwapModel c(TinyArchitecture(), options);
  ExpectSameParameters(a, c);

  options.seed = 43;
  FaceSwapModel d(TinyArchitecture(), options);
  EXPECT_FALSE(torch::equal(a.named_parameters()["encoder.dense0.weight"],
                            d.named_parameters()["encoder.dense0.weight"]));
  // The two decoders start different (each draws from the generator in turn).
  EXPECT_FALSE(torch::equal(a.named_parameters()["decoder_a.face_out.conv.weight"],
                            a.named_parameters()["decoder_b.face_out.conv.weight"]));
}

TEST(FaceSwapModelTest, InitialisationFollowsFaceswap) {
  FaceSwapModel model(TinyArchitecture(), {});
  auto params = model.named_parameters();
  // He uniform: |w| <= sqrt(6 / fan_in); conv 5x5 from 3 channels: fan_in 75.
  const torch::Tensor conv = params["encoder.down0.conv.weight"];
  EXPECT_LE(conv.abs().max().item<double>(), std::sqrt(6.0 / 75) + 1e-6);
  EXPECT_GT(conv.abs().max().item<double>(), 0.8 * std::sqrt(6.0 / 75));
  // Glorot uniform for dense layers: 4·4·16 = 256 in, 32 out.
  const torch::Tensor dense = params["encoder.dense0.weight"];
  EXPECT_LE(dense.abs().max().item<double>(), std::sqrt(6.0 / (256 + 32)) + 1e-6);
  EXPECT_EQ(params["encoder.dense0.bias"].abs().max().item<double>(), 0.0);
  EXPECT_EQ(params["decoder_a.face_out.conv.bias"].abs().max().item<double>(), 0.0);
  // ICNR: the four sub-pixel outputs of each upscaled channel start with the same kernel.
  const torch::Tensor up = params["decoder_a.face_up0.conv.weight"];  // 32 x 8 x 3 x 3
  ASSERT_EQ(up.size(0), 32);
  for (int64_t c = 0; c < 8; ++c) {
    for (int64_t k = 1; k < 4; ++k) {
      EXPECT_TRUE(torch::equal(up[4 * c], up[4 * c + k])) << c << " " << k;
    }
  }
  EXPECT_FALSE(torch::equal(up[0], up[4]));
  // Without ICNR every output channel has its own kernel.
  FaceSwapModel plain(TinyArchitecture(), Options(false, 0, false));
  EXPECT_FALSE(torch::equal(plain.named_parameters()["decoder_a.face_up0.conv.weight"][0],
                            plain.named_parameters()["decoder_a.face_up0.conv.weight"][1]));
}

TEST(FaceSwapModelTest, GradientReachesEveryParameter) {
  FaceSwapModel model(TinyArchitecture(), Options(true, 3));
  const torch::Tensor a = torch::rand({2, 3, 16, 16});
  const torch::Tensor b = torch::rand({2, 3, 16, 16});
  const DecoderOutput out_a = model.Forward(a, Side::kA);
  const DecoderOutput out_b = model.Forward(b, Side::kB);
  const torch::Tensor loss = (out_a.face - a).abs().mean() + (out_b.face - b).abs().mean() +
                             out_a.mask.mean() + out_b.mask.mean();
  loss.backward();
  for (const auto& item : model.named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST(FaceSwapModelTest, LightweightGradientReachesEveryParameter) {
  ModelOptions options;
  options.learn_mask = true;
  auto model = MustCreate("lightweight", options);
  ASSERT_NE(model, nullptr);
  const torch::Tensor x = torch::rand({1, 3, 64, 64});
  const DecoderOutput a = model->Forward(x, Side::kA);
  const DecoderOutput b = model->Forward(x, Side::kB);
  (a.face.mean() + a.mask.mean() + b.face.mean() + b.mask.mean()).backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST(FaceSwapModelTest, SaveLoadRoundTrip) {
  auto saved = std::make_shared<FaceSwapModel>(TinyArchitecture(), Options(false, 1));
  std::stringstream stream;
  torch::save(saved, stream);
  auto loaded = std::make_shared<FaceSwapModel>(TinyArchitecture(), Options(false, 2));
  torch::load(loaded, stream);
  ExpectSameParameters(*saved, *loaded);
}

TEST(FaceSwapModelTest, ChannelsLastGivesTheSameResult) {
  FaceSwapModel model(TinyArchitecture(), Options(true, 5));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({2, 3, 16, 16});
  const DecoderOutput reference = model.Forward(x, Side::kA);
  ToChannelsLast(model);
  const torch::Tensor conv = model.named_parameters()["encoder.down0.conv.weight"];
  EXPECT_TRUE(conv.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const DecoderOutput out =
      model.Forward(x.contiguous(torch::MemoryFormat::ChannelsLast), Side::kA);
  EXPECT_TRUE(torch::allclose(out.face, reference.face, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(out.mask, reference.mask, 1e-4, 1e-5));
}

TEST(FaceSwapModelTest, InconsistentArchitectureIsRefused) {
  Architecture bad = TinyArchitecture();
  bad.decoder_filters = {8};  // decodes 8 px faces for 16 px input
  EXPECT_THROW(FaceSwapModel(bad, {}), c10::Error);
}

TEST(PatchDiscriminatorTest, PatchGridShapes) {
  for (int64_t size : {64, 128}) {
    auto d = CreatePatchDiscriminator(DOptions(size));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ((*d)->patch_grid_size(), 8);
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = (*d)->forward(torch::rand({2, 3, size, size}));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 1, 8, 8})) << size;
  }
  auto small = CreatePatchDiscriminator(DOptions(32, 8));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->forward(torch::rand({1, 3, 32, 32})).sizes(),
            (std::vector<int64_t>{1, 1, 4, 4}));
}

TEST(PatchDiscriminatorTest, RefusesBadOptions) {
  for (DiscriminatorOptions o : {DOptions(60), DOptions(8), DOptions(64, 64, 0, 0)}) {
    auto d = CreatePatchDiscriminator(o);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << d.status();
  }
}

TEST(PatchDiscriminatorTest, SeededAndTrainable) {
  auto a = CreatePatchDiscriminator(DOptions(64, 8, 9));
  auto b = CreatePatchDiscriminator(DOptions(64, 8, 9));
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameParameters(**a, **b);

  const torch::Tensor real = (*a)->forward(torch::rand({2, 3, 64, 64}));
  const torch::Tensor fake = (*a)->forward(torch::rand({2, 3, 64, 64}));
  DiscriminatorLoss(real, fake, AdversarialLoss::kLsgan).backward();
  for (const auto& item : (*a)->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST(AdversarialLossTest, KnownValues) {
  const torch::Tensor ones = torch::ones({2, 1, 8, 8});
  const torch::Tensor zeros = torch::zeros({2, 1, 8, 8});
  // LSGAN: a perfect discriminator has no loss; the generator's loss is (0 - 1)² = 1.
  EXPECT_DOUBLE_EQ(DiscriminatorLoss(ones, zeros, AdversarialLoss::kLsgan).item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(GeneratorAdversarialLoss(zeros, AdversarialLoss::kLsgan).item<double>(), 1.0);
  EXPECT_NEAR(DiscriminatorLoss(zeros, ones, AdversarialLoss::kLsgan).item<double>(), 1.0, 1e-7);
  // BCE on logits: logit 0 is probability 1/2 whichever the label, ln 2.
  EXPECT_NEAR(DiscriminatorLoss(zeros, zeros, AdversarialLoss::kBce).item<double>(), std::log(2.0),
              1e-6);
  EXPECT_NEAR(GeneratorAdversarialLoss(zeros, AdversarialLoss::kBce).item<double>(), std::log(2.0),
              1e-6);
  // A confident right answer costs little, a confident wrong one a lot.
  EXPECT_LT(GeneratorAdversarialLoss(ones * 10, AdversarialLoss::kBce).item<double>(), 1e-4);
  EXPECT_NEAR(GeneratorAdversarialLoss(ones * -10, AdversarialLoss::kBce).item<double>(), 10.0,
              1e-3);
  // bf16 logits still give a float32 loss.
  EXPECT_EQ(GeneratorAdversarialLoss(zeros.to(torch::kBFloat16), AdversarialLoss::kLsgan).dtype(),
            torch::kFloat);
}

TEST(AdversarialLossTest, ParsesNames) {
  EXPECT_EQ(*ParseAdversarialLoss("lsgan"), AdversarialLoss::kLsgan);
  EXPECT_EQ(*ParseAdversarialLoss("bce"), AdversarialLoss::kBce);
  EXPECT_EQ(ParseAdversarialLoss("wgan").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AdversarialLossName(AdversarialLoss::kBce), "bce");
}

}  // namespace
}  // namespace fsc::model
