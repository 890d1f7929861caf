// Dataset listing and ids, path validation, and the chunked transfers against a small in-process
// gRPC server that speaks the same messages as the coordinator (so chunking, offsets and hash
// checks run over a real gRPC stream).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "core/rpc/channel.h"
#include "core/rpc/transfer.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"
#include "tests/test_paths.h"

namespace fsc::rpc {
namespace {
namespace fs = std::filesystem;

TEST(TransferPathTest, ValidatesRelativePaths) {
  for (const char* good : {"a", "faces/000001_0.png", "model/fsc_model.json", "a b/c-d_e.f"}) {
    EXPECT_TRUE(ValidateRelativePath(good).ok()) << good;
  }
  for (const char* bad :
       {"", "/etc/passwd", "../x", "a/../b", "a/./b", ".", "a//b", "a/", "a\\b", "a\nb"}) {
    EXPECT_EQ(ValidateRelativePath(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidateSha256(util::Sha256Hex("x")).ok());
  EXPECT_FALSE(ValidateSha256("ABC").ok());
  EXPECT_FALSE(ValidateSha256(std::string(64, 'G')).ok());
}

TEST(TransferListTest, ListsFilesAndFoldersSortedWithHashes) {
  std::string dir = testing::MakeTempDir("rpc_transfer_list");
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/tree/b.txt", "bee").ok());
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/tree/a/z.bin", std::string(3000000, 'z')).ok());
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/tree/a/empty", "").ok());
  auto files = ListDataset(dir + "/tree");
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].path(), "a/empty");
  EXPECT_EQ((*files)[1].path(), "a/z.bin");
  EXPECT_EQ((*files)[2].path(), "b.txt");
  EXPECT_EQ((*files)[1].size(), 3000000);
  EXPECT_EQ((*files)[2].sha256(), util::Sha256Hex("bee"));
  EXPECT_EQ((*files)[0].sha256(), util::Sha256Hex(""));

  auto single = ListDataset(dir + "/tree/b.txt");
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ((*single)[0].path(), "b.txt");

  EXPECT_EQ(ListDataset(dir + "/nope").status().code(), absl::StatusCode::kNotFound);
  fs::create_directories(dir + "/emptydir");
  EXPECT_EQ(ListDataset(dir + "/emptydir").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TransferListTest, CanonicalFormAndIdAreOrderIndependent) {
  proto::FileEntry a, b;
  a.set_path("b.png");
  a.set_size(3);
  a.set_sha256(util::Sha256Hex("abc"));
  b.set_path("a.png");
  b.set_size(0);
  b.set_sha256(util::Sha256Hex(""));
  std::string canonical = CanonicalFileList({a, b});
  EXPECT_EQ(canonical,
            "a.png\t0\t" + util::Sha256Hex("") + "\nb.png\t3\t" + util::Sha256Hex("abc") + "\n");
  EXPECT_EQ(DatasetId({a, b}), util::Sha256Hex(canonical));
  EXPECT_EQ(DatasetId({a, b}), DatasetId({b, a}));
  proto::FileEntry renamed = a;
  renamed.set_path("c.png");
  EXPECT_NE(DatasetId({renamed, b}), DatasetId({a, b}));

  EXPECT_TRUE(ValidateFileList({a, b}).ok());
  EXPECT_FALSE(ValidateFileList({a, a}).ok()) << "duplicate path";
  proto::FileEntry escape = a;
  escape.set_path("../a");
  EXPECT_FALSE(ValidateFileList({escape}).ok());
}

// Blobs in memory; `corrupt` makes FetchBlob send wrong bytes for one hash.
class BlobServer final : public proto::WorkerService::Service,
                         public proto::ClientService::Service {
 public:
  std::mutex mu;
  std::map<std::string, std::string> blobs;
  std::string corrupt;
  std::vector<proto::FileEntry> artifacts;  // served by DownloadArtifact, from `blobs`

  grpc::Status FetchBlob(grpc::ServerContext*, const proto::FetchBlobRequest* request,
                         grpc::ServerWriter<proto::BlobChunk>* writer) override {
    std::string data;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = blobs.find(request->sha256());
      if (it == blobs.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such blob");
      data = it->second;
      if (request->sha256() == corrupt) data[data.size() / 2] ^= 1;
    }
    for (size_t offset = 0; offset < data.size(); offset += kChunkBytes) {
      proto::BlobChunk chunk;
      chunk.set_data(data.substr(offset, kChunkBytes));
      writer->Write(chunk);
    }
    return grpc::Status::OK;
  }
  grpc::Status UploadBlob(grpc::ServerContext*, grpc::ServerReader<proto::BlobChunk>* reader,
                          proto::UploadBlobResponse* response) override {
    proto::BlobChunk chunk;
    std::string expected, data;
    while (reader->Read(&chunk)) {
      if (!chunk.sha256().empty()) expected = chunk.sha256();
      data += chunk.data();
    }
    if (util::Sha256Hex(data) != expected) {
      return grpc::Status(grpc::StatusCode::DATA_LOSS, "hash mismatch");
    }
    std::lock_guard<std::mutex> lock(mu);
    blobs[expected] = data;
    response->set_sha256(expected);
    response->set_size(static_cast<int64_t>(data.size()));
    return grpc::Status::OK;
  }
  grpc::Status UploadDataset(grpc::ServerContext*,
                             grpc::ServerReader<proto::UploadDatasetRequest>* reader,
                             proto::Dataset* dataset) override {
    proto::UploadDatasetRequest request;
    if (!reader->Read(&request) || !request.has_header()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "header first");
    }
    std::vector<proto::FileEntry> files(request.header().files().begin(),
                                        request.header().files().end());
    std::map<std::string, std::string> received;
    while (reader->Read(&request)) {
      const auto& chunk = request.chunk();
      std::string& data = received[chunk.path()];
      if (chunk.offset() != static_cast<int64_t>(data.size())) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad offset");
      }
      data += chunk.data();
    }
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& f : files) {
      if (util::Sha256Hex(received[f.path()]) != f.sha256()) {
        return grpc::Status(grpc::StatusCode::DATA_LOSS, "hash mismatch: " + f.path());
      }
      blobs[f.sha256()] = received[f.path()];
      *dataset->add_files() = f;
    }
    dataset->set_id(DatasetId(files));
    dataset->set_name(request.header().name());
    return grpc::Status::OK;
  }
  grpc::Status DownloadArtifact(grpc::ServerContext*, const proto::DownloadArtifactRequest*,
                                grpc::ServerWriter<proto::FileChunk>* writer) override {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& f : artifacts) {
      const std::string& data = blobs[f.sha256()];
      size_t offset = 0;
      do {
        proto::FileChunk chunk;
        chunk.set_path(f.path());
        chunk.set_offset(static_cast<int64_t>(offset));
        chunk.set_data(data.substr(offset, kChunkBytes));
        offset += chunk.data().size();
        chunk.set_last(offset >= data.size());
        writer->Write(chunk);
      } while (offset < data.size());
    }
    return grpc::Status::OK;
  }
};

class TransferStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("rpc_transfer_stream");
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(static_cast<proto::WorkerService::Service*>(&server_));
    builder.RegisterService(static_cast<proto::ClientService::Service*>(&server_));
    grpc_server_ = builder.BuildAndStart();
    ASSERT_GT(port, 0);
    ConnectOptions options;
    options.address = "127.0.0.1:" + std::to_string(port);
    options.insecure = true;
    auto channel = MakeChannel(options);
    ASSERT_TRUE(channel.ok());
    worker_ = proto::WorkerService::NewStub(*channel);
    client_ = proto::ClientService::NewStub(*channel);
  }
  void TearDown() override { grpc_server_->Shutdown(); }

  std::string dir_;
  BlobServer server_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<proto::WorkerService::Stub> worker_;
  std::unique_ptr<proto::ClientService::Stub> client_;
};

TEST_F(TransferStreamTest, BlobUploadFetchAndMaterialize) {
  std::string big(2500000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
  ASSERT_TRUE(util::WriteFileAtomically(dir_ + "/big.bin", big).ok());
  auto entry = UploadBlob(worker_.get(), "", dir_ + "/big.bin", "out/big.bin");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->sha256(), util::Sha256Hex(big));
  EXPECT_EQ(entry->size(), 2500000);
  EXPECT_EQ(entry->path(), "out/big.bin");

  BlobCache cache(dir_ + "/cache");
  EXPECT_FALSE(cache.Has(entry->sha256()));
  ASSERT_TRUE(cache.Fetch(worker_.get(), "", entry->sha256(), entry->size()).ok());
  EXPECT_TRUE(cache.Has(entry->sha256()));
  EXPECT_EQ(*util::ReadFile(cache.PathOf(entry->sha256())), big);
  // Cached: a second fetch does not need the server's copy.
  server_.blobs.clear();
  EXPECT_TRUE(cache.Fetch(worker_.get(), "", entry->sha256(), entry->size()).ok());
  ASSERT_TRUE(cache.Materialize(entry->sha256(), dir_ + "/task/input/big.bin").ok());
  EXPECT_EQ(*util::ReadFile(dir_ + "/task/input/big.bin"), big);
  // Missing on the server: NOT_FOUND, nothing cached.
  EXPECT_EQ(cache.Fetch(worker_.get(), "", util::Sha256Hex("absent")).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TransferStreamTest, CorruptedBlobIsRefusedAndNotCached) {
  std::string data(1500000, 'q');
  std::string sha = util::Sha256Hex(data);
  server_.blobs[sha] = data;
  server_.corrupt = sha;
  BlobCache cache(dir_ + "/cache");
  absl::Status status = cache.Fetch(worker_.get(), "", sha);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_FALSE(cache.Has(sha));
  server_.corrupt.clear();
  // Wrong expected size.
  EXPECT_EQ(cache.Fetch(worker_.get(), "", sha, 12).code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(cache.Has(sha));
  EXPECT_TRUE(cache.Fetch(worker_.get(), "", sha, 1500000).ok());
  // The only leftover in the cache is the blob itself (no temp files).
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ + "/cache")) {
    files += e.is_regular_file();
  }
  EXPECT_EQ(files, 1);
}

