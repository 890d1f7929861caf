// RecutFacePngs: which face PNGs no longer match their faces, then one pass over the source that
// cuts them again.
#include "core/face/face_recut.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/face/alignment.h"
#include "core/face/alignments_file.h"
#include "core/face/face_metadata.h"
#include "core/media/frame_source.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

namespace fs = std::filesystem;

// Frame index -> the (frame, face) positions in the alignments of the faces to cut from it.
using Plan = std::map<int64_t, std::vector<std::pair<int, int>>>;

bool SamePoints(const ProtoPoints& a, const ProtoPoints& b) {
  if (a.size() != b.size()) return false;
  for (int i = 0; i < a.size(); ++i) {
    if (a[i].x() != b[i].x() || a[i].y() != b[i].y()) return false;
  }
  return true;
}

// The metadata of the face PNG at `path`; nullopt when it is missing, unreadable or not from fsc.
std::optional<proto::FaceMetadata> PngMetadata(const std::string& path) {
  absl::StatusOr<std::string> bytes = util::ReadFile(path);
  if (!bytes.ok()) return std::nullopt;
  absl::StatusOr<proto::FaceMetadata> metadata = ReadFaceMetadata(*bytes, path);
  if (!metadata.ok()) return std::nullopt;
  return *std::move(metadata);
}

// True when the PNG at `path` was cut for `face` as the alignments now hold it, from the source
// with fingerprint `sha256`.
bool CutFor(const std::string& path, const proto::Face& face, const std::string& sha256) {
  std::optional<proto::FaceMetadata> metadata = PngMetadata(path);
  if (!metadata || metadata->source_sha256() != sha256) return false;
  const proto::Face& cut = metadata->face();
  const auto& a = cut.transform().m();
  const auto& b = face.transform().m();
  return cut.aligned_size() == face.aligned_size() &&
         SamePoints(cut.landmarks(), face.landmarks()) && a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin());
}

// The faces whose PNGs must be cut (naming the PNGs of the faces that get their first), and
// the names of all the PNGs the alignments list, in `listed`.
absl::StatusOr<Plan> PlanCuts(const std::string& faces_dir, bool cut_unnamed,
                              proto::Alignments* alignments, std::set<std::string>* listed) {
  Plan plan;
  for (int f = 0; f < alignments->frames_size(); ++f) {
    proto::Frame& frame = *alignments->mutable_frames(f);
    for (int i = 0; i < frame.faces_size(); ++i) {
      proto::Face& face = *frame.mutable_faces(i);
      bool named_now = false;
      if (face.face_file().empty()) {
        // A detected face without a PNG was extracted without one (unless extraction left its
        // PNG to this pass); a filled face gets one.
        if (!(face.filled() || cut_unnamed) || face.aligned_size() <= 0) continue;
        face.set_face_file(
            FaceFileName(alignments->source().path(), frame.name(), frame.index(), i));
        named_now = true;
      } else if (fs::path(face.face_file()).filename().string() != face.face_file()) {
        return absl::DataLossError(absl::StrCat("frame ", frame.index(), ": face file ",
                                                face.face_file(), " is not a plain file name"));
      }
      listed->insert(face.face_file());
      if (face.aligned_size() <= 0) continue;
      const std::string path = (fs::path(faces_dir) / face.face_file()).string();
      std::error_code ec;
      const bool exists = fs::exists(path, ec);
      if (!exists && !named_now) continue;  // deleted by the user: stays deleted
      if (exists && CutFor(path, face, alignments->source().sha256())) continue;
      plan[frame.index()].emplace_back(f, i);
    }
  }
  return plan;
}

// Removes the PNGs of filled faces of this source that no face lists any more.
int64_t RemoveStaleFilled(const std::string& faces_dir, const std::string& sha256,
                          const std::set<std::string>& listed) {
  int64_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(faces_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.extension() != ".png" || listed.count(path.filename().string())) continue;
    std::optional<proto::FaceMetadata> metadata = PngMetadata(path.string());
    if (!metadata || !metadata->face().filled() || metadata->source_sha256() != sha256) continue;
    std::error_code removal;
    if (fs::remove(path, removal)) ++removed;
  }
  return removed;
}

