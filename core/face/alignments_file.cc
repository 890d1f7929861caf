// Alignments file reading (versions 1 to 3), checks, writing and the JSON dump.
#include "core/face/alignments_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/media/frame_source.h"
#include "core/util/artifact_names.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

namespace fs = std::filesystem;

// "FSCALN" + format digit + newline: lets fsc tell its files from anything else.
constexpr absl::string_view kMagicV1 = "FSCALN1\n";
constexpr absl::string_view kMagicV2 = "FSCALN2\n";
constexpr absl::string_view kMagicV3 = "FSCALN3\n";
constexpr size_t kMagicSize = 8;
constexpr size_t kDigestSize = 64;  // hex SHA-256, then '\n'
// The name cluster jobs gave the file before it had one name (fetched folders still hold it).
constexpr char kLegacyClusterName[] = "alignments.fsca";

absl::Status Damaged(const std::string& name, int64_t frame, int face, const std::string& what) {
  return absl::DataLossError(
      absl::StrCat(name, ": frame ", frame, ", face ", face, ": ", what,
                   "; the file is damaged or was edited by hand; run 'fsc extract' again"));
}

std::string Describe(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  return absl::StrCat(v);
}

// Where a coordinate of a frame may lie: within kMaxCoordinate, and for video frames (whose size
// the source gives) within 8 frame sizes of the frame.
struct Bounds {
  double low = -kMaxCoordinate;
  double high = kMaxCoordinate;
  bool Holds(double v) const { return std::isfinite(v) && v >= low && v <= high; }
};

Bounds BoundsFor(const proto::SourceInfo& source, const proto::Frame& frame) {
  Bounds bounds;
  const double side = std::max(source.width(), source.height());
  if (frame.name().empty() && side > 0) {
    bounds.low = std::max(bounds.low, -8 * side);
    bounds.high = std::min(bounds.high, 9 * side);
  }
  return bounds;
}

