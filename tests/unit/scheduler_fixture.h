// A Scheduler over a real SQLite store and blob store in a fresh temp folder, with the helpers the
// coordinator's unit tests share: reopening the database (a restart), blobs, image datasets and
// registered workers. Subclasses set options_ before calling Open().
#ifndef FSC_TESTS_UNIT_SCHEDULER_FIXTURE_H_
#define FSC_TESTS_UNIT_SCHEDULER_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "coordinator/blob_store.h"
#include "coordinator/datasets.h"
#include "coordinator/scheduler.h"
#include "coordinator/store.h"
#include "coordinator/tokens.h"
#include "tests/test_paths.h"

namespace fsc::coordinator {

class SchedulerFixture : public ::testing::Test {
 protected:
  // A temp folder named after `name`, its blob store, and the scheduler with options_.
  void Open(const std::string& name) {
    dir_ = fsc::testing::MakeTempDir(name);
    blobs_ = BlobStore::Open(dir_ + "/data").value();
    Reopen();
  }

  // Open() with leases short enough for tests to see them expire (2 s, heartbeats every 200 ms),
  // two attempts per task and no log on stderr.
  void OpenWithShortLeases(const std::string& name) {
    options_.lease_ttl_ms = 2000;
    options_.heartbeat_ms = 200;
    options_.max_attempts = 2;
    options_.log_to_stderr = false;
    Open(name);
  }

  // A coordinator restart: the scheduler and store again over the same database.
  void Reopen() {
    scheduler_.reset();
    store_.reset();
    store_ = Store::Open(dir_ + "/fsc.db").value();
    scheduler_ = std::make_unique<Scheduler>(store_.get(), blobs_.get(), options_);
  }

  proto::FileEntry Blob(const std::string& path, const std::string& bytes) {
    proto::FileEntry file;
    file.set_path(path);
    file.set_size(static_cast<int64_t>(bytes.size()));
    file.set_sha256(blobs_->Put(bytes).value());
    return file;
  }

  // A dataset of `n` images of `owner` (frames = images; nothing is decoded to count them).
  std::string Images(const std::string& owner, int n, const std::string& tag = "") {
    proto::Dataset dataset;
    std::vector<proto::FileEntry> files;
    for (int i = 0; i < n; ++i) {
      files.push_back(Blob(absl::StrFormat("img_%03d.png", i), tag + "image " + std::to_string(i)));
      *dataset.add_files() = files.back();
    }
    dataset.set_id(DatasetId(files));
    dataset.set_owner(owner);
    dataset.set_name("images");
    dataset.set_created_unix_ms(absl::ToUnixMillis(absl::Now()));  // after its blobs, as uploads do
    EXPECT_TRUE(store_->PutDataset(dataset).ok());
    return dataset.id();
  }

  // A registered worker with `roles`; its id.
  std::string Worker(std::vector<proto::WorkerRole> roles, const std::string& name = "w") {
    proto::RegisterRequest request;
    request.set_name(name);
    for (proto::WorkerRole role : roles) request.add_roles(role);
    auto response = scheduler_->Register(request, NewToken("fscw_"));
    EXPECT_TRUE(response.ok()) << response.status();
    return response->worker_id();
  }

  std::string dir_;
  SchedulerOptions options_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace fsc::coordinator

#endif  // FSC_TESTS_UNIT_SCHEDULER_FIXTURE_H_
