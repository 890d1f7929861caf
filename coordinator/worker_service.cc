// WorkerService handlers.
#include "coordinator/worker_service.h"

#include "absl/strings/str_cat.h"
#include "coordinator/tokens.h"
#include "coordinator/validation.h"
#include "core/rpc/version.h"
#include "core/util/limits.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

constexpr int64_t kFetchChunkBytes = 1 << 20;
constexpr int kMaxHeartbeatTasks = 10000;

grpc::Status Handle(const std::function<absl::Status()>& body) { return ToGrpcStatus(body()); }

}  // namespace

grpc::Status WorkerServiceImpl::Register(grpc::ServerContext* context,
                                         const proto::RegisterRequest* request,
                                         proto::RegisterResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string join_hash,
                         auth_->CheckJoinToken(*context, request->join_token()));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    if (request->version() < rpc::kOldestWorkerVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "worker version ", request->version(), " is older than this coordinator takes (",
          rpc::kOldestWorkerVersion, "): upgrade fsc-worker"));
    }
    std::string session = NewToken("fscw_");
    FSC_ASSIGN_OR_RETURN(*response, scheduler_->Register(*request, session, join_hash));
    return absl::OkStatus();
  });
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const proto::HeartbeatRequest* request,
                                          proto::HeartbeatResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string worker, auth_->Worker(*context, request->worker_id()));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    if (request->task_ids_size() > kMaxHeartbeatTasks) {
      return absl::InvalidArgumentError(
          absl::StrCat("task_ids: more than ", kMaxHeartbeatTasks, " tasks"));
    }
    std::vector<std::string> tasks;
    for (const std::string& id : request->task_ids()) {
      FSC_RETURN_IF_ERROR(ValidateId(id, "task_ids"));
      tasks.push_back(id);
    }
    FSC_ASSIGN_OR_RETURN(*response, scheduler_->Heartbeat(worker, tasks));
    return absl::OkStatus();
  });
}

grpc::Status WorkerServiceImpl::LeaseTask(grpc::ServerContext* context,
                                          const proto::LeaseTaskRequest* request,
                                          proto::LeaseTaskResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string worker, auth_->Worker(*context, request->worker_id()));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    if (request->wait_ms() < 0 || request->wait_ms() > util::kMaxLeaseWaitMs) {
      return absl::InvalidArgumentError(
          absl::StrCat("wait_ms: ", request->wait_ms(), " is outside 0..", util::kMaxLeaseWaitMs));
    }
    FSC_ASSIGN_OR_RETURN(std::optional<proto::Task> task,
                         scheduler_->LeaseTask(worker, request->wait_ms(),
                                               [context] { return context->IsCancelled(); }));
    if (task) *response->mutable_task() = std::move(*task);
    return absl::OkStatus();
  });
}

grpc::Status WorkerServiceImpl::ReportProgress(grpc::ServerContext* context,
                                               const proto::ReportProgressRequest* request,
                                               proto::ReportProgressResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_RETURN_IF_ERROR(auth_->Worker(*context, request->worker_id()).status());
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_ASSIGN_OR_RETURN(bool cancel, scheduler_->ReportProgress(*request));
    response->set_cancel(cancel);
    return absl::OkStatus();
  });
}

grpc::Status WorkerServiceImpl::CompleteTask(grpc::ServerContext* context,
                                             const proto::CompleteTaskRequest* request,
                                             proto::CompleteTaskResponse*) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string worker, auth_->Worker(*context, request->worker_id()));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    std::vector<proto::FileEntry> outputs(request->outputs().begin(), request->outputs().end());
    return scheduler_->CompleteTask(worker, request->task_id(), outputs);
  });
}

grpc::Status WorkerServiceImpl::FailTask(grpc::ServerContext* context,
                                         const proto::FailTaskRequest* request,
                                         proto::FailTaskResponse*) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string worker, auth_->Worker(*context, request->worker_id()));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    return scheduler_->FailTask(worker, request->task_id(), request->error(), request->retryable());
  });
}

grpc::Status WorkerServiceImpl::FetchBlob(grpc::ServerContext* context,
                                          const proto::FetchBlobRequest* request,
                                          grpc::ServerWriter<proto::BlobChunk>* writer) {
  return Handle([&]() -> absl::Status {
    FSC_RETURN_IF_ERROR(auth_->Worker(*context, "").status());
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_RETURN_IF_ERROR(ValidateSha256(request->sha256(), "sha256"));
    bool first = true;
    return blobs_->Read(request->sha256(), kFetchChunkBytes, [&](absl::string_view data) {
      proto::BlobChunk chunk;
      if (first) chunk.set_sha256(request->sha256());
      first = false;
      chunk.set_data(data.data(), data.size());
      return writer->Write(chunk);
    });
  });
}

grpc::Status WorkerServiceImpl::UploadBlob(grpc::ServerContext* context,
                                           grpc::ServerReader<proto::BlobChunk>* reader,
                                           proto::UploadBlobResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_RETURN_IF_ERROR(auth_->Worker(*context, "").status());
    proto::BlobChunk chunk;
    if (!reader->Read(&chunk)) return absl::InvalidArgumentError("the upload is empty");
    std::string expected = chunk.sha256();
    FSC_RETURN_IF_ERROR(ValidateSha256(expected, "the first chunk's sha256"));
    FSC_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, blobs_->NewWriter());
    while (true) {
      if (static_cast<int64_t>(chunk.data().size()) > kMaxChunkBytes) {
        return absl::InvalidArgumentError(absl::StrCat("chunk of ", chunk.data().size(),
                                                       " bytes; the limit is ", kMaxChunkBytes));
      }
      if (!chunk.sha256().empty() && chunk.sha256() != expected) {
        return absl::InvalidArgumentError("a later chunk names a different sha256");
      }
      if (writer->size() + static_cast<int64_t>(chunk.data().size()) > kMaxFileBytes) {
        return absl::InvalidArgumentError("the blob is larger than the file size limit");
      }
      FSC_RETURN_IF_ERROR(writer->Append(chunk.data()));
      if (!reader->Read(&chunk)) break;
    }
    if (context->IsCancelled()) return absl::CancelledError("the upload was cancelled");
    int64_t size = writer->size();
    FSC_ASSIGN_OR_RETURN(std::string sha, writer->Commit(expected, -1));
    response->set_sha256(sha);
    response->set_size(size);
    return absl::OkStatus();
  });
}

}  // namespace fsc::coordinator