absl::Status CheckPoints(const google::protobuf::RepeatedPtrField<proto::Point>& points,
                         const char* what, const Bounds& bounds, const std::string& name,
                         int64_t frame, int face) {
  if (points.size() != 0 && points.size() != 68) {
    return Damaged(name, frame, face, absl::StrCat(points.size(), " ", what, " instead of 68"));
  }
  for (int i = 0; i < points.size(); ++i) {
    for (double v : {double{points[i].x()}, double{points[i].y()}}) {
      if (!bounds.Holds(v)) {
        return Damaged(
            name, frame, face,
            absl::StrCat(what, " point ", i, " has coordinate ", Describe(v),
                         std::isfinite(v) ? " (far outside the frame)" : " (not a finite number)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFace(const proto::Face& face, const Bounds& bounds, const std::string& name,
                       int64_t frame, int index) {
  FSC_RETURN_IF_ERROR(CheckPoints(face.landmarks(), "landmark", bounds, name, frame, index));
  FSC_RETURN_IF_ERROR(
      CheckPoints(face.raw_landmarks(), "raw landmark", bounds, name, frame, index));
  if (face.track_id() < 0) {
    return Damaged(name, frame, index, absl::StrCat("track id ", face.track_id()));
  }
  const proto::Box& box = face.box();
  for (double v : {double{box.x()}, double{box.y()}, double{box.width()}, double{box.height()}}) {
    if (!bounds.Holds(v)) {
      return Damaged(name, frame, index, absl::StrCat("box value ", Describe(v), " is absurd"));
    }
  }
  if (face.aligned_size() < 0 || face.aligned_size() > 65536) {
    return Damaged(name, frame, index, absl::StrCat("aligned size ", face.aligned_size()));
  }
  const auto& m = face.transform().m();
  if (m.size() != 0 && m.size() != 6) {
    return Damaged(name, frame, index, absl::StrCat("transform has ", m.size(), " values, not 6"));
  }
  for (double v : m) {
    if (!std::isfinite(v) || std::abs(v) > kMaxCoordinate) {
      return Damaged(name, frame, index, absl::StrCat("transform value ", Describe(v)));
    }
  }
  if (m.size() == 6 && std::abs(m[0] * m[4] - m[1] * m[3]) < 1e-12) {
    return Damaged(name, frame, index, "transform is degenerate (maps the face to a point)");
  }
  for (float v : face.identity()) {
    if (!std::isfinite(v) || std::abs(v) > 1e3f) {
      return Damaged(name, frame, index, absl::StrCat("face descriptor value ", Describe(v)));
    }
  }
  for (const proto::Mask& mask : face.masks()) {
    if (mask.size() < 0 || mask.size() > 65536) {
      return Damaged(name, frame, index, absl::StrCat("mask size ", mask.size()));
    }
  }
  return absl::OkStatus();
}

// A frame's histogram: empty, or `*bins` finite non-negative values (`*bins` is set by the
// first frame that has one, so all of a file's histograms compare bin by bin).
absl::Status CheckHistogram(const proto::Frame& frame, const std::string& name, int* bins) {
  const int size = frame.histogram_size();
  if (size == 0) return absl::OkStatus();
  auto damaged = [&](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat(name, ": frame ", frame.index(), ": histogram ", what,
                     "; the file is damaged or was edited by hand; run 'fsc extract' again"));
  };
  if (size > kMaxHistogramBins) {
    return damaged(absl::StrCat("has ", size, " bins (at most ", kMaxHistogramBins, ")"));
  }
  if (*bins == 0) *bins = size;
  if (size != *bins) {
    return damaged(absl::StrCat("has ", size, " bins, the file's other frames ", *bins));
  }
  for (int i = 0; i < size; ++i) {
    const float v = frame.histogram(i);
    if (!std::isfinite(v) || v < 0) {
      return damaged(absl::StrCat("bin ", i, " holds ", Describe(v)));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSmoothing(const proto::Smoothing& smoothing, const std::string& name) {
  if (!std::isfinite(smoothing.strength()) || smoothing.strength() < 0 || smoothing.max_gap() < 0 ||
      smoothing.tracks() < 0 || smoothing.shot_cuts() < 0 || smoothing.faces_filled() < 0) {
    return absl::DataLossError(
        absl::StrCat(name, ": the smoothing settings are impossible (strength ",
                     Describe(smoothing.strength()), ", max gap ", smoothing.max_gap(),
                     "); the file is damaged or was edited by hand; run 'fsc alignments smooth' or "
                     "'fsc extract' again"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAlignments(const proto::Alignments& alignments, const std::string& name) {
  int histogram_bins = 0;
  for (const proto::Frame& frame : alignments.frames()) {
    const Bounds bounds = BoundsFor(alignments.source(), frame);
    for (int i = 0; i < frame.faces_size(); ++i) {
      FSC_RETURN_IF_ERROR(CheckFace(frame.faces(i), bounds, name, frame.index(), i));
    }
    FSC_RETURN_IF_ERROR(CheckHistogram(frame, name, &histogram_bins));
  }
  return CheckSmoothing(alignments.smoothing(), name);
}

std::string SerializeAlignments(const proto::Alignments& alignments) {
  proto::Alignments copy = alignments;
  copy.set_version(kAlignmentsVersion);
  std::string payload;
  copy.SerializeToString(&payload);
  return absl::StrCat(kMagicV3, util::Sha256Hex(payload), "\n", payload);
}

absl::Status WriteAlignments(const std::string& path, const proto::Alignments& alignments) {
  return util::WriteFileAtomically(path, SerializeAlignments(alignments));
}

absl::StatusOr<proto::Alignments> ParseAlignments(absl::string_view bytes,
                                                  const std::string& name) {
  const bool v1 = absl::StartsWith(bytes, kMagicV1);
  const bool v2 = absl::StartsWith(bytes, kMagicV2);
  const bool v3 = absl::StartsWith(bytes, kMagicV3);
  if (!v1 && !v2 && !v3) {
    if (absl::StartsWith(bytes, "FSCALN")) {
      return absl::FailedPreconditionError(absl::StrCat(
          name, ": alignments file format '", absl::CEscape(bytes.substr(0, kMagicSize)),
          "' is newer than this fsc reads (up to version ", kAlignmentsVersion, ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        name,
        ": not an fsc alignments file (no FSCALN header); alignments files are written by "
        "'fsc extract'"));
  }
  absl::string_view payload = bytes.substr(kMagicSize);
  if (!v1) {  // versions 2 and 3: a checksum line
    if (payload.size() < kDigestSize + 1 || payload[kDigestSize] != '\n') {
      return absl::DataLossError(
          absl::StrCat(name, ": alignments file is truncated (no checksum); re-run 'fsc extract'"));
    }
    const absl::string_view stored = payload.substr(0, kDigestSize);
    payload.remove_prefix(kDigestSize + 1);
    const std::string actual = util::Sha256Hex(payload);
    if (stored != actual) {
      return absl::DataLossError(absl::StrCat(
          name, ": alignments file fails its checksum (", payload.size(), " payload bytes hash to ",
          actual.substr(0, 12), "..., the header says ", absl::CEscape(stored.substr(0, 12)),
          "...): it was truncated or changed after fsc wrote it; restore a copy or re-run "
          "'fsc extract'"));
    }
  }
  proto::Alignments alignments;
  if (!alignments.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError(
        absl::StrCat(name, ": alignments file is truncated or corrupt; re-run 'fsc extract'"));
  }
  const uint32_t header_version = v1 ? 1 : v2 ? 2 : 3;
  if (alignments.version() == 0 || alignments.version() > kAlignmentsVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": alignments format version ", alignments.version(),
                     " is not supported by this fsc (reads up to ", kAlignmentsVersion, ")"));
  }
  if (alignments.version() != header_version) {
    return absl::DataLossError(absl::StrCat(name, ": the header says format ", header_version,
                                            " but the contents say ", alignments.version(),
                                            "; the file is corrupt"));
  }
  FSC_RETURN_IF_ERROR(ValidateAlignments(alignments, name));
  return alignments;
}

absl::StatusOr<proto::Alignments> ReadAlignments(const std::string& path) {
  FSC_ASSIGN_OR_RETURN(std::string contents, util::ReadFile(path));
  return ParseAlignments(contents, path);
}

std::string ResolveAlignmentsPath(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  const fs::path current = fs::path(path) / kAlignmentsFileName;
  if (fs::exists(current, ec)) return current.string();
  const fs::path legacy = fs::path(path) / kLegacyClusterName;
  if (fs::exists(legacy, ec)) return legacy.string();
  return current.string();
}

namespace {

nlohmann::json PointsJson(const google::protobuf::RepeatedPtrField<proto::Point>& points) {
  nlohmann::json out = nlohmann::json::array();
  for (const proto::Point& p : points) out.push_back({p.x(), p.y()});
  return out;
}

nlohmann::json FaceJson(const proto::Face& face) {
  nlohmann::json item = {
      {"box", {face.box().x(), face.box().y(), face.box().width(), face.box().height()}},
      {"score", face.score()},
      {"landmarks", PointsJson(face.landmarks())}};
  if (!face.face_file().empty()) item["file"] = face.face_file();
  if (face.transform().m_size() == 6) {
    item["transform"] =
        std::vector<double>(face.transform().m().begin(), face.transform().m().end());
  }
  if (face.identity_distance() > 0) item["identity_distance"] = face.identity_distance();
  item["track"] = face.track_id();
  if (face.filled()) item["filled"] = true;
  if (face.raw_landmarks_size() > 0) item["raw_landmarks"] = PointsJson(face.raw_landmarks());
  return item;
}

}  // namespace

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
  if (alignments.has_smoothing()) {
    const proto::Smoothing& smoothing = alignments.smoothing();
    root["smoothing"] = {{"strength", smoothing.strength()},
                         {"max_gap", smoothing.max_gap()},
                         {"tracks", smoothing.tracks()},
                         {"shot_cuts", smoothing.shot_cuts()},
                         {"faces_filled", smoothing.faces_filled()}};
  }
  json cuts = json::array();
  json frames = json::array();
  for (const proto::Frame& frame : alignments.frames()) {
    if (frame.shot_cut()) cuts.push_back(frame.index());
    if (frame.faces_size() == 0) continue;  // kept for its histogram only
    json faces = json::array();
    for (const proto::Face& face : frame.faces()) faces.push_back(FaceJson(face));
    json entry = {{"frame", frame.index()}, {"faces", faces}};
    if (!frame.name().empty()) entry["name"] = frame.name();
    frames.push_back(entry);
  }
  root["frames"] = frames;
  root["shot_cuts"] = cuts;
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
