// TASK_MERGE_ALIGNMENTS: concatenate range alignments in frame order, gather their faces,
// stabilise the whole once and cut the moved faces' PNGs again.
#include "worker/merge_alignments_task.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/face/alignments_file.h"
#include "core/face/face_recut.h"
#include "core/rpc/transfer.h"
#include "core/util/artifact_names.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"
#include "core/util/status_macros.h"
#include "worker/extract_task.h"

namespace fsc::worker {
namespace fs = std::filesystem;
namespace {

// Places `from` at `to`: a hard link when possible (same file system, no copy), else a copy.
absl::Status PlaceFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::create_hard_link(from, to, ec);
  if (!ec) return absl::OkStatus();
  ec.clear();
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot copy ", from.string(), " to ", to.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

// Video frames have no names; images (one, or a folder's) do. Stills are never smoothed.
bool IsVideo(const proto::Alignments& alignments) {
  for (const proto::Frame& frame : alignments.frames()) {
    if (!frame.name().empty()) return false;
  }
  return true;
}

// A name not yet used in `dir`: <stem>-<n><ext>.
std::string FreeName(const fs::path& dir, const std::string& name) {
  fs::path p(name);
  std::error_code ec;
  for (int n = 1;; ++n) {
    std::string candidate = absl::StrCat(p.stem().string(), "-", n, p.extension().string());
    if (!fs::exists(dir / candidate, ec)) return candidate;
  }
}

}  // namespace

absl::Status MergeAlignmentParts(const std::vector<std::string>& part_dirs,
                                 const std::string& out_dir,
                                 const std::optional<face::StabilizeOptions>& stabilize,
                                 const std::string& source, int threads) {
  if (part_dirs.empty()) {
    return absl::InvalidArgumentError("merge: no parts to merge (parts/<task id>/ is empty)");
  }
  struct Part {
    std::string dir;
    proto::Alignments alignments;
  };
  std::vector<Part> parts;
  for (const std::string& dir : part_dirs) {
    std::string path = face::ResolveAlignmentsPath(dir);  // or a part named .fsca before
    auto alignments = face::ReadAlignments(path);
    if (!alignments.ok()) {
      return absl::Status(alignments.status().code(),
                          absl::StrCat("merge: part ", dir, ": ", alignments.status().message()));
    }
    parts.push_back({dir, *std::move(alignments)});
  }
  const proto::Alignments& first = parts.front().alignments;
  for (const Part& part : parts) {
    if (part.alignments.source().sha256() != first.source().sha256()) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge: part ", part.dir, " was extracted from another source (sha256 ",
                       part.alignments.source().sha256(), ", not ", first.source().sha256(), ")"));
    }
    if (part.alignments.detector() != first.detector()) {
      return absl::InvalidArgumentError(absl::StrCat("merge: part ", part.dir, " used detector ",
                                                     part.alignments.detector(), ", not ",
                                                     first.detector()));
    }
  }

  proto::Alignments merged;
  merged.set_version(face::kAlignmentsVersion);
  *merged.mutable_source() = first.source();
  merged.set_detector(first.detector());
  merged.set_aligner(first.aligner());
  merged.set_created_by("fsc-worker merge");

  // Frame index -> (part, frame), so the output is in frame order whatever the part order.
  std::map<int64_t, std::pair<const Part*, const proto::Frame*>> frames;
  for (const Part& part : parts) {
    for (const proto::Frame& frame : part.alignments.frames()) {
      auto [it, inserted] = frames.emplace(frame.index(), std::make_pair(&part, &frame));
      if (!inserted) {
        return absl::InvalidArgumentError(
            absl::StrCat("merge: frame ", frame.index(), " is in both ", it->second.first->dir,
                         " and ", part.dir, " (overlapping frame ranges)"));
      }
    }
  }

  const fs::path faces_out = fs::path(out_dir) / kFacesFolderName;
  std::error_code ec;
  fs::create_directories(faces_out, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat(faces_out.string(), ": cannot create: ", ec.message()));
  }
  std::map<std::string, std::string> placed;  // output name -> sha256
  for (const auto& [index, source] : frames) {
    proto::Frame* frame = merged.add_frames();
    *frame = *source.second;
    for (proto::Face& face : *frame->mutable_faces()) {
      if (face.face_file().empty()) continue;
      FSC_RETURN_IF_ERROR(rpc::ValidateRelativePath(face.face_file()));
      fs::path from = fs::path(source.first->dir) / kFacesFolderName / face.face_file();
      if (!fs::is_regular_file(from, ec)) {
        return absl::InvalidArgumentError(
            absl::StrCat("merge: part ", source.first->dir, " lists face ", face.face_file(),
                         " of frame ", index, " but has no such file in faces/"));
      }
      FSC_ASSIGN_OR_RETURN(std::string sha, util::Sha256File(from.string()));
      std::string name = face.face_file();
      auto it = placed.find(name);
      if (it != placed.end()) {
        if (it->second == sha) continue;  // the very same file, listed twice
        name = FreeName(faces_out, name);
        face.set_face_file(name);
      }
      FSC_RETURN_IF_ERROR(PlaceFile(from, faces_out / name));
      placed[name] = sha;
    }
  }
  if (stabilize && IsVideo(merged)) {
    absl::Status stabilized = face::StabilizeAlignments(*stabilize, &merged);
    if (!stabilized.ok()) {
      return absl::Status(stabilized.code(),
                          absl::StrCat("merge: stabilising: ", stabilized.message()));
    }
    if (!source.empty()) {
      face::RecutOptions options;
      options.threads = threads;
      absl::Status recut =
          face::RecutFacePngs(source, faces_out.string(), &merged, options).status();
      if (!recut.ok()) {
        return absl::Status(recut.code(),
                            absl::StrCat("merge: cutting the faces again: ", recut.message()));
      }
    }
  }
  return face::WriteAlignments((fs::path(out_dir) / kAlignmentsFileName).string(), merged);
}

