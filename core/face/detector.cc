// The detector registry: maps --detector names to constructors.
#include "core/face/detector.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fsc::face {

std::vector<std::string> DetectorNames() { return {"ssd", "tiny", "blazeface"}; }

absl::StatusOr<std::unique_ptr<FaceDetector>> CreateDetector(const std::string& name,
                                                             const DetectorOptions& options) {
  if (name == "ssd") return NewSsdMobilenetDetector(options);
  if (name == "tiny") return NewTinyFaceDetector(options);
  if (name == "blazeface") return NewBlazeFaceDetector(options);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown detector '", name, "'; choose one of: ", absl::StrJoin(DetectorNames(), ", ")));
}

}  // namespace fsc::face
