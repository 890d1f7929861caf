// Checkpoint files: manifest JSON, tensor archives, atomic write, verified read.
#include "core/train/checkpoint.h"

#include <torch/version.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/util/file_io.h"
#include "core/util/json_fields.h"
#include "core/util/sha256.h"
#include "core/util/status_macros.h"

namespace fsc::train {
namespace {

namespace fs = std::filesystem;

constexpr char kSnapshotDir[] = "snapshots";

std::string IterationTag(int64_t iteration) { return absl::StrFormat("%06d", iteration); }

// The .pt files in `dir` and its state/ folder that `manifest` does not name (left by earlier
// checkpoints; snapshots hold their own links).
void RemoveStaleDataFiles(const std::string& dir, const CheckpointManifest& manifest) {
  for (const std::string& sub : {std::string(), std::string(util::kTrainingStateDir) + "/"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir + "/" + sub, ec)) {
      const std::string name = sub + entry.path().filename().string();
      if (!entry.is_regular_file() || !absl::EndsWith(name, ".pt")) continue;
      bool current = std::any_of(manifest.files.begin(), manifest.files.end(),
                                 [&](const auto& f) { return f.second.name == name; });
      if (!current) fs::remove(entry.path(), ec);
    }
  }
}

// Creates the folders a checkpoint's files go in.
absl::Status MakeFolders(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir + "/" + util::kTrainingStateDir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create model folder ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string CheckpointFileName(const std::string& role, int64_t iteration) {
  std::string name = absl::StrCat(role, "_", IterationTag(iteration), ".pt");
  return role == kWeightsRole ? name : absl::StrCat(util::kTrainingStateDir, "/", name);
}

NamedTensors ModuleTensors(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    out.emplace_back(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

absl::StatusOr<std::string> SerializeTensors(const NamedTensors& tensors) {
  try {
    torch::serialize::OutputArchive archive;
    size_t bytes = 1 << 16;  // the archive's own records
    for (const auto& [name, tensor] : tensors) {
      // Saved as plain (non-parameter) tensors on the CPU, detached from autograd.
      archive.write(name, tensor.detach().to(torch::kCPU), /*is_buffer=*/true);
      bytes += tensor.nbytes() + 1024;  // data, alignment padding and its zip record
    }
    // Appended to one string reserved up front: a stream would grow by doubling and copy the
    // whole (hundreds of MB, three times over) at the end.
    std::string out;
    out.reserve(bytes);
    archive.save_to([&out](const void* data, size_t n) {
      out.append(static_cast<const char*>(data), n);
      return n;
    });
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("serialising tensors: ", e.what()));
  }
}

absl::StatusOr<std::map<std::string, torch::Tensor>> ParseTensors(const std::string& bytes,
                                                                  const std::string& what) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data(), bytes.size());
    std::map<std::string, torch::Tensor> out;
    for (const std::string& key : archive.keys()) {
      torch::Tensor t;
      if (archive.try_read(key, t)) out[key] = t;
    }
    return out;
  } catch (const std::exception& e) {
    std::string message = e.what();
    message = message.substr(0, message.find('\n'));
    return absl::DataLossError(
        absl::StrCat(what, " is not a readable tensor archive (", message, ")"));
  }
}

absl::Status RestoreModule(torch::nn::Module& module,
                           const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& what) {
  NamedTensors targets = ModuleTensors(module);
  for (const auto& [name, target] : targets) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          what, " has no tensor \"", name, "\": it was written for another model or architecture"));
    }
    if (it->second.sizes() != target.sizes()) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": tensor \"", name, "\" has shape ", c10::str(it->second.sizes()),
                       " but this model's is ", c10::str(target.sizes()),
                       "; the checkpoint was written for another architecture"));
    }
  }
  if (tensors.size() != targets.size()) {
    for (const auto& [name, tensor] : tensors) {
      bool known = std::any_of(targets.begin(), targets.end(),
                               [&](const auto& t) { return t.first == name; });
      if (!known) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, " holds tensor \"", name,
                         "\" that this model lacks; it was written for another architecture"));
      }
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(tensors.at(name));
  return absl::OkStatus();
}