absl::Status RunMergeAlignmentsTask(const proto::Task& task, const TaskEnv& env) {
  // Parts in the order the coordinator listed their tasks (the frame order decides the output).
  std::vector<std::string> part_dirs;
  const fs::path parts_root = fs::path(env.in_dir) / kTaskPartsFolder;
  std::error_code ec;
  std::vector<std::string> missing;
  for (const std::string& id : task.depends_on()) {
    fs::path dir = parts_root / id;
    (fs::is_directory(dir, ec) ? part_dirs : missing).push_back(dir.string());
  }
  if (!part_dirs.empty() && !missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("merge: the inputs lack the part ",
                                                   missing.front(), " of a task it depends on"));
  }
  if (part_dirs.empty()) {
    for (fs::directory_iterator it(parts_root, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_directory()) part_dirs.push_back(it->path().string());
    }
    std::sort(part_dirs.begin(), part_dirs.end());
  }
  FSC_ASSIGN_OR_RETURN(const face::ExtractOptions options,
                       ExtractOptionsFromSpec(task.spec().extract()));
  std::optional<face::StabilizeOptions> stabilize;
  if (options.smooth == face::SmoothMode::kAuto) stabilize = options.stabilize;
  // The source the face PNGs are cut again from: the job's input, as the extract tasks got it.
  // A coordinator from before it sent one gives none: the parts' PNGs stay as they were cut.
  absl::StatusOr<std::string> source =
      ResolveSource((fs::path(env.in_dir) / kTaskSourceFolder).string());
  FSC_RETURN_IF_ERROR(MergeAlignmentParts(part_dirs, env.out_dir, stabilize,
                                          source.ok() ? *source : "", std::max(1, env.threads)));
  TaskProgress done;
  done.fraction = 1;
  done.message = absl::StrCat("merged ", part_dirs.size(), " alignment parts");
  if (stabilize) absl::StrAppend(&done.message, ", stabilised");
  if (stabilize && !source.ok()) {
    absl::StrAppend(&done.message, " (face PNGs not cut again: ", source.status().message(), ")");
  }
  env.Report(done);
  return absl::OkStatus();
}

}  // namespace fsc::worker
