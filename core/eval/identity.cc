// B's identity reference (descriptor centroid of B's faces) and the per-face identity figures.
#include "core/eval/identity.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/train/face_set.h"
#include "core/util/status_macros.h"

namespace fsc::eval {
namespace {

namespace fs = std::filesystem;

// A fetched job folder keeps its faces in faces/; an fsc extract folder holds them directly.
std::string FaceFolder(const std::string& dir) {
  std::error_code ec;
  const fs::path nested = fs::path(dir) / "faces";
  if (fs::is_directory(nested, ec)) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".png") return dir;
    }
    return nested.string();
  }
  return dir;
}

}  // namespace

face::Descriptor MeanDescriptor(const std::vector<face::Descriptor>& descriptors) {
  if (descriptors.empty()) return {};
  face::Descriptor mean(descriptors.front().size(), 0.0f);
  for (const face::Descriptor& d : descriptors) {
    for (size_t i = 0; i < mean.size() && i < d.size(); ++i) mean[i] += d[i];
  }
  for (float& v : mean) v /= static_cast<float>(descriptors.size());
  return mean;
}

absl::StatusOr<IdentityReference> LoadIdentityReference(const std::string& dir,
                                                        face::RecognitionNet& net, int max_faces,
                                                        int threads) {
  train::FaceSetOptions options;
  options.masks = {};
  options.skip_invalid = true;
  options.threads = threads;
  const std::string folder = FaceFolder(dir);
  absl::StatusOr<train::FaceSet> set = train::FaceSet::Load(folder, options);
  if (!set.ok()) {
    return absl::Status(set.status().code(),
                        absl::StrCat("identity folder: ", set.status().message(),
                                     " (--identity takes the -o DIR of 'fsc extract' run on "
                                     "person B's video or photos)"));
  }
  IdentityReference reference;
  reference.dir = folder;
  reference.warnings = set->warnings();
  reference.faces_in_folder = set->size();
  const int64_t count = std::min<int64_t>(set->size(), std::max(1, max_faces));
  std::vector<face::Descriptor> descriptors;
  descriptors.reserve(count);
  for (int64_t k = 0; k < count; ++k) {
    const train::TrainingFace& f = (*set)[k * set->size() / count];
    FSC_ASSIGN_OR_RETURN(std::vector<face::Descriptor> described,
                         net.Describe(f.image, {f.landmarks}));
    descriptors.push_back(std::move(described.front()));
  }
  reference.centroid = MeanDescriptor(descriptors);
  reference.faces = count;
  double spread = 0;
  for (const face::Descriptor& d : descriptors) {
    spread += face::DescriptorDistance(d, reference.centroid);
  }
  reference.spread = spread / count;
  return reference;
}

IdentitySample CompareIdentity(const face::Descriptor& swapped, const face::Descriptor& source,
                               const face::Descriptor& b_centroid) {
  IdentitySample s;
  s.to_b = face::DescriptorDistance(swapped, b_centroid);
  s.to_source = face::DescriptorDistance(swapped, source);
  s.source_to_b = face::DescriptorDistance(source, b_centroid);
  s.retrieved = s.to_b < s.to_source;
  return s;
}

}  // namespace fsc::eval
