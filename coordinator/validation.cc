// Request validation: paths, hashes, ids, names and job specs.
#include "coordinator/validation.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/rpc/job_names.h"
#include "core/rpc/option_schema.h"
#include "core/rpc/transfer.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

absl::Status Invalid(const std::string& what, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", problem));
}

absl::Status InRange(int64_t value, int64_t low, int64_t high, const std::string& what) {
  if (value < low || value > high) {
    return Invalid(what, absl::StrCat(value, " is outside ", low, "..", high));
  }
  return absl::OkStatus();
}

absl::Status Needs(const std::string& id, const std::string& field, const std::string& kind) {
  if (id.empty()) return Invalid(field, absl::StrCat("a ", kind, " job needs this dataset id"));
  return ValidateId(id, field);
}

absl::Status Forbids(const std::string& id, const std::string& field, const std::string& kind) {
  if (!id.empty()) return Invalid(field, absl::StrCat("a ", kind, " job does not take it"));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePath(const std::string& path, const std::string& what) {
  if (path.empty()) return Invalid(what, "the path is empty");
  if (path.size() > static_cast<size_t>(kMaxPathBytes)) {
    return Invalid(what, absl::StrCat("the path is longer than ", kMaxPathBytes, " bytes"));
  }
  for (char c : path) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Invalid(what, "the path contains a NUL or control character");
    }
    if (c == '\\') return Invalid(what, absl::StrCat("'", path, "' contains a backslash"));
  }
  if (path[0] == '/') {
    return Invalid(what, absl::StrCat("'", path, "' is absolute; paths must be relative"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty()) return Invalid(what, absl::StrCat("'", path, "' has an empty component"));
    if (part == "." || part == "..") {
      return Invalid(what, absl::StrCat("'", path, "' contains '", part,
                                        "'; paths must stay inside the dataset"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSha256(const std::string& hex, const std::string& what) {
  if (hex.size() != 64) return Invalid(what, "a sha256 must be 64 lowercase hex digits");
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Invalid(what, "a sha256 must be 64 lowercase hex digits");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFileEntry(const proto::FileEntry& file, const std::string& what) {
  FSC_RETURN_IF_ERROR(ValidatePath(file.path(), what));
  FSC_RETURN_IF_ERROR(InRange(file.size(), 0, kMaxFileBytes, what + " size"));
  return ValidateSha256(file.sha256(), absl::StrCat(what, " '", file.path(), "'"));
}

absl::Status ValidateId(const std::string& id, const std::string& what) {
  if (id.empty() || id.size() > 64) return Invalid(what, "an id has 1 to 64 characters");
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_';
    if (!ok) return Invalid(what, "an id has only letters, digits, '-' and '_'");
  }
  return absl::OkStatus();
}

absl::Status ValidateName(const std::string& name, const std::string& what) {
  if (name.size() > static_cast<size_t>(kMaxNameBytes)) {
    return Invalid(what, absl::StrCat("longer than ", kMaxNameBytes, " bytes"));
  }
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Invalid(what, "contains a NUL or control character");
  }
  return absl::OkStatus();
}

absl::Status ValidateMediaInfo(const proto::MediaInfo& media, int64_t file_bytes,
                               const std::string& what) {
  if (media.frame_count() < 1) {
    return Invalid(what + ".frame_count", "a video needs at least one frame");
  }
  const int64_t most = file_bytes / rpc::kMinVideoBytesPerFrame;
  if (media.frame_count() > most) {
    return Invalid(what + ".frame_count",
                   absl::StrCat(media.frame_count(), " frames cannot fit in ", file_bytes,
                                " bytes (at most ", most, "); the video's header is wrong or ",
                                "damaged: 'fsc submit' and 'fsc dataset upload' count its frames"));
  }
  FSC_RETURN_IF_ERROR(InRange(media.width(), 0, kMaxVideoSide, what + ".width"));
  FSC_RETURN_IF_ERROR(InRange(media.height(), 0, kMaxVideoSide, what + ".height"));
  if (!(media.fps() >= 0.0 && media.fps() <= kMaxVideoFps)) {
    return Invalid(what + ".fps", absl::StrCat("must be within 0..", kMaxVideoFps));
  }
  return absl::OkStatus();
}

absl::Status ValidateJobSpec(const proto::JobSpec& spec) {
  if (!proto::JobKind_IsValid(spec.kind()) || spec.kind() == proto::JOB_KIND_UNSPECIFIED) {
    return Invalid("spec.kind", absl::StrCat(int{spec.kind()},
                                             " is not a job kind (extract, convert, train, swap)"));
  }
  FSC_RETURN_IF_ERROR(ValidateName(spec.name(), "spec.name"));
  FSC_RETURN_IF_ERROR(InRange(spec.priority(), 0, 9, "spec.priority"));
  FSC_RETURN_IF_ERROR(InRange(spec.frames_per_task(), 0, 1000000, "spec.frames_per_task"));
  FSC_RETURN_IF_ERROR(InRange(spec.max_attempts(), 0, kMaxAttemptsLimit, "spec.max_attempts"));

  FSC_RETURN_IF_ERROR(rpc::ValidateOptions(spec.extract(), "spec.extract"));

  const proto::TrainOptions& train = spec.train();
  FSC_RETURN_IF_ERROR(rpc::ValidateOptions(train, "spec.train"));
  FSC_RETURN_IF_ERROR(ValidateName(train.loss(), "spec.train.loss"));
  if (train.max_ranks() != 0 && train.max_ranks() < train.ranks()) {
    return Invalid("spec.train.max_ranks",
                   absl::StrCat("is ", train.max_ranks(), ", below spec.train.ranks (",
                                train.ranks(), "); use 0 for 'the same as ranks'"));
  }

  FSC_RETURN_IF_ERROR(rpc::ValidateOptions(spec.convert(), "spec.convert"));
  FSC_RETURN_IF_ERROR(ValidateName(spec.convert().codec(), "spec.convert.codec"));

  // Messages name the kind as the CLI spells it ("a swap job needs this dataset id").
  const std::string kind = rpc::JobKindName(spec.kind());
  switch (spec.kind()) {
    case proto::JOB_EXTRACT:
      FSC_RETURN_IF_ERROR(Needs(spec.input_dataset(), "spec.input_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.input_b_dataset(), "spec.input_b_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.faces_a_dataset(), "spec.faces_a_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.faces_b_dataset(), "spec.faces_b_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.model_dataset(), "spec.model_dataset", kind));
      return Forbids(spec.alignments_dataset(), "spec.alignments_dataset", kind);
    case proto::JOB_CONVERT:
      FSC_RETURN_IF_ERROR(Needs(spec.input_dataset(), "spec.input_dataset", kind));
      FSC_RETURN_IF_ERROR(Needs(spec.model_dataset(), "spec.model_dataset", kind));
      if (!spec.alignments_dataset().empty()) {
        FSC_RETURN_IF_ERROR(ValidateId(spec.alignments_dataset(), "spec.alignments_dataset"));
      }
      FSC_RETURN_IF_ERROR(Forbids(spec.input_b_dataset(), "spec.input_b_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.faces_a_dataset(), "spec.faces_a_dataset", kind));
      return Forbids(spec.faces_b_dataset(), "spec.faces_b_dataset", kind);
    case proto::JOB_TRAIN:
      FSC_RETURN_IF_ERROR(Needs(spec.faces_a_dataset(), "spec.faces_a_dataset", kind));
      FSC_RETURN_IF_ERROR(Needs(spec.faces_b_dataset(), "spec.faces_b_dataset", kind));
      if (!spec.model_dataset().empty()) {
        FSC_RETURN_IF_ERROR(ValidateId(spec.model_dataset(), "spec.model_dataset"));
      }
      FSC_RETURN_IF_ERROR(Forbids(spec.input_dataset(), "spec.input_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.input_b_dataset(), "spec.input_b_dataset", kind));
      return Forbids(spec.alignments_dataset(), "spec.alignments_dataset", kind);
    case proto::JOB_SWAP:
      FSC_RETURN_IF_ERROR(Needs(spec.input_dataset(), "spec.input_dataset", kind));
      FSC_RETURN_IF_ERROR(Needs(spec.input_b_dataset(), "spec.input_b_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.faces_a_dataset(), "spec.faces_a_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.faces_b_dataset(), "spec.faces_b_dataset", kind));
      FSC_RETURN_IF_ERROR(Forbids(spec.model_dataset(), "spec.model_dataset", kind));
      return Forbids(spec.alignments_dataset(), "spec.alignments_dataset", kind);
    default:
      return Invalid("spec.kind", "unknown job kind");
  }
}

}  // namespace fsc::coordinator
