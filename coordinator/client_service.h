// ClientService: what users call through `fsc` (submit, list, get, cancel, stream events,
// upload datasets, download artifacts, cluster status). Every call is authenticated with a user
// token and version-checked; a user only ever sees their own jobs and datasets.
#ifndef FSC_COORDINATOR_CLIENT_SERVICE_H_
#define FSC_COORDINATOR_CLIENT_SERVICE_H_

#include "coordinator/auth.h"
#include "coordinator/blob_store.h"
#include "coordinator/scheduler.h"
#include "coordinator/store.h"
#include "proto/fsc.grpc.pb.h"

namespace fsc::coordinator {

class ClientServiceImpl final : public proto::ClientService::Service {
 public:
  ClientServiceImpl(Scheduler* scheduler, Store* store, const BlobStore* blobs, Authenticator* auth)
      : scheduler_(scheduler), store_(store), blobs_(blobs), auth_(auth) {}

  grpc::Status SubmitJob(grpc::ServerContext* context, const proto::SubmitJobRequest* request,
                         proto::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const proto::ListJobsRequest* request,
                        proto::ListJobsResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const proto::GetJobRequest* request,
                      proto::Job* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const proto::CancelJobRequest* request,
                         proto::Job* response) override;
  grpc::Status StreamJobEvents(grpc::ServerContext* context,
                               const proto::StreamJobEventsRequest* request,
                               grpc::ServerWriter<proto::JobEvent>* writer) override;
  grpc::Status UploadDataset(grpc::ServerContext* context,
                             grpc::ServerReader<proto::UploadDatasetRequest>* reader,
                             proto::Dataset* response) override;
  grpc::Status ListDatasets(grpc::ServerContext* context, const proto::ListDatasetsRequest* request,
                            proto::ListDatasetsResponse* response) override;
  grpc::Status DeleteDataset(grpc::ServerContext* context,
                             const proto::DeleteDatasetRequest* request,
                             proto::DeleteDatasetResponse* response) override;
  grpc::Status DownloadArtifact(grpc::ServerContext* context,
                                const proto::DownloadArtifactRequest* request,
                                grpc::ServerWriter<proto::FileChunk>* writer) override;
  grpc::Status ClusterStatus(grpc::ServerContext* context,
                             const proto::ClusterStatusRequest* request,
                             proto::ClusterStatusResponse* response) override;
  grpc::Status GetPreview(grpc::ServerContext* context, const proto::GetPreviewRequest* request,
                          proto::GetPreviewResponse* response) override;

 private:
  Scheduler* scheduler_;
  Store* store_;
  const BlobStore* blobs_;
  Authenticator* auth_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_CLIENT_SERVICE_H_
