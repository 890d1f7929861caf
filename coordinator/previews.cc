// The latest training preview per job: validation, storage and reading back.
#include "coordinator/previews.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/validation.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {

absl::Status ValidatePreview(const BlobStore& blobs, const proto::ReportProgressRequest& request) {
  if (!request.has_preview()) return absl::OkStatus();
  FSC_RETURN_IF_ERROR(ValidateFileEntry(request.preview(), "preview"));
  if (request.preview().size() > kMaxPreviewBytes) {
    return absl::InvalidArgumentError(absl::StrCat("preview: ", request.preview().size(),
                                                   " bytes is more than the ", kMaxPreviewBytes,
                                                   " a preview may have"));
  }
  if (request.preview_iteration() < 0) {
    return absl::InvalidArgumentError("preview_iteration: must not be negative");
  }
  absl::StatusOr<int64_t> size = blobs.Size(request.preview().sha256());
  if (!size.ok() || *size != request.preview().size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("preview: blob ", request.preview().sha256(),
                     " was not uploaded (UploadBlob it before reporting it)"));
  }
  return absl::OkStatus();
}

absl::Status RecordPreview(Store* store, const proto::ReportProgressRequest& request,
                           const proto::Task& task, int64_t now_ms) {
  if (!request.has_preview()) return absl::OkStatus();
  if (task.kind() != proto::TASK_TRAIN) {
    return absl::InvalidArgumentError(
        absl::StrCat("preview: task ", task.id(), " is not a train task"));
  }
  proto::JobPreview preview;
  preview.set_job_id(task.job_id());
  preview.set_task_id(task.id());
  preview.set_iteration(request.preview_iteration());
  *preview.mutable_png() = request.preview();
  preview.set_updated_unix_ms(now_ms);
  return store->PutPreview(preview);
}

absl::StatusOr<proto::GetPreviewResponse> LoadPreview(Store* store, const BlobStore& blobs,
                                                      const proto::Job& job) {
  bool trains = false;
  for (const proto::Task& task : job.tasks()) trains = trains || task.kind() == proto::TASK_TRAIN;
  if (!trains) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job.id(), " has no train stage, so it has no previews"));
  }
  proto::GetPreviewResponse response;
  response.set_job_state(job.state());
  FSC_ASSIGN_OR_RETURN(std::optional<proto::JobPreview> preview, store->GetPreview(job.id()));
  if (!preview) return response;
  std::string png;
  FSC_RETURN_IF_ERROR(blobs.Read(preview->png().sha256(), 1 << 20, [&](absl::string_view chunk) {
    png.append(chunk.data(), chunk.size());
    return true;
  }));
  response.set_available(true);
  *response.mutable_preview() = *std::move(preview);
  response.set_png(std::move(png));
  return response;
}

}  // namespace fsc::coordinator
