// Dataset reception and request validation: the dataset id is content-addressed and order-free,
// uploads are checked chunk by chunk (order, offsets, sizes, hashes, one open file at a time,
// the 4 MiB chunk limit) and store only verified blobs; paths, hashes, ids and specs are refused
// with INVALID_ARGUMENT.
#include <gtest/gtest.h>

#include "coordinator/datasets.h"
#include "coordinator/scheduler.h"
#include "coordinator/validation.h"
#include "core/rpc/transfer.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"
#include "tests/test_paths.h"

namespace fsc::coordinator {
namespace {

proto::FileEntry Entry(const std::string& path, const std::string& bytes) {
  proto::FileEntry file;
  file.set_path(path);
  file.set_size(static_cast<int64_t>(bytes.size()));
  file.set_sha256(util::Sha256Hex(bytes));
  return file;
}

proto::FileChunk Chunk(const std::string& path, int64_t offset, const std::string& data,
                       bool last) {
  proto::FileChunk chunk;
  chunk.set_path(path);
  chunk.set_offset(offset);
  chunk.set_data(data);
  chunk.set_last(last);
  return chunk;
}

class DatasetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blobs_ = BlobStore::Open(fsc::testing::MakeTempDir("coordinator_datasets")).value();
  }
  std::unique_ptr<DatasetUpload> Start(const std::vector<proto::FileEntry>& files) {
    proto::DatasetHeader header;
    header.set_version(1);
    header.set_name("faces");
    for (const proto::FileEntry& file : files) *header.add_files() = file;
    auto upload = DatasetUpload::Start(header, blobs_.get());
    EXPECT_TRUE(upload.ok()) << upload.status();
    return std::move(upload).value();
  }
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(DatasetsTest, IdIsContentAddressedAndIndependentOfOrder) {
  proto::FileEntry a = Entry("a.png", "aaa"), b = Entry("b/c.png", "bc");
  EXPECT_EQ(DatasetId({a, b}), DatasetId({b, a}));
  EXPECT_NE(DatasetId({a, b}), DatasetId({a}));
  proto::FileEntry renamed = a;
  renamed.set_path("z.png");
  EXPECT_NE(DatasetId({a, b}), DatasetId({renamed, b}));
  // The clients compute the same id (core/rpc/transfer.h), so re-uploads are skipped.
  EXPECT_EQ(DatasetId({a, b}), rpc::DatasetId({b, a}));
}

TEST_F(DatasetsTest, UploadStoresVerifiedBlobs) {
  std::string big(3000, 'q');
  auto upload = Start({Entry("one.png", "hello"), Entry("dir/two.png", big), Entry("empty", "")});
  ASSERT_TRUE(upload->Add(Chunk("one.png", 0, "hel", false)).ok());
  ASSERT_TRUE(upload->Add(Chunk("one.png", 3, "lo", true)).ok());
  ASSERT_TRUE(upload->Add(Chunk("dir/two.png", 0, big.substr(0, 1000), false)).ok());
  ASSERT_TRUE(upload->Add(Chunk("dir/two.png", 1000, big.substr(1000), true)).ok());
  // The empty file needs no chunk.
  auto dataset = upload->Finish("alice", 42);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->owner(), "alice");
  EXPECT_EQ(dataset->total_bytes(), 5 + 3000);
  EXPECT_EQ(dataset->files_size(), 3);
  EXPECT_EQ(dataset->id(), DatasetId({dataset->files().begin(), dataset->files().end()}));
  EXPECT_TRUE(blobs_->Has(util::Sha256Hex("hello")));
  EXPECT_TRUE(blobs_->Has(util::Sha256Hex(big)));
  EXPECT_TRUE(blobs_->Has(util::Sha256Hex("")));
  std::string read;
  ASSERT_TRUE(blobs_
                  ->Read(util::Sha256Hex(big), 512,
                         [&](absl::string_view data) {
                           read.append(data.data(), data.size());
                           return true;
                         })
                  .ok());
  EXPECT_EQ(read, big);
}

