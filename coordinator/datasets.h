// Datasets: content-addressed file lists uploaded by users (a video, an image, a faces folder,
// a model folder). This module owns
//   - the dataset id: sha256 of the canonical file list (files sorted by path, one line
//     "<sha256> <size> <path>\n" each), so the same content uploaded twice has the same id;
//   - DatasetUpload: the receiving side of ClientService.UploadDataset (header, then each file's
//     chunks in order), validating every step and storing each file as a blob;
//   - DatasetShapeOf: what the planner needs to know (a video and its frame count, or images),
//     from the file list and the uploader's declaration alone: the coordinator never opens user
//     media (a malformed or huge upload cannot stall or crash it).
#ifndef FSC_COORDINATOR_DATASETS_H_
#define FSC_COORDINATOR_DATASETS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/blob_store.h"
#include "coordinator/planner.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

// The dataset id, exactly as core/rpc/transfer.h defines it for the clients.
std::string DatasetId(const std::vector<proto::FileEntry>& files);

// Version, name, file count (1..kMaxDatasetFiles), every entry valid, no duplicate paths, no
// path that is also a folder of another path, and declared media only for one non-image file
// (checked against its size: ValidateMediaInfo).
absl::Status ValidateDatasetHeader(const proto::DatasetHeader& header);

// The blobs it stores stay pinned (BlobStore::Pin) while it lives, so keep it until the dataset's
// record is stored.
class DatasetUpload {
 public:
  ~DatasetUpload();
  // Validates the header; the upload then expects each file's chunks.
  static absl::StatusOr<std::unique_ptr<DatasetUpload>> Start(const proto::DatasetHeader& header,
                                                              const BlobStore* blobs);
  // One chunk: its path must be a header file not yet closed, its offset the bytes received for
  // that file so far, its data at most kMaxChunkBytes, and only one file may be open at a time.
  // `last` closes the file and checks its size and sha256.
  absl::Status Add(const proto::FileChunk& chunk);
  // Every file must have been received (empty files may be omitted). Returns the dataset with
  // its id, files in header order, total size, declared media, `owner` and `now_ms`.
  absl::StatusOr<proto::Dataset> Finish(const std::string& owner, int64_t now_ms);

 private:
  DatasetUpload(const proto::DatasetHeader& header, const BlobStore* blobs);

  proto::DatasetHeader header_;
  const BlobStore* blobs_;
  std::map<std::string, int> index_;  // path -> header index
  std::vector<bool> closed_;
  std::string open_path_;
  std::unique_ptr<BlobWriter> writer_;
  std::vector<std::string> pinned_;
};

// A video (one file without an image extension) and the frame count its uploader declared, or
// images and how many there are. INVALID_ARGUMENT for a video without a declaration (uploaded by
// an older client) or with one its size cannot hold.
absl::StatusOr<DatasetShape> DatasetShapeOf(const proto::Dataset& dataset);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_DATASETS_H_
