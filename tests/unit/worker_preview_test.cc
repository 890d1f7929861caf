// PreviewPublisher: a new or rewritten MODEL_DIR/preview.png is reported once, as a copy that
// later rewrites do not touch; nothing is reported while it is missing or unchanged.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/util/file_io.h"
#include "tests/test_paths.h"
#include "worker/preview_publisher.h"

namespace fsc::worker {
namespace {

namespace fs = std::filesystem;

struct Reported {
  std::string path;
  int64_t iteration;
};

TEST(PreviewPublisherTest, ReportsEachNewPreviewOnceAsACopy) {
  const std::string dir = fsc::testing::MakeTempDir("worker_preview");
  const std::string model = dir + "/model";
  fs::create_directories(model);
  std::vector<Reported> reported;
  TaskEnv env;
  env.preview = [&](const std::string& png, int64_t iteration) {
    reported.push_back({png, iteration});
  };
  PreviewPublisher publisher(model, dir + "/scratch", env);

  EXPECT_FALSE(publisher.Poll(1));  // no preview yet
  ASSERT_TRUE(util::WriteFileAtomically(model + "/preview.png", "first").ok());
  EXPECT_TRUE(publisher.Poll(250));
  EXPECT_FALSE(publisher.Poll(251));  // unchanged
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].iteration, 250);
  EXPECT_NE(reported[0].path, model + "/preview.png");

  // The Trainer rewrites it (atomically: a new file); make sure the time differs.
  ASSERT_TRUE(util::WriteFileAtomically(model + "/preview.png", "second").ok());
  fs::last_write_time(model + "/preview.png",
                      fs::last_write_time(model + "/preview.png") + std::chrono::seconds(1));
  EXPECT_TRUE(publisher.Poll(500));
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[1].iteration, 500);
  // Each copy keeps its own bytes.
  EXPECT_EQ(util::ReadFile(reported[0].path).value_or(""), "first");
  EXPECT_EQ(util::ReadFile(reported[1].path).value_or(""), "second");
}

TEST(PreviewPublisherTest, WithoutAPreviewCallbackNothingBreaks) {
  const std::string dir = fsc::testing::MakeTempDir("worker_preview_none");
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/preview.png", "png").ok());
  TaskEnv env;  // no preview callback: ReportPreview is a no-op
  PreviewPublisher publisher(dir, dir + "/scratch", env);
  EXPECT_TRUE(publisher.Poll(1));
}

}  // namespace
}  // namespace fsc::worker
