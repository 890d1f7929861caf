// Alignments file reading, writing and JSON dump.
#include "core/face/alignments_file.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/media/frame_source.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"

namespace fsc::face {
namespace {

// "FSCALN" + format byte + newline: lets fsc tell its files from anything else.
constexpr char kMagic[] = "FSCALN1\n";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;

}  // namespace

absl::Status WriteAlignments(const std::string& path, const proto::Alignments& alignments) {
  proto::Alignments copy = alignments;
  copy.set_version(kAlignmentsVersion);
  std::string bytes;
  if (!copy.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat(path, ": cannot serialize alignments"));
  }
  return util::WriteFileAtomically(path, absl::StrCat(kMagic, bytes));
}

absl::StatusOr<proto::Alignments> ReadAlignments(const std::string& path) {
  auto contents = util::ReadFile(path);
  if (!contents.ok()) return contents.status();
  if (contents->size() < kMagicSize || !absl::StartsWith(*contents, kMagic)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": not an fsc alignments file (no FSCALN header); alignments files are written by "
        "'fsc extract'"));
  }
  proto::Alignments alignments;
  if (!alignments.ParseFromArray(contents->data() + kMagicSize,
                                 static_cast<int>(contents->size() - kMagicSize))) {
    return absl::DataLossError(
        absl::StrCat(path, ": alignments file is truncated or corrupt; re-run 'fsc extract'"));
  }
  if (alignments.version() == 0 || alignments.version() > kAlignmentsVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": alignments format version ", alignments.version(),
                     " is not supported by this fsc (reads up to ", kAlignmentsVersion, ")"));
  }
  return alignments;
}

std::string AlignmentsToJson(const proto::Alignments& alignments, bool pretty) {
  using nlohmann::json;
  json root;
  root["version"] = alignments.version();
  root["source"] = alignments.source().path();
  root["source_info"] = {{"width", alignments.source().width()},
                         {"height", alignments.source().height()},
                         {"frame_count", alignments.source().frame_count()},
                         {"fps", alignments.source().fps()},
                         {"sha256", alignments.source().sha256()}};
  root["detector"] = alignments.detector();
  root["aligner"] = alignments.aligner();
  json frames = json::array();
  for (const proto::Frame& frame : alignments.frames()) {
    json faces = json::array();
    for (const proto::Face& face : frame.faces()) {
      json landmarks = json::array();
      for (const proto::Point& p : face.landmarks()) landmarks.push_back({p.x(), p.y()});
      json item = {
          {"box", {face.box().x(), face.box().y(), face.box().width(), face.box().height()}},
          {"score", face.score()},
          {"landmarks", landmarks}};
      if (!face.face_file().empty()) item["file"] = face.face_file();
      if (face.transform().m_size() == 6) {
        item["transform"] =
            std::vector<double>(face.transform().m().begin(), face.transform().m().end());
      }
      if (face.identity_distance() > 0) item["identity_distance"] = face.identity_distance();
      faces.push_back(item);
    }
    json entry = {{"frame", frame.index()}, {"faces", faces}};
    if (!frame.name().empty()) entry["name"] = frame.name();
    frames.push_back(entry);
  }
  root["frames"] = frames;
  return root.dump(pretty ? 2 : -1);
}

absl::StatusOr<std::string> SourceFingerprint(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return util::Sha256File(path);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_regular_file() && media::HasImageExtension(entry.path().string())) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  util::Sha256 hash;
  for (const std::string& name : names) {
    auto digest = util::Sha256File((fs::path(path) / name).string());
    if (!digest.ok()) return digest.status();
    hash.Update(name);
    hash.Update(*digest);
  }
  return hash.HexDigest();
}

}  // namespace fsc::face
