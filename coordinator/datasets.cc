// Dataset ids, upload reception and probing.
#include "coordinator/datasets.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "coordinator/validation.h"
#include "core/rpc/transfer.h"
#include "core/rpc/version.h"
#include "core/util/image_names.h"
#include "core/util/sha256.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {

std::string DatasetId(const std::vector<proto::FileEntry>& files) {
  // One definition for clients and coordinator: an upload is skipped when the ids agree.
  return rpc::DatasetId(files);
}

absl::Status ValidateDatasetHeader(const proto::DatasetHeader& header) {
  if (header.version() > rpc::kClusterProtoVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the dataset header has version ", header.version(),
                     " but this coordinator knows up to ", rpc::kClusterProtoVersion));
  }
  FSC_RETURN_IF_ERROR(ValidateName(header.name(), "header.name"));
  if (header.files_size() == 0) {
    return absl::InvalidArgumentError("header.files: a dataset needs at least one file");
  }
  if (header.files_size() > kMaxDatasetFiles) {
    return absl::InvalidArgumentError(absl::StrCat("header.files: ", header.files_size(),
                                                   " files; the limit is ", kMaxDatasetFiles));
  }
  std::set<std::string> paths;
  for (int i = 0; i < header.files_size(); ++i) {
    FSC_RETURN_IF_ERROR(ValidateFileEntry(header.files(i), absl::StrCat("header.files[", i, "]")));
    if (!paths.insert(header.files(i).path()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("header.files: '", header.files(i).path(), "' is listed twice"));
    }
  }
  // A path may not be both a file and a folder ("a" and "a/b").
  for (const std::string& path : paths) {
    auto it = paths.lower_bound(path + "/");
    if (it != paths.end() && it->compare(0, path.size() + 1, path + "/") == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("header.files: '", path, "' is both a file and a folder"));
    }
  }
  if (header.has_media()) {
    if (header.files_size() != 1 || util::HasImageExtension(header.files(0).path())) {
      return absl::InvalidArgumentError(
          "header.media: only a dataset of one video file declares media");
    }
    FSC_RETURN_IF_ERROR(ValidateMediaInfo(header.media(), header.files(0).size(), "header.media"));
  }
  return absl::OkStatus();
}

DatasetUpload::DatasetUpload(const proto::DatasetHeader& header, const BlobStore* blobs)
    : header_(header), blobs_(blobs), closed_(header.files_size(), false) {
  for (int i = 0; i < header.files_size(); ++i) index_[header.files(i).path()] = i;
}

DatasetUpload::~DatasetUpload() {
  for (const std::string& sha256 : pinned_) blobs_->Unpin(sha256);
}

absl::StatusOr<std::unique_ptr<DatasetUpload>> DatasetUpload::Start(
    const proto::DatasetHeader& header, const BlobStore* blobs) {
  FSC_RETURN_IF_ERROR(ValidateDatasetHeader(header));
  return std::unique_ptr<DatasetUpload>(new DatasetUpload(header, blobs));
}

absl::Status DatasetUpload::Add(const proto::FileChunk& chunk) {
  if (static_cast<int64_t>(chunk.data().size()) > kMaxChunkBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk of '", chunk.path(), "': ", chunk.data().size(),
                     " bytes; the limit is ", kMaxChunkBytes, " per chunk"));
  }
  auto found = index_.find(chunk.path());
  if (found == index_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk for '", chunk.path(), "', which the header does not list"));
  }
  int index = found->second;
  const proto::FileEntry& entry = header_.files(index);
  if (closed_[index]) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk for '", chunk.path(), "' after its last chunk"));
  }
  if (open_path_.empty()) {
    FSC_ASSIGN_OR_RETURN(writer_, blobs_->NewWriter());
    open_path_ = chunk.path();
  } else if (open_path_ != chunk.path()) {
    return absl::InvalidArgumentError(absl::StrCat("chunk for '", chunk.path(), "' while '",
                                                   open_path_,
                                                   "' is still open (send a file's chunks "
                                                   "together and end them with last=true)"));
  }
  if (chunk.offset() != writer_->size()) {
    return absl::InvalidArgumentError(absl::StrCat("chunk of '", chunk.path(), "' at offset ",
                                                   chunk.offset(), "; expected offset ",
                                                   writer_->size()));
  }
  if (writer_->size() + static_cast<int64_t>(chunk.data().size()) > entry.size()) {
    return absl::InvalidArgumentError(absl::StrCat("'", chunk.path(), "' is longer than the ",
                                                   entry.size(), " bytes the header says"));
  }
  FSC_RETURN_IF_ERROR(writer_->Append(chunk.data()));
  if (chunk.last()) {
    // Pinned before it is in place, so that no collection runs in between.
    blobs_->Pin(entry.sha256());
    pinned_.push_back(entry.sha256());
    absl::StatusOr<std::string> stored = writer_->Commit(entry.sha256(), entry.size());
    writer_.reset();
    open_path_.clear();
    if (!stored.ok()) {
      return absl::Status(stored.status().code(),
                          absl::StrCat("'", chunk.path(), "': ", stored.status().message()));
    }
    closed_[index] = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::Dataset> DatasetUpload::Finish(const std::string& owner, int64_t now_ms) {
  if (!open_path_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the upload ended inside '", open_path_, "' (no chunk with last=true)"));
  }
  proto::Dataset dataset;
  dataset.set_version(rpc::kClusterProtoVersion);
  std::vector<proto::FileEntry> files;
  int64_t total = 0;
  for (int i = 0; i < header_.files_size(); ++i) {
    const proto::FileEntry& entry = header_.files(i);
    if (!closed_[i]) {
      if (entry.size() != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("the upload ended without the bytes of '", entry.path(), "'"));
      }
      // An empty file needs no chunk; store its (empty) blob so it can be fetched.
      if (entry.sha256() != util::Sha256Hex("")) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", entry.path(), "' is empty but its sha256 is not the empty hash"));
      }
      blobs_->Pin(entry.sha256());
      pinned_.push_back(entry.sha256());
      FSC_RETURN_IF_ERROR(blobs_->Put("").status());
    }
    files.push_back(entry);
    total += entry.size();
    *dataset.add_files() = entry;
  }
  dataset.set_id(DatasetId(files));
  if (header_.has_media()) *dataset.mutable_media() = header_.media();
  dataset.set_name(header_.name());
  dataset.set_owner(owner);
  dataset.set_total_bytes(total);
  dataset.set_created_unix_ms(now_ms);
  return dataset;
}

absl::StatusOr<DatasetShape> DatasetShapeOf(const proto::Dataset& dataset) {
  DatasetShape shape;
  shape.file_count = dataset.files_size();
  if (dataset.files_size() == 1 && !util::HasImageExtension(dataset.files(0).path())) {
    const proto::FileEntry& file = dataset.files(0);
    if (!dataset.has_media()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", file.path(), "' is a video whose frame count was not declared when it was ",
          "uploaded (by an older fsc): upload it again with 'fsc dataset upload ", file.path(),
          "' or submit the file itself"));
    }
    FSC_RETURN_IF_ERROR(ValidateMediaInfo(dataset.media(), file.size(), "'" + file.path() + "'"));
    shape.is_video = true;
    shape.frame_count = dataset.media().frame_count();
    return shape;
  }
  for (const proto::FileEntry& file : dataset.files()) {
    if (util::HasImageExtension(file.path())) ++shape.frame_count;
  }
  return shape;
}

}  // namespace fsc::coordinator
