// B's identity reference (descriptor centroid of B's faces) and the per-face identity figures.
#include "core/eval/identity.h"

#include <algorithm>
#include <filesystem>
#include <future>
#include <limits>

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

double Spread(const std::vector<face::Descriptor>& descriptors, const face::Descriptor& centroid) {
  if (descriptors.empty()) return 0;
  double sum = 0;
  for (const face::Descriptor& d : descriptors) sum += face::DescriptorDistance(d, centroid);
  return sum / descriptors.size();
}

absl::StatusOr<IdentityReference> LoadIdentityReference(const std::string& dir, FaceNetPool& nets,
                                                        int max_faces, int threads) {
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
  std::vector<face::Descriptor> descriptors(count);
  // Face k of `count`, evenly spread over the folder; worker w takes every w-th.
  auto describe = [&](int worker) -> absl::Status {
    for (int64_t k = worker; k < count; k += std::max(1, threads)) {
      const train::TrainingFace& f = (*set)[k * set->size() / count];
      FSC_ASSIGN_OR_RETURN(std::vector<face::Descriptor> described,
                           nets.Describe(f.image, {f.landmarks}));
      descriptors[k] = std::move(described.front());
    }
    return absl::OkStatus();
  };
  std::vector<std::future<absl::Status>> workers;
  for (int w = 1; w < threads; ++w) workers.push_back(std::async(std::launch::async, describe, w));
  absl::Status status = describe(0);
  for (auto& worker : workers) {
    absl::Status other = worker.get();
    if (status.ok()) status = other;
  }
  FSC_RETURN_IF_ERROR(status);
  reference.centroid = MeanDescriptor(descriptors);
  reference.faces = count;
  reference.spread = Spread(descriptors, reference.centroid);
  return reference;
}

IdentitySample CompareIdentity(const face::Descriptor& swapped, const face::Descriptor& source,
                               const face::Descriptor& a_centroid,
                               const face::Descriptor& b_centroid) {
  IdentitySample s;
  s.to_a = face::DescriptorDistance(swapped, a_centroid);
  s.to_source = face::DescriptorDistance(swapped, source);
  if (b_centroid.empty()) {
    s.to_b = s.source_to_b = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  s.to_b = face::DescriptorDistance(swapped, b_centroid);
  s.source_to_b = face::DescriptorDistance(source, b_centroid);
  s.retrieved = s.to_b < s.to_a;
  return s;
}

}  // namespace fsc::eval
