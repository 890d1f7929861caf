// The inference side of a model folder written by `fsc train`: loads the manifest and the
// weights (verified against the manifest's size and SHA-256; the optimiser state is not read),
// builds the model in eval mode, and swaps batches of faces: the shared encoder, then the OTHER
// side's decoder (a-to-b: A faces through B's decoder). LibTorch stays behind this interface.
#ifndef FSC_CORE_CONVERT_SWAP_MODEL_H_
#define FSC_CORE_CONVERT_SWAP_MODEL_H_

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace c10 {
struct Device;
}
namespace fsc::model {
class FaceSwapModel;
}
namespace at {
class Tensor;
}

namespace fsc::convert {

class Int8SwapNet;

enum class SwapDirection { kAToB, kBToA };
// "a-to-b", "b-to-a"; INVALID_ARGUMENT otherwise.
absl::StatusOr<SwapDirection> ParseSwapDirection(const std::string& name);

// True when the CPU has native bf16 arithmetic (AVX-512 BF16 or AMX), where bf16 inference is
// about twice as fast as fp32; elsewhere bf16 is emulated and slower.
bool CpuHasNativeBf16();

// The arithmetic inference runs in. On the CPU: int8 (int8_swap_net.h) is about twice as fast
// as bf16 where the CPU has 8-bit dot products (VNNI), bf16 twice fp32 where it has bf16
// arithmetic; both differ from fp32 by well under one 8-bit level on average.
enum class InferencePrecision { kFp32, kBf16, kInt8 };
// "fp32" / "bf16" / "int8"; "auto" gives the fastest this CPU runs natively (int8 with VNNI and
// LibTorch's oneDNN quantised engine, else bf16 with AVX-512 BF16 / AMX, else fp32).
// INVALID_ARGUMENT for other names.
absl::StatusOr<InferencePrecision> ParseInferencePrecision(const std::string& name);
const char* InferencePrecisionName(InferencePrecision precision);

struct SwapModelInfo {
  std::string dir;
  std::string model;   // registry or custom architecture name
  int input_size = 0;  // S
  double coverage = 0.875;
  bool learn_mask = false;
  std::string mask_type;  // the landmark mask the model was trained with ("none", "extended"...)
  int64_t iteration = 0;
  int64_t parameters = 0;
  std::string device;     // where the model runs ("cpu", "cuda:0")
  std::string precision;  // what it runs in: "fp32", "bf16" or "int8"
};

struct SwapOptions {
  int threads = 0;  // intra-op threads for LibTorch (0: leave as is)
  // auto | fp32 | bf16 | int8 (ParseInferencePrecision). On a GPU the model runs in fp32 (auto
  // and bf16 resolve to it; int8 is FAILED_PRECONDITION there).
  std::string precision = "fp32";
  // "auto" (the first CUDA GPU when this LibTorch has one, else the CPU), "cpu", "cuda",
  // "cuda:N".
  std::string device = "auto";
};

// One swapped face.
struct SwapOutput {
  cv::Mat face;  // S x S CV_32FC3 BGR in 0..1
  cv::Mat mask;  // S x S CV_32FC1 in 0..1; empty unless the model learned a mask
};

class SwapModel {
 public:
  // NOT_FOUND when `dir` holds no model (fsc_model.json missing), FAILED_PRECONDITION for a
  // CUDA device this build or machine does not have, DATA_LOSS for a truncated or
  // corrupted manifest or weights file, INVALID_ARGUMENT / FAILED_PRECONDITION when the folder is
  // not an fsc model or its weights do not fit its architecture. Errors name the file.
  static absl::StatusOr<std::unique_ptr<SwapModel>> Load(const std::string& dir,
                                                         const SwapOptions& options = {});
  ~SwapModel();

  const SwapModelInfo& info() const { return info_; }

  // int8 only (a no-op otherwise): the faces whose activation ranges set the quantisation, S x S
  // 8-bit BGR model inputs like the ones to be swapped (a few dozen across the material give a
  // stable result). Without it, the first batch given to Swap calibrates. Errors as Swap.
  absl::Status Calibrate(const std::vector<cv::Mat>& faces);

  // `faces`: S x S 8-bit BGR model inputs (WarpToModel). INVALID_ARGUMENT for a wrong size,
  // INTERNAL when LibTorch fails. Not thread-safe: one caller at a time.
  absl::StatusOr<std::vector<SwapOutput>> Swap(const std::vector<cv::Mat>& faces,
                                               SwapDirection direction);

 private:
  SwapModel() = default;
  // The int8 network of `direction`'s decoder, built on first use from the calibration faces.
  absl::StatusOr<const Int8SwapNet*> Int8Net(SwapDirection direction);

  SwapModelInfo info_;
  SwapOptions options_;
  InferencePrecision precision_ = InferencePrecision::kFp32;
  std::shared_ptr<model::FaceSwapModel> model_;
  std::unique_ptr<c10::Device> device_;
  std::unique_ptr<at::Tensor> calibration_;  // int8: N x 3 x S x S, 0..1
  std::unique_ptr<Int8SwapNet> int8_[2];     // by SwapDirection
};

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_SWAP_MODEL_H_
