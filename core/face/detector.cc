// The detector registry: maps --detector names to constructors.
#include "core/face/detector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fsc::face {

std::vector<std::string> DetectorNames() { return {"ssd", "tiny", "blazeface"}; }

int DefaultInputSize(const std::string& detector, int width, int height) {
  const int long_side = std::max(width, height);
  if (detector == "ssd" && long_side > 0 && long_side <= 800) return 256;
  return 0;
}

absl::StatusOr<std::unique_ptr<FaceDetector>> CreateDetector(const std::string& name,
                                                             const DetectorOptions& options) {
  if (name == "ssd") return NewSsdMobilenetDetector(options);
  if (name == "tiny") return NewTinyFaceDetector(options);
  if (name == "blazeface") return NewBlazeFaceDetector(options);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown detector '", name, "'; choose one of: ", absl::StrJoin(DetectorNames(), ", ")));
}

}  // namespace fsc::face