TEST_F(TransferStreamTest, DatasetUploadAndArtifactDownloadRoundTrip) {
  ASSERT_TRUE(util::WriteFileAtomically(dir_ + "/faces/a.png", std::string(1200000, 'a')).ok());
  ASSERT_TRUE(util::WriteFileAtomically(dir_ + "/faces/sub/b.png", "bbb").ok());
  ASSERT_TRUE(util::WriteFileAtomically(dir_ + "/faces/empty", "").ok());
  int64_t last_done = 0, last_total = 0;
  auto dataset = UploadDataset(client_.get(), "", dir_ + "/faces", "my faces",
                               [&](int64_t done, int64_t total) {
                                 last_done = done;
                                 last_total = total;
                               });
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  auto listed = ListDataset(dir_ + "/faces");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(dataset->id(), DatasetId(*listed));
  EXPECT_EQ(dataset->files_size(), 3);
  EXPECT_EQ(last_done, 1200003);
  EXPECT_EQ(last_total, 1200003);

  server_.artifacts = *listed;
  auto written = DownloadArtifacts(client_.get(), "", "job-1", "", dir_ + "/out", *listed);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->size(), 3u);
  EXPECT_EQ(*util::ReadFile(dir_ + "/out/a.png"), std::string(1200000, 'a'));
  EXPECT_EQ(*util::ReadFile(dir_ + "/out/sub/b.png"), "bbb");
  EXPECT_EQ(*util::ReadFile(dir_ + "/out/empty"), "");

  // The job's artifact list says something else about sub/b.png: refused; the files that did
  // check out are complete, the bad one is not there and no temporary is left behind.
  std::vector<proto::FileEntry> expected = *listed;
  ASSERT_EQ(expected[2].path(), "sub/b.png");
  expected[2].set_sha256(util::Sha256Hex("different"));
  auto refused = DownloadArtifacts(client_.get(), "", "job-1", "", dir_ + "/out2", expected);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("sub/b.png"), std::string::npos) << refused.status();
  EXPECT_EQ(*util::ReadFile(dir_ + "/out2/a.png"), std::string(1200000, 'a'));
  EXPECT_FALSE(fs::exists(dir_ + "/out2/sub/b.png"));
  for (const auto& entry : fs::recursive_directory_iterator(dir_ + "/out2")) {
    EXPECT_EQ(entry.path().filename().string().find(".part-"), std::string::npos) << entry.path();
  }

  // A server that sends an escaping path is refused before anything is written.
  proto::FileEntry evil = (*listed)[2];
  evil.set_path("../evil");
  server_.artifacts = {evil};
  auto escaped = DownloadArtifacts(client_.get(), "", "job-1", "", dir_ + "/out3");
  EXPECT_EQ(escaped.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ + "/evil"));
}

}  // namespace
}  // namespace fsc::rpc