// Refuses a source that is missing or is not the file the alignments were extracted from.
absl::Status CheckSource(const std::string& source_path, const proto::SourceInfo& info) {
  std::error_code ec;
  if (!fs::exists(source_path, ec)) {
    return absl::NotFoundError(absl::StrCat("the source ", source_path,
                                            " is not there, so the face PNGs cannot be cut from ",
                                            "it; give the video the alignments were made from"));
  }
  FSC_ASSIGN_OR_RETURN(std::string fingerprint, SourceFingerprint(source_path));
  if (fingerprint != info.sha256()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the source ", source_path, " is not the one the alignments were extracted from (",
        info.path(), "): its sha256 is ", fingerprint, ", not ", info.sha256(),
        "; give the original video"));
  }
  return absl::OkStatus();
}

// Cuts face `i` of `frame` from `image` with its stored transform and writes its PNG.
absl::Status CutFace(const cv::Mat& image, const std::string& faces_dir,
                     const proto::SourceInfo& source, const proto::Frame& frame, int i) {
  const proto::Face& face = frame.faces(i);
  const cv::Mat transform = TransformOf(face);
  if (transform.empty()) {
    return absl::DataLossError(
        absl::StrCat("frame ", frame.index(), " face ", i, ": the stored transform is unusable"));
  }
  FSC_ASSIGN_OR_RETURN(cv::Mat crop, WarpAlignedCrop(image, transform, face.aligned_size()));
  const Landmarks aligned = TransformPoints(transform, LandmarksFromPoints(face.landmarks()));
  return WriteFacePng((fs::path(faces_dir) / face.face_file()).string(), crop,
                      MakeFaceMetadata(source, frame.index(), i, face, aligned));
}

// One pass over the source from the first planned frame to the last: this thread decodes, up to
// `threads` others cut and encode the planned faces of the frames decoded so far.
absl::Status CutPlanned(const std::string& source_path, const std::string& faces_dir,
                        const Plan& plan, const proto::Alignments& alignments, int threads,
                        RecutReport* report) {
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<media::FrameSource> source,
                       media::FrameSource::Open(source_path));
  std::deque<std::future<absl::Status>> cutting;
  absl::Status status;
  auto finish_oldest = [&] {
    status.Update(cutting.front().get());
    cutting.pop_front();
  };
  source->SkipTo(plan.begin()->first);
  auto next = plan.begin();
  while (next != plan.end() && status.ok()) {
    std::optional<media::SourceFrame> frame = source->Next();
    if (!frame) break;
    ++report->frames_decoded;
    if (frame->index > next->first) break;
    if (frame->index < next->first) continue;
    if (static_cast<int>(cutting.size()) >= std::max(1, threads)) finish_oldest();
    cutting.push_back(
        std::async(std::launch::async, [&, image = std::move(frame->image), faces = &next->second] {
          for (const auto& [f, i] : *faces) {
            FSC_RETURN_IF_ERROR(
                CutFace(image, faces_dir, alignments.source(), alignments.frames(f), i));
          }
          return absl::OkStatus();
        }));
    report->faces_recut += static_cast<int64_t>(next->second.size());
    ++next;
  }
  while (!cutting.empty()) finish_oldest();
  FSC_RETURN_IF_ERROR(status);
  if (next != plan.end()) {
    return absl::DataLossError(absl::StrCat("frame ", next->first, " of ", source_path,
                                            " did not decode; its faces were not cut again"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecutReport> RecutFacePngs(const std::string& source_path,
                                          const std::string& faces_dir,
                                          proto::Alignments* alignments,
                                          const RecutOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RecutReport report;
  std::set<std::string> listed;
  FSC_ASSIGN_OR_RETURN(const Plan plan,
                       PlanCuts(faces_dir, options.cut_unnamed, alignments, &listed));
  if (!plan.empty()) {
    FSC_RETURN_IF_ERROR(CheckSource(source_path, alignments->source()));
    FSC_RETURN_IF_ERROR(
        CutPlanned(source_path, faces_dir, plan, *alignments, options.threads, &report));
  }
  report.stale_removed = RemoveStaleFilled(faces_dir, alignments->source().sha256(), listed);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

bool HasFacePngs(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".png") return true;
  }
  return false;
}

}  // namespace fsc::face
