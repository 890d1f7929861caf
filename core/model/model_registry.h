// The named face-swap models (`fsc train --model NAME`) and the checked way to build one.
//
//   original     Faceswap's Original, 64 px. Encoder convs 128, 256, 512, 1024 -> dense 1024 ->
//                dense 4·4·1024 -> upscale 512 (8 x 8 x 512); decoders upscale 256, 128, 64 ->
//                conv 5 x 5 to 3. 82,062,470 parameters (69,662,976 encoder + 2 x 6,199,747).
//   lightweight  Faceswap's Lightweight (plugins/train/model/lightweight.py), 64 px. Encoder convs
//                128, 256, 512 -> dense 512 -> dense 4·4·512 -> upscale 256 (8 x 8 x 256);
//                decoders upscale 512, 256, 128 -> conv 5 x 5 to 3 (Faceswap widens the decoder
//                here, and so does fsc). 51,066,374 parameters (29,806,336 + 2 x 10,630,019).
//   dfl-h128     DeepFaceLab's H128 as Faceswap ports it (plugins/train/model/dfl_h128.py),
//                128 px. Encoder convs 128, 256, 512, 1024 (-> 8 x 8 x 1024) -> dense 512 ->
//                dense 8·8·512 -> upscale 512 (16 x 16 x 512); decoders upscale 512, 256, 128 ->
//                conv 5 x 5 to 3. 107,716,102 parameters (77,018,880 + 2 x 15,348,611).
// learn_mask adds to each decoder a second branch with the same upscales and a 1-channel output.
#ifndef FSC_CORE_MODEL_MODEL_REGISTRY_H_
#define FSC_CORE_MODEL_MODEL_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/face_swap_model.h"

namespace fsc::model {

// The registered names, in the order above.
std::vector<std::string> ModelNames();

// The layout of a named model; INVALID_ARGUMENT listing the known names otherwise.
absl::StatusOr<Architecture> FindArchitecture(const std::string& name);

// Builds and initialises the named model on the CPU (move it with ->to(device)).
// INVALID_ARGUMENT for an unknown name; INTERNAL if LibTorch fails.
absl::StatusOr<std::shared_ptr<FaceSwapModel>> CreateModel(const std::string& name,
                                                           const ModelOptions& options);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_MODEL_REGISTRY_H_
