// WorkerService: what fsc-worker calls. Register checks the cluster join token and hands out a
// session token; every other call is authenticated with that session token (and, with
// --tls-client-ca, a verified client certificate) and may only act for its own worker id.
#ifndef FSC_COORDINATOR_WORKER_SERVICE_H_
#define FSC_COORDINATOR_WORKER_SERVICE_H_

#include "coordinator/auth.h"
#include "coordinator/blob_store.h"
#include "coordinator/scheduler.h"
#include "proto/fsc.grpc.pb.h"

namespace fsc::coordinator {

class WorkerServiceImpl final : public proto::WorkerService::Service {
 public:
  WorkerServiceImpl(Scheduler* scheduler, const BlobStore* blobs, Authenticator* auth)
      : scheduler_(scheduler), blobs_(blobs), auth_(auth) {}

  grpc::Status Register(grpc::ServerContext* context, const proto::RegisterRequest* request,
                        proto::RegisterResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const proto::HeartbeatRequest* request,
                         proto::HeartbeatResponse* response) override;
  grpc::Status LeaseTask(grpc::ServerContext* context, const proto::LeaseTaskRequest* request,
                         proto::LeaseTaskResponse* response) override;
  grpc::Status ReportProgress(grpc::ServerContext* context,
                              const proto::ReportProgressRequest* request,
                              proto::ReportProgressResponse* response) override;
  grpc::Status CompleteTask(grpc::ServerContext* context, const proto::CompleteTaskRequest* request,
                            proto::CompleteTaskResponse* response) override;
  grpc::Status FailTask(grpc::ServerContext* context, const proto::FailTaskRequest* request,
                        proto::FailTaskResponse* response) override;
  grpc::Status FetchBlob(grpc::ServerContext* context, const proto::FetchBlobRequest* request,
                         grpc::ServerWriter<proto::BlobChunk>* writer) override;
  grpc::Status UploadBlob(grpc::ServerContext* context,
                          grpc::ServerReader<proto::BlobChunk>* reader,
                          proto::UploadBlobResponse* response) override;

 private:
  Scheduler* scheduler_;
  const BlobStore* blobs_;
  Authenticator* auth_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_WORKER_SERVICE_H_
