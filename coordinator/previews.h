// Training previews: a train task's worker uploads its Trainer's preview.png as a blob and names
// it in ReportProgressRequest.preview; the coordinator keeps the latest one per job in the store
// (so it survives a restart) and serves it to the job's owner (ClientService.GetPreview, used by
// `fsc preview`). Older previews' blobs stay in the blob store like any other upload.
#ifndef FSC_COORDINATOR_PREVIEWS_H_
#define FSC_COORDINATOR_PREVIEWS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/blob_store.h"
#include "coordinator/store.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

// Largest preview served inline in GetPreviewResponse (a preview grid is far smaller).
inline constexpr int64_t kMaxPreviewBytes = 8 << 20;

// Checks the preview of a progress report, if it has one: a valid entry whose blob was uploaded
// with that size, small enough to serve, and a non-negative iteration. INVALID_ARGUMENT or
// FAILED_PRECONDITION (blob missing) otherwise.
absl::Status ValidatePreview(const BlobStore& blobs, const proto::ReportProgressRequest& request);

// Stores the report's preview (if any) as the latest of `task`'s job; call inside the
// transaction that accepted the report. Only train tasks may report previews.
absl::Status RecordPreview(Store* store, const proto::ReportProgressRequest& request,
                           const proto::Task& task, int64_t now_ms);

// The GetPreview answer for `job` (already checked to belong to the caller): FAILED_PRECONDITION
// when the job has no train stage, available = false when it has not reported a preview yet.
absl::StatusOr<proto::GetPreviewResponse> LoadPreview(Store* store, const BlobStore& blobs,
                                                      const proto::Job& job);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_PREVIEWS_H_
