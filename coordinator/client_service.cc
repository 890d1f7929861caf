// ClientService handlers: authenticate, validate, delegate to the scheduler and stores.
#include "coordinator/client_service.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "coordinator/datasets.h"
#include "coordinator/previews.h"
#include "coordinator/validation.h"
#include "core/rpc/job_names.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

constexpr int64_t kDownloadChunkBytes = 1 << 20;
constexpr int kEventBatch = 500;

// Runs `body` and converts its status for the wire.
grpc::Status Handle(const std::function<absl::Status()>& body) { return ToGrpcStatus(body()); }

}  // namespace

grpc::Status ClientServiceImpl::SubmitJob(grpc::ServerContext* context,
                                          const proto::SubmitJobRequest* request,
                                          proto::Job* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_RETURN_IF_ERROR(CheckVersion(request->spec().version()));
    FSC_ASSIGN_OR_RETURN(*response, scheduler_->Submit(user, request->spec()));
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::ListJobs(grpc::ServerContext* context,
                                         const proto::ListJobsRequest* request,
                                         proto::ListJobsResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_ASSIGN_OR_RETURN(std::vector<proto::Job> jobs,
                         scheduler_->ListJobs(user, request->state(), request->limit()));
    for (proto::Job& job : jobs) *response->add_jobs() = std::move(job);
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::GetJob(grpc::ServerContext* context,
                                       const proto::GetJobRequest* request, proto::Job* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_ASSIGN_OR_RETURN(*response, scheduler_->GetJob(user, request->job_id()));
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::CancelJob(grpc::ServerContext* context,
                                          const proto::CancelJobRequest* request,
                                          proto::Job* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_ASSIGN_OR_RETURN(*response, scheduler_->Cancel(user, request->job_id()));
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::StreamJobEvents(grpc::ServerContext* context,
                                                const proto::StreamJobEventsRequest* request,
                                                grpc::ServerWriter<proto::JobEvent>* writer) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    if (request->after_sequence() < 0) {
      return absl::InvalidArgumentError("after_sequence: must not be negative");
    }
    // Ownership: GetJob refuses another user's job.
    FSC_RETURN_IF_ERROR(scheduler_->GetJob(user, request->job_id()).status());
    int64_t after = request->after_sequence();
    while (true) {
      bool done = false;
      FSC_ASSIGN_OR_RETURN(std::vector<proto::JobEvent> events,
                           scheduler_->Events(request->job_id(), after, kEventBatch,
                                              request->follow() ? 1000 : 0, &done));
      for (const proto::JobEvent& event : events) {
        if (!writer->Write(event)) return absl::CancelledError("the client went away");
        after = event.sequence();
      }
      if (static_cast<int>(events.size()) == kEventBatch) continue;  // more to replay
      if (!request->follow() || (done && events.empty())) return absl::OkStatus();
      if (context->IsCancelled()) return absl::CancelledError("the client went away");
      if (scheduler_->shutting_down()) {
        return absl::UnavailableError(
            "the coordinator is shutting down; resume the stream "
            "with after_sequence");
      }
    }
  });
}

grpc::Status ClientServiceImpl::UploadDataset(
    grpc::ServerContext* context, grpc::ServerReader<proto::UploadDatasetRequest>* reader,
    proto::Dataset* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    proto::UploadDatasetRequest message;
    if (!reader->Read(&message)) {
      return absl::InvalidArgumentError("the upload is empty; send the header first");
    }
    if (!message.has_header()) {
      return absl::InvalidArgumentError("the first message of an upload must be the header");
    }
    FSC_ASSIGN_OR_RETURN(std::unique_ptr<DatasetUpload> upload,
                         DatasetUpload::Start(message.header(), blobs_));
    // Refused before any byte moves; counted until the record is stored.
    FSC_ASSIGN_OR_RETURN(std::unique_ptr<Scheduler::UploadReservation> reservation,
                         scheduler_->ReserveUpload(user, message.header()));
    while (reader->Read(&message)) {
      if (!message.has_chunk()) {
        return absl::InvalidArgumentError("only one header per upload; then file chunks");
      }
      FSC_RETURN_IF_ERROR(upload->Add(message.chunk()));
    }
    if (context->IsCancelled()) return absl::CancelledError("the upload was cancelled");
    FSC_ASSIGN_OR_RETURN(proto::Dataset dataset, upload->Finish(user, Scheduler::NowMs()));
    FSC_RETURN_IF_ERROR(store_->PutDataset(dataset));
    FSC_ASSIGN_OR_RETURN(std::optional<proto::Dataset> stored,
                         store_->GetDataset(user, dataset.id()));
    *response = stored ? *stored : dataset;
    std::cerr << "fsc-coordinator: dataset " << dataset.id() << " ('" << dataset.name() << "', "
              << dataset.files_size() << " files, " << dataset.total_bytes()
              << " bytes) uploaded by " << user << "\n";
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::ListDatasets(grpc::ServerContext* context,
                                             const proto::ListDatasetsRequest* request,
                                             proto::ListDatasetsResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_ASSIGN_OR_RETURN(std::vector<proto::Dataset> datasets, store_->ListDatasets(user));
    for (proto::Dataset& dataset : datasets) *response->add_datasets() = std::move(dataset);
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::DeleteDataset(grpc::ServerContext* context,
                                              const proto::DeleteDatasetRequest* request,
                                              proto::DeleteDatasetResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_ASSIGN_OR_RETURN(*response, scheduler_->DeleteDataset(user, request->dataset_id()));
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::DownloadArtifact(grpc::ServerContext* context,
                                                 const proto::DownloadArtifactRequest* request,
                                                 grpc::ServerWriter<proto::FileChunk>* writer) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    if (!request->path().empty()) FSC_RETURN_IF_ERROR(ValidatePath(request->path(), "path"));
    FSC_ASSIGN_OR_RETURN(proto::Job job, scheduler_->GetJob(user, request->job_id()));
    std::vector<proto::FileEntry> wanted;
    for (const proto::FileEntry& file : job.artifacts()) {
      if (request->path().empty() || file.path() == request->path()) wanted.push_back(file);
    }
    if (wanted.empty()) {
      if (!request->path().empty()) {
        return absl::NotFoundError(
            absl::StrCat("job ", job.id(), " has no artifact '", request->path(), "'"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job.id(), " has no artifacts yet (state ", rpc::JobStateName(job.state()), ")"));
    }
    for (const proto::FileEntry& file : wanted) {
      int64_t offset = 0;
      int64_t size = file.size();
      FSC_RETURN_IF_ERROR(
          blobs_->Read(file.sha256(), kDownloadChunkBytes, [&](absl::string_view data) {
            proto::FileChunk chunk;
            chunk.set_path(file.path());
            chunk.set_offset(offset);
            chunk.set_data(data.data(), data.size());
            offset += static_cast<int64_t>(data.size());
            chunk.set_last(offset >= size);
            return writer->Write(chunk);
          }));
    }
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::ClusterStatus(grpc::ServerContext* context,
                                              const proto::ClusterStatusRequest* request,
                                              proto::ClusterStatusResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_ASSIGN_OR_RETURN(*response, scheduler_->ClusterStatus(user));
    return absl::OkStatus();
  });
}

grpc::Status ClientServiceImpl::GetPreview(grpc::ServerContext* context,
                                           const proto::GetPreviewRequest* request,
                                           proto::GetPreviewResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string user, auth_->User(*context));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    // Ownership: GetJob refuses another user's job.
    FSC_ASSIGN_OR_RETURN(proto::Job job, scheduler_->GetJob(user, request->job_id()));
    FSC_ASSIGN_OR_RETURN(*response, LoadPreview(store_, *blobs_, job));
    return absl::OkStatus();
  });
}

}  // namespace fsc::coordinator