TEST_F(DatasetsTest, UploadRefusesMisorderedOrCorruptChunks) {
  auto upload = Start({Entry("a.png", "hello"), Entry("b.png", "world")});
  EXPECT_FALSE(upload->Add(Chunk("c.png", 0, "x", true)).ok());    // not in the header
  EXPECT_FALSE(upload->Add(Chunk("a.png", 2, "llo", true)).ok());  // wrong offset
  ASSERT_TRUE(upload->Add(Chunk("a.png", 0, "he", false)).ok());
  EXPECT_FALSE(upload->Add(Chunk("b.png", 0, "world", true)).ok());  // a.png is still open
  EXPECT_FALSE(upload->Add(Chunk("a.png", 2, "llo!!", true)).ok());  // longer than declared

  auto corrupt = Start({Entry("a.png", "hello")});
  absl::Status status = corrupt->Add(Chunk("a.png", 0, "HELLO", true));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("hash"), std::string::npos) << status;
  EXPECT_FALSE(blobs_->Has(util::Sha256Hex("HELLO")));

  auto closed = Start({Entry("a.png", "hi")});
  ASSERT_TRUE(closed->Add(Chunk("a.png", 0, "hi", true)).ok());
  EXPECT_FALSE(closed->Add(Chunk("a.png", 2, "", true)).ok());  // after its last chunk

  auto oversized = Start({Entry("big.png", std::string(kMaxChunkBytes + 1, 'x'))});
  EXPECT_EQ(oversized->Add(Chunk("big.png", 0, std::string(kMaxChunkBytes + 1, 'x'), true)).code(),
            absl::StatusCode::kInvalidArgument);

  auto unfinished = Start({Entry("a.png", "hello")});
  ASSERT_TRUE(unfinished->Add(Chunk("a.png", 0, "he", false)).ok());
  EXPECT_FALSE(unfinished->Finish("alice", 0).ok());
  auto missing = Start({Entry("a.png", "hello")});
  EXPECT_FALSE(missing->Finish("alice", 0).ok());
}

TEST_F(DatasetsTest, ShapeComesFromTheDeclarationNotTheBytes) {
  // The coordinator never opens the video: the blob need not even be stored.
  proto::Dataset video;
  *video.add_files() = Entry("Megamind.avi", std::string(1189270, 'x'));
  absl::Status undeclared = DatasetShapeOf(video).status();
  EXPECT_EQ(undeclared.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(undeclared.message().find("upload it again"), std::string::npos) << undeclared;

  video.mutable_media()->set_frame_count(270);
  absl::StatusOr<DatasetShape> shape = DatasetShapeOf(video);
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_TRUE(shape->is_video);
  EXPECT_EQ(shape->frame_count, 270);

  // The forged header of issue 18: 2^31-1 frames in 1.2 MB.
  video.mutable_media()->set_frame_count(2147483647);
  absl::Status forged = DatasetShapeOf(video).status();
  EXPECT_EQ(forged.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(forged.message().find("cannot fit in 1189270 bytes"), std::string::npos) << forged;

  proto::Dataset images;
  for (const char* name : {"b.jpg", "a.png", "notes.txt"}) *images.add_files() = Entry(name, name);
  shape = DatasetShapeOf(images);
  ASSERT_TRUE(shape.ok());
  EXPECT_FALSE(shape->is_video);
  EXPECT_EQ(shape->frame_count, 2);
}

TEST_F(DatasetsTest, DeclaredMediaIsCheckedAtTheHeaderAndStored) {
  proto::DatasetHeader header;
  header.set_version(1);
  header.set_name("clip");
  *header.add_files() = Entry("clip.mp4", std::string(4000, 'v'));
  header.mutable_media()->set_frame_count(1001);  // more than 4000 bytes can hold
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);
  header.mutable_media()->set_frame_count(0);
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);
  header.mutable_media()->set_frame_count(1000);
  header.mutable_media()->set_width(100000);
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);
  header.mutable_media()->set_width(640);
  header.mutable_media()->set_fps(-1);
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);
  header.mutable_media()->set_fps(25);
  EXPECT_TRUE(ValidateDatasetHeader(header).ok());
  // Only a one-file video declares media.
  proto::DatasetHeader images = header;
  images.mutable_files(0)->set_path("a.png");
  EXPECT_EQ(ValidateDatasetHeader(images).code(), absl::StatusCode::kInvalidArgument);

  auto upload = DatasetUpload::Start(header, blobs_.get());
  ASSERT_TRUE(upload.ok()) << upload.status();
  ASSERT_TRUE((*upload)->Add(Chunk("clip.mp4", 0, std::string(4000, 'v'), true)).ok());
  absl::StatusOr<proto::Dataset> dataset = (*upload)->Finish("alice", 5);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->media().frame_count(), 1000);
  EXPECT_EQ(dataset->media().width(), 640);
}

