// Hash-then-upload of client inputs, skipping what the coordinator already has.
#include "cli/datasets.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "cli/fsc_local.h"
#include "core/rpc/transfer.h"
#include "core/rpc/version.h"
#include "core/util/image_names.h"
#include "core/util/progress.h"
#include "core/util/status_macros.h"

namespace fsc::cli {
namespace fs = std::filesystem;
namespace {

// What the coordinator needs declared about a one-file video (it never decodes user media):
// nullopt for anything else (images, folders, files FFmpeg does not open as a video).
absl::StatusOr<std::optional<proto::MediaInfo>> DeclareMedia(
    const std::string& path, const std::vector<proto::FileEntry>& files) {
  if (files.size() != 1 || util::HasImageExtension(files[0].path())) {
    return std::optional<proto::MediaInfo>();
  }
  FSC_ASSIGN_OR_RETURN(std::optional<media::VideoFrames> video,
                       ProbeVideo(path, files[0].size() / rpc::kMinVideoBytesPerFrame));
  if (!video) return std::optional<proto::MediaInfo>();
  if (video->counted) {
    std::cerr << "dataset " << path << ": the container does not say how many frames it holds "
              << "(or says more than it can): counted " << video->frame_count << "\n";
  }
  proto::MediaInfo media;
  media.set_frame_count(video->frame_count);
  media.set_width(video->width);
  media.set_height(video->height);
  media.set_fps(video->fps);
  return std::optional<proto::MediaInfo>(media);
}

bool SameFiles(const proto::Dataset& dataset, const std::vector<proto::FileEntry>& files) {
  std::set<std::tuple<std::string, int64_t, std::string>> a, b;
  for (const proto::FileEntry& f : dataset.files()) a.insert({f.path(), f.size(), f.sha256()});
  for (const proto::FileEntry& f : files) b.insert({f.path(), f.size(), f.sha256()});
  return !a.empty() && a == b;
}

}  // namespace

absl::StatusOr<proto::ListDatasetsResponse> ListDatasets(const Client& client) {
  return Call(client, &proto::ClientService::Stub::ListDatasets, proto::ListDatasetsRequest(),
              "ListDatasets");
}

absl::StatusOr<EnsuredDataset> EnsureDataset(const Client& client, const std::string& path_or_id,
                                             const std::string& name) {
  std::error_code error;
  bool local = fs::exists(path_or_id, error);
  if (!local && !rpc::ValidateSha256(path_or_id).ok()) {
    return absl::NotFoundError(absl::StrCat("no such file or folder '", path_or_id,
                                            "' (nor is it a dataset id: 'fsc dataset list')"));
  }
  std::string id = path_or_id;
  std::vector<proto::FileEntry> files;
  std::optional<proto::MediaInfo> media;
  if (local) {
    auto listed = rpc::ListDataset(path_or_id);
    if (!listed.ok()) {
      return absl::Status(
          listed.status().code(),
          absl::StrCat("cannot read the input '", path_or_id, "': ", listed.status().message()));
    }
    files = *std::move(listed);
    id = rpc::DatasetId(files);
    absl::StatusOr<std::optional<proto::MediaInfo>> declared = DeclareMedia(path_or_id, files);
    if (!declared.ok()) return declared.status();
    media = *std::move(declared);
  }
  FSC_ASSIGN_OR_RETURN(proto::ListDatasetsResponse known, ListDatasets(client));
  for (const proto::Dataset& dataset : known.datasets()) {
    // The same id, or (for a local input) the same files: a match on the file list does not
    // depend on both sides spelling the id the same way.
    if (dataset.id() != id && !(local && SameFiles(dataset, files))) continue;
    // Uploaded before videos declared their frames: send it again with the declaration.
    if (media && !dataset.has_media()) break;
    std::cerr << "dataset " << (local ? path_or_id : dataset.name()) << ": already on the "
              << "coordinator as " << dataset.id().substr(0, 12) << " (" << dataset.files_size()
              << " files, " << HumanBytes(dataset.total_bytes()) << "), not uploaded again\n";
    return EnsuredDataset{dataset, false};
  }
  if (!local) {
    return absl::NotFoundError(
        absl::StrCat("no dataset ", id, " on the coordinator ('fsc dataset list' lists yours)"));
  }

  std::string label = name;
  if (label.empty()) {
    label = fs::path(path_or_id).lexically_normal().filename().string();
    if (label.empty())
      label = fs::path(path_or_id).lexically_normal().parent_path().filename().string();
  }
  int64_t total = 0;
  for (const proto::FileEntry& file : files) total += file.size();
  std::unique_ptr<util::Progress> bar;
  auto progress = [&](int64_t done, int64_t) {
    if (!bar)
      bar = std::make_unique<util::Progress>("upload " + label, (total + 1023) / 1024, "KB");
    bar->Update(done / 1024);
  };
  auto uploaded = rpc::UploadDataset(client.stub.get(), client.options.token, path_or_id, label,
                                     progress, media ? &*media : nullptr);
  if (bar) bar->Finish();
  if (!uploaded.ok()) {
    return RpcError(rpc::ToGrpc(uploaded.status()), "UploadDataset " + path_or_id, client.options);
  }
  if (!SameFiles(*uploaded, files)) {
    return absl::DataLossError(absl::StrCat("the coordinator stored ", path_or_id, " as dataset ",
                                            uploaded->id(), " with another file list than the ",
                                            "one sent: upload it again"));
  }
  id = uploaded->id();
  std::cerr << "dataset " << path_or_id << ": uploaded as " << id.substr(0, 12) << " ("
            << files.size() << " files, " << HumanBytes(total) << ")\n";
  return EnsuredDataset{*std::move(uploaded), true};
}

}  // namespace fsc::cli