absl::StatusOr<CheckpointManifest> WriteCheckpoint(const std::string& dir,
                                                   CheckpointManifest manifest,
                                                   const std::map<std::string, std::string>& blobs,
                                                   const CheckpointWriteOptions& options) {
  FSC_RETURN_IF_ERROR(MakeFolders(dir));
  const std::string tag = IterationTag(manifest.iteration);
  manifest.format_version = kCheckpointFormatVersion;
  manifest.torch_version = TORCH_VERSION;
  manifest.files.clear();
  for (const auto& [role, bytes] : blobs) {
    CheckpointFile file{CheckpointFileName(role, manifest.iteration),
                        static_cast<int64_t>(bytes.size()), util::Sha256Hex(bytes)};
    FSC_RETURN_IF_ERROR(util::WriteFileAtomically(dir + "/" + file.name, bytes));
    manifest.files[role] = file;
  }
  const std::string manifest_text = ManifestToJson(manifest).dump(1) + "\n";
  // The commit point: from here on the new checkpoint is the current one.
  FSC_RETURN_IF_ERROR(util::WriteFileAtomically(dir + "/" + util::kManifestFile, manifest_text));
  RemoveStaleDataFiles(dir, manifest);

  if (options.snapshot && options.keep_snapshots > 0) {
    std::error_code ec;
    const std::string snapshots = dir + "/" + kSnapshotDir;
    const std::string final_dir = snapshots + "/iter_" + tag;
    const std::string temp_dir = snapshots + "/.tmp_iter_" + tag;
    fs::remove_all(temp_dir, ec);
    FSC_RETURN_IF_ERROR(MakeFolders(temp_dir));
    for (const auto& [role, file] : manifest.files) {
      std::error_code link_error;
      fs::create_hard_link(dir + "/" + file.name, temp_dir + "/" + file.name, link_error);
      if (link_error) {
        FSC_RETURN_IF_ERROR(util::WriteFileAtomically(temp_dir + "/" + file.name, blobs.at(role)));
      }
    }
    FSC_RETURN_IF_ERROR(
        util::WriteFileAtomically(temp_dir + "/" + util::kManifestFile, manifest_text));
    fs::remove_all(final_dir, ec);
    fs::rename(temp_dir, final_dir, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot move snapshot into ", final_dir, ": ", ec.message()));
    }
    std::vector<std::string> all = ListSnapshots(dir);
    for (size_t i = 0; i + options.keep_snapshots < all.size(); ++i) fs::remove_all(all[i], ec);
  }
  return manifest;
}

bool HasCheckpoint(const std::string& dir) {
  std::error_code ec;
  return fs::exists(dir + "/" + util::kManifestFile, ec);
}

absl::StatusOr<LoadedCheckpoint> ReadCheckpoint(const std::string& dir, CheckpointScope scope) {
  const std::string manifest_path = dir + "/" + util::kManifestFile;
  if (!HasCheckpoint(dir)) {
    return absl::NotFoundError(
        absl::StrCat("no training checkpoint in ", dir, " (", util::kManifestFile, " is missing)"));
  }
  FSC_ASSIGN_OR_RETURN(std::string text, util::ReadFile(manifest_path));
  nlohmann::json json = util::ParseOutsideJson(text);
  if (json.is_discarded()) {
    return absl::DataLossError(absl::StrCat(
        manifest_path, " is truncated or corrupted (not valid JSON); restore it from a snapshot ",
        "under ", dir, "/", kSnapshotDir, " or start a new model folder"));
  }
  LoadedCheckpoint loaded;
  loaded.dir = dir;
  FSC_ASSIGN_OR_RETURN(loaded.manifest, ManifestFromJson(json, manifest_path));
  if (loaded.manifest.files.count(kWeightsRole) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(manifest_path, " names no weights file"));
  }
  for (const auto& [role, file] : loaded.manifest.files) {
    if (scope == CheckpointScope::kWeights && role != kWeightsRole) continue;
    const std::string path = dir + "/" + file.name;
    std::error_code ec;
    if (role != kWeightsRole && util::IsTrainingStatePath(file.name) && !fs::exists(path, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, " holds the weights but not the training state (", file.name,
          "): it is a model to convert with, not one to resume training from; fetch the job's "
          "model with --with-state to resume it"));
    }
    absl::StatusOr<std::string> bytes = util::ReadFile(path);
    if (!bytes.ok()) {
      return absl::DataLossError(absl::StrCat("checkpoint file ", path, " (", role, ") named in ",
                                              manifest_path,
                                              " cannot be read: ", bytes.status().message()));
    }
    if (static_cast<int64_t>(bytes->size()) != file.bytes) {
      return absl::DataLossError(absl::StrCat("checkpoint file ", path,
                                              " is truncated: ", bytes->size(), " bytes where ",
                                              manifest_path, " records ", file.bytes));
    }
    if (util::Sha256Hex(*bytes) != file.sha256) {
      return absl::DataLossError(absl::StrCat("checkpoint file ", path,
                                              " is corrupted: its SHA-256 differs from the one in ",
                                              manifest_path));
    }
    loaded.blobs[role] = *std::move(bytes);
  }
  return loaded;
}

std::vector<std::string> ListSnapshots(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir + "/" + kSnapshotDir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && absl::StartsWith(name, "iter_")) out.push_back(entry.path());
  }
  // Zero-padded iteration numbers: shorter names are smaller numbers.
  std::sort(out.begin(), out.end(), [](const std::string& x, const std::string& y) {
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  });
  return out;
}

}  // namespace fsc::train
