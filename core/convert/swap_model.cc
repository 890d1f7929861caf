// Loading a trained model folder for inference and running the swap (see swap_model.h).
#include "core/convert/swap_model.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <filesystem>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "core/convert/int8_swap_net.h"
#include "core/model/autocast_scope.h"
#include "core/model/device.h"
#include "core/model/face_swap_model.h"
#include "core/train/checkpoint.h"
#include "core/train/train_step.h"
#include "core/util/file_io.h"
#include "core/util/json_fields.h"
#include "core/util/sha256.h"
#include "core/util/status_macros.h"

namespace fsc::convert {
namespace {

namespace fs = std::filesystem;

// Reads the weights file a manifest names and checks its size and SHA-256 against the manifest's
// record before parsing it; the hash runs beside the parse.
absl::StatusOr<std::map<std::string, torch::Tensor>> ReadVerifiedWeights(
    const std::string& weights_path, const std::string& manifest_path, int64_t expected_bytes,
    const std::string& expected_sha256) {
  absl::StatusOr<std::string> bytes = util::ReadFile(weights_path);
  if (!bytes.ok()) {
    return absl::DataLossError(absl::StrCat("weights file ", weights_path, " named in ",
                                            manifest_path,
                                            " cannot be read: ", bytes.status().message()));
  }
  if (static_cast<int64_t>(bytes->size()) != expected_bytes) {
    return absl::DataLossError(absl::StrCat("weights file ", weights_path,
                                            " is truncated: ", bytes->size(), " bytes where ",
                                            manifest_path, " records ", expected_bytes));
  }
  std::future<std::string> hash =
      std::async(std::launch::async, [&bytes] { return util::Sha256Hex(*bytes); });
  absl::StatusOr<std::map<std::string, torch::Tensor>> tensors =
      train::ParseTensors(*bytes, weights_path);
  if (hash.get() != expected_sha256) {
    return absl::DataLossError(absl::StrCat("weights file ", weights_path,
                                            " is corrupted: its SHA-256 differs from the one in ",
                                            manifest_path));
  }
  return tensors;
}

// 8-bit BGR faces -> one N x 3 x S x S float RGB tensor in 0..1 (the trainer's layout).
torch::Tensor ToBatch(const std::vector<cv::Mat>& faces, int size) {
  const int64_t n = static_cast<int64_t>(faces.size());
  torch::Tensor batch = torch::empty({n, 3, size, size}, torch::kFloat32);
  float* data = batch.data_ptr<float>();
  const size_t plane = static_cast<size_t>(size) * size;
  for (int64_t i = 0; i < n; ++i) {
    float* red = data + i * 3 * plane;
    float* green = red + plane;
    float* blue = green + plane;
    for (int y = 0; y < size; ++y) {
      const uint8_t* src = faces[i].ptr<uint8_t>(y);
      for (int x = 0; x < size; ++x) {
        const size_t at = static_cast<size_t>(y) * size + x;
        blue[at] = src[3 * x] / 255.0f;
        green[at] = src[3 * x + 1] / 255.0f;
        red[at] = src[3 * x + 2] / 255.0f;
      }
    }
  }
  return batch;
}

absl::Status CheckFaces(const std::vector<cv::Mat>& faces, int size) {
  for (const cv::Mat& face : faces) {
    if (face.rows != size || face.cols != size || face.type() != CV_8UC3) {
      return absl::InvalidArgumentError(
          absl::StrCat("model input must be ", size, "x", size, " 8-bit BGR"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SwapDirection> ParseSwapDirection(const std::string& name) {
  if (name == "a-to-b") return SwapDirection::kAToB;
  if (name == "b-to-a") return SwapDirection::kBToA;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown swap direction \"", name, "\"; use a-to-b or b-to-a"));
}

bool CpuHasNativeBf16() { return train::CpuHasBf16(); }

absl::StatusOr<InferencePrecision> ParseInferencePrecision(const std::string& name) {
  if (name == "fp32") return InferencePrecision::kFp32;
  if (name == "bf16") return InferencePrecision::kBf16;
  if (name == "int8") return InferencePrecision::kInt8;
  if (name == "auto") {
    if (Int8Available() && CpuHasInt8DotProduct()) return InferencePrecision::kInt8;
    return CpuHasNativeBf16() ? InferencePrecision::kBf16 : InferencePrecision::kFp32;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown precision \"", name, "\"; use auto, fp32, bf16 or int8"));
}

const char* InferencePrecisionName(InferencePrecision precision) {
  switch (precision) {
    case InferencePrecision::kBf16:
      return "bf16";
    case InferencePrecision::kInt8:
      return "int8";
    case InferencePrecision::kFp32:
      break;
  }
  return "fp32";
}

SwapModel::~SwapModel() = default;

absl::StatusOr<std::unique_ptr<SwapModel>> SwapModel::Load(const std::string& dir,
                                                           const SwapOptions& options) {
  const std::string manifest_path = dir + "/" + util::kManifestFile;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model folder ", dir, " does not exist; train one with fsc train -m ", dir));
  }
  if (!fs::exists(manifest_path, ec)) {
    return absl::NotFoundError(absl::StrCat("no trained model in ", dir, " (", util::kManifestFile,
                                            " is missing); train one with fsc train -m ", dir));
  }
  FSC_ASSIGN_OR_RETURN(std::string text, util::ReadFile(manifest_path));
  nlohmann::json json = util::ParseOutsideJson(text);
  if (json.is_discarded()) {
    return absl::DataLossError(absl::StrCat(
        manifest_path, " is truncated or corrupted (not valid JSON); restore it from a snapshot ",
        "under ", dir, "/snapshots or train the model again"));
  }
  FSC_ASSIGN_OR_RETURN(train::CheckpointManifest manifest,
                       train::ManifestFromJson(json, manifest_path));
  auto file = manifest.files.find("weights");
  if (file == manifest.files.end()) {
    return absl::InvalidArgumentError(absl::StrCat(manifest_path, " names no weights file"));
  }
  const std::string weights_path = dir + "/" + file->second.name;
  FSC_ASSIGN_OR_RETURN(torch::Device device, model::ResolveDevice(options.device));
  FSC_ASSIGN_OR_RETURN(InferencePrecision precision, ParseInferencePrecision(options.precision));
  if (!device.is_cpu()) {
    if (precision == InferencePrecision::kInt8) {
      return absl::FailedPreconditionError(absl::StrCat("int8 inference runs on the CPU, not on ",
                                                        device.str(),
                                                        "; use --precision fp32 or --device cpu"));
    }
    precision = InferencePrecision::kFp32;
  } else if (precision == InferencePrecision::kInt8 && !Int8Available()) {
    return absl::FailedPreconditionError(
        "this LibTorch has no oneDNN quantised engine, so int8 inference is not available; use "
        "--precision fp32 or bf16");
  }
  if (options.threads > 0) torch::set_num_threads(options.threads);

  // Building the modules (LibTorch draws default weights for every layer) does not need the
  // weights file, so it runs beside reading, hashing and parsing it: start-up is part of every
  // conversion's time.
  std::future<absl::StatusOr<std::shared_ptr<model::FaceSwapModel>>> built = std::async(
      std::launch::async, [&]() -> absl::StatusOr<std::shared_ptr<model::FaceSwapModel>> {
        try {
          return std::make_shared<model::FaceSwapModel>(
              manifest.architecture, manifest.model_options, model::WeightInit::kToBeLoaded);
        } catch (const std::exception& e) {
          return absl::InvalidArgumentError(absl::StrCat(manifest_path, ": cannot build model \"",
                                                         manifest.model, "\": ", e.what()));
        }
      });
  FSC_ASSIGN_OR_RETURN(auto tensors, ReadVerifiedWeights(weights_path, manifest_path,
                                                         file->second.bytes, file->second.sha256));
  FSC_ASSIGN_OR_RETURN(std::shared_ptr<model::FaceSwapModel> model, built.get());

  std::unique_ptr<SwapModel> swap(new SwapModel());
  swap->options_ = options;
  swap->precision_ = precision;
  swap->device_ = std::make_unique<torch::Device>(device);
  SwapModelInfo& info = swap->info_;
  info.device = device.str();
  info.precision = InferencePrecisionName(precision);
  info.dir = dir;
  info.model = manifest.model;
  info.input_size = static_cast<int>(manifest.architecture.input_size);
  info.learn_mask = manifest.model_options.learn_mask;
  info.iteration = manifest.iteration;
  info.coverage = manifest.config.value("coverage", 0.875);
  info.mask_type = manifest.config.value("mask_type", std::string("extended"));
  if (!(info.coverage > 0 && info.coverage <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(manifest_path, ": coverage ", info.coverage, " is not in (0, 1]"));
  }
  try {
    swap->model_ = std::move(model);
    FSC_RETURN_IF_ERROR(train::RestoreModule(*swap->model_, tensors, weights_path));
    tensors.clear();
    swap->model_->to(device);
    swap->model_->eval();
    // oneDNN runs NHWC kernels without reorders when weights and input are channels-last (the
    // int8 net packs its own copies).
    if (precision != InferencePrecision::kInt8) model::ToChannelsLast(*swap->model_);
    info.parameters = model::CountParameters(*swap->model_);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(manifest_path, ": cannot load model \"", manifest.model, "\": ", e.what()));
  }
  return swap;
}

absl::Status SwapModel::Calibrate(const std::vector<cv::Mat>& faces) {
  if (precision_ != InferencePrecision::kInt8) return absl::OkStatus();
  FSC_RETURN_IF_ERROR(CheckFaces(faces, info_.input_size));
  if (faces.empty()) {
    return absl::InvalidArgumentError("int8 calibration needs at least one face");
  }
  calibration_ = std::make_unique<torch::Tensor>(ToBatch(faces, info_.input_size));
  int8_[0].reset();
  int8_[1].reset();
  return absl::OkStatus();
}

absl::StatusOr<const Int8SwapNet*> SwapModel::Int8Net(SwapDirection direction) {
  std::unique_ptr<Int8SwapNet>& net = int8_[direction == SwapDirection::kAToB ? 0 : 1];
  if (!net) {
    const model::Side decoder =
        direction == SwapDirection::kAToB ? model::Side::kB : model::Side::kA;
    FSC_ASSIGN_OR_RETURN(net, Int8SwapNet::Build(*model_, decoder, *calibration_));
  }
  return net.get();
}

absl::StatusOr<std::vector<SwapOutput>> SwapModel::Swap(const std::vector<cv::Mat>& faces,
                                                        SwapDirection direction) {
  const int size = info_.input_size;
  FSC_RETURN_IF_ERROR(CheckFaces(faces, size));
  std::vector<SwapOutput> out(faces.size());
  if (faces.empty()) return out;
  if (precision_ == InferencePrecision::kInt8 && !calibration_) {
    FSC_RETURN_IF_ERROR(Calibrate(faces));
  }
  try {
    c10::InferenceMode inference;
    const model::Side decoder =
        direction == SwapDirection::kAToB ? model::Side::kB : model::Side::kA;
    model::DecoderOutput decoded;
    if (precision_ == InferencePrecision::kInt8) {
      FSC_ASSIGN_OR_RETURN(const Int8SwapNet* net, Int8Net(direction));
      decoded = net->Forward(ToBatch(faces, size));
    } else {
      torch::Tensor input =
          ToBatch(faces, size).to(*device_).contiguous(at::MemoryFormat::ChannelsLast);
      model::AutocastScope autocast(*device_, precision_ == InferencePrecision::kBf16
                                                  ? std::optional<at::ScalarType>(at::kBFloat16)
                                                  : std::nullopt);
      decoded = model_->Forward(input, decoder);
    }
    // N x S x S x 3 RGB float, contiguous: rows of interleaved pixels, as OpenCV wants.
    torch::Tensor face =
        decoded.face.to(torch::kCPU, torch::kFloat32).permute({0, 2, 3, 1}).contiguous();
    torch::Tensor mask;
    if (decoded.mask.defined()) mask = decoded.mask.to(torch::kCPU, torch::kFloat32).contiguous();
    for (size_t i = 0; i < faces.size(); ++i) {
      cv::Mat rgb(size, size, CV_32FC3, face[static_cast<int64_t>(i)].data_ptr<float>());
      cv::cvtColor(rgb, out[i].face, cv::COLOR_RGB2BGR);
      if (mask.defined()) {
        cv::Mat m(size, size, CV_32FC1, mask[static_cast<int64_t>(i)].data_ptr<float>());
        out[i].mask = m.clone();
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model inference failed: ", e.what()));
  }
  return out;
}

}  // namespace fsc::convert