TEST_F(DatasetsTest, CollectionSparesReferencedPinnedAndYoungBlobs) {
  std::string kept = blobs_->Put("referenced").value();
  std::string pinned = blobs_->Put("pinned").value();
  std::string garbage = blobs_->Put("garbage").value();
  blobs_->Pin(pinned);
  // Everything was written just now: a grace period spares it all.
  BlobStore::Collected none = blobs_->Collect({kept}, Scheduler::NowMs() - 60000);
  EXPECT_EQ(none.blobs, 0);
  BlobStore::Collected collected = blobs_->Collect({kept}, Scheduler::NowMs() + 1000);
  EXPECT_EQ(collected.blobs, 1);
  EXPECT_EQ(collected.bytes, 7);
  EXPECT_TRUE(blobs_->Has(kept));
  EXPECT_TRUE(blobs_->Has(pinned));
  EXPECT_FALSE(blobs_->Has(garbage));
  blobs_->Unpin(pinned);
  EXPECT_EQ(blobs_->Collect({kept}, Scheduler::NowMs() + 1000).blobs, 1);
  EXPECT_FALSE(blobs_->Has(pinned));
}

TEST_F(DatasetsTest, HeaderValidation) {
  proto::DatasetHeader header;
  header.set_version(1);
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);  // empty
  *header.add_files() = Entry("a.png", "x");
  EXPECT_TRUE(ValidateDatasetHeader(header).ok());
  *header.add_files() = Entry("a.png", "y");
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);  // twice
  header.mutable_files(1)->set_path("a.png/b.png");
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);
  header.mutable_files(1)->set_path("b.png");
  header.mutable_files(1)->set_sha256("ABC");
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);
  header.mutable_files(1)->set_sha256(util::Sha256Hex("y"));
  header.mutable_files(1)->set_size(-1);
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kInvalidArgument);
  header.mutable_files(1)->set_size(1);
  EXPECT_TRUE(ValidateDatasetHeader(header).ok());
  header.set_version(2);
  EXPECT_EQ(ValidateDatasetHeader(header).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ValidationTest, Paths) {
  for (const char* good : {"a", "a/b.png", "faces/0001_0.png", "x..y", ".hidden"}) {
    EXPECT_TRUE(ValidatePath(good, "p").ok()) << good;
  }
  for (std::string bad :
       {std::string(""), std::string("/abs"), std::string("../x"), std::string("a/../b"),
        std::string("a//b"), std::string("a/"), std::string("./a"), std::string("a\\b"),
        std::string("a\0b", 3), std::string("a\nb"), std::string(2000, 'a')}) {
    EXPECT_EQ(ValidatePath(bad, "p").code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidationTest, IdsAndSpecs) {
  EXPECT_TRUE(ValidateId("j0123abcd-t0001", "id").ok());
  EXPECT_FALSE(ValidateId("", "id").ok());
  EXPECT_FALSE(ValidateId("a/b", "id").ok());
  EXPECT_FALSE(ValidateId(std::string(65, 'a'), "id").ok());
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_TRAIN);
  spec.set_faces_a_dataset("a");
  spec.set_faces_b_dataset("b");
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.mutable_train()->set_precision("fp8");
  EXPECT_FALSE(ValidateJobSpec(spec).ok());
  spec.mutable_train()->set_precision("bf16");
  spec.mutable_train()->set_lr(-1);
  EXPECT_FALSE(ValidateJobSpec(spec).ok());
  spec.mutable_train()->set_lr(5e-5);
  spec.set_input_dataset("v");  // train takes no input video
  EXPECT_FALSE(ValidateJobSpec(spec).ok());
  spec.clear_input_dataset();
  spec.set_max_attempts(-1);
  EXPECT_FALSE(ValidateJobSpec(spec).ok());
  spec.set_max_attempts(2);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  proto::JobSpec swap;
  swap.set_kind(proto::JOB_SWAP);
  swap.set_input_dataset("a");
  EXPECT_FALSE(ValidateJobSpec(swap).ok());  // needs input_b
  swap.set_input_b_dataset("b");
  EXPECT_TRUE(ValidateJobSpec(swap).ok());
  swap.mutable_convert()->set_color("sepia");
  EXPECT_FALSE(ValidateJobSpec(swap).ok());
}

}  // namespace
}  // namespace fsc::coordinator
