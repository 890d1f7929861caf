// Tests for core/util: flag parsing, progress text, atomic writes and SHA-256.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/util/file_io.h"
#include "core/util/flags.h"
#include "core/util/progress.h"
#include "core/util/sha256.h"
#include "tests/test_paths.h"

namespace fsc::util {
namespace {

TEST(FlagSetTest, ParsesLongShortEqualsAndPositional) {
  std::string output;
  int size = 256;
  double score = 0.5;
  bool json = false, faces = true;
  FlagSet flags("fsc x", "IN", "test");
  flags.String("output", 'o', &output, "out");
  flags.Int("size", 's', &size, "size");
  flags.Double("min-score", 0, &score, "score");
  flags.Bool("json", 0, &json, "json");
  flags.Bool("faces", 0, &faces, "faces");
  std::vector<std::string> positional;
  ASSERT_TRUE(flags
                  .Parse({"in.mp4", "-o", "dir", "--size=128", "--min-score", "0.7", "--json",
                          "--no-faces", "--", "--literal"},
                         &positional)
                  .ok());
  EXPECT_EQ(output, "dir");
  EXPECT_EQ(size, 128);
  EXPECT_DOUBLE_EQ(score, 0.7);
  EXPECT_TRUE(json);
  EXPECT_FALSE(faces);
  EXPECT_EQ(positional, (std::vector<std::string>{"in.mp4", "--literal"}));
  EXPECT_FALSE(flags.help_requested());
}

TEST(FlagSetTest, RejectsUnknownAndMalformedWithTheCommandName) {
  int size = 1;
  FlagSet flags("fsc extract", "IN", "test");
  flags.Int("size", 0, &size, "size");
  std::vector<std::string> positional;
  absl::Status unknown = flags.Parse({"--bogus"}, &positional);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("--bogus"), std::string::npos);
  EXPECT_NE(unknown.message().find("fsc extract --help"), std::string::npos);
  EXPECT_FALSE(flags.Parse({"--size", "big"}, &positional).ok());
  EXPECT_FALSE(flags.Parse({"--size"}, &positional).ok());
  EXPECT_EQ(size, 1);
}

TEST(FlagSetTest, NumbersOutsideTheirRangeAreRefusedNamingIt) {
  int threads = 1;
  double score = 0.5, weight = 1;
  FlagSet flags("fsc extract", "IN", "test");
  flags.Int("threads", 'j', &threads, "threads", {0, 256});
  flags.Double("min-score", 0, &score, "score", {0, 1});
  flags.Double("weight", 0, &weight, "weight");
  std::vector<std::string> positional;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--threads", "100000"},
                                             {"-j", "-1"},
                                             {"--threads=2147483648"},
                                             {"--min-score", "1.5"},
                                             {"--min-score", "nan"},
                                             {"--weight", "inf"},
                                             {"--weight", "-nan"}}) {
    absl::Status status = flags.Parse(args, &positional);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << args[0];
    EXPECT_NE(status.message().find("fsc extract --help"), std::string::npos) << status;
  }
  EXPECT_NE(
      flags.Parse({"--threads", "100000"}, &positional).message().find("100000 not in 0..256"),
      std::string::npos);
  EXPECT_EQ(threads, 1);
  EXPECT_DOUBLE_EQ(score, 0.5);
  EXPECT_DOUBLE_EQ(weight, 1);
  ASSERT_TRUE(flags.Parse({"-j", "256", "--min-score", "0", "--weight", "-3"}, &positional).ok());
  EXPECT_EQ(threads, 256);
  EXPECT_DOUBLE_EQ(weight, -3);
  EXPECT_NE(flags.Help().find("(0..256; default: 1)"), std::string::npos) << flags.Help();
}

TEST(FlagSetTest, HelpListsFlagsWithDefaults) {
  int size = 256;
  FlagSet flags("fsc extract", "IN -o DIR", "Extracts faces.");
  flags.Int("size", 's', &size, "crop side");
  std::vector<std::string> positional;
  ASSERT_TRUE(flags.Parse({"--help"}, &positional).ok());
  EXPECT_TRUE(flags.help_requested());
  std::string help = flags.Help();
  EXPECT_NE(help.find("usage: fsc extract IN -o DIR"), std::string::npos);
  EXPECT_NE(help.find("-s, --size VALUE"), std::string::npos);
  EXPECT_NE(help.find("(default: 256)"), std::string::npos);
}

TEST(ProgressTest, FormatsRateEtaAndBar) {
  std::string line = Progress::Format("extract", "frames", 50, 200, 10.0, /*bar=*/true);
  EXPECT_NE(line.find("[#######"), std::string::npos);
  EXPECT_NE(line.find("50/200 frames (25%)"), std::string::npos);
  EXPECT_NE(line.find("5.0 frames/s"), std::string::npos);
  EXPECT_NE(line.find("ETA 0:30"), std::string::npos);
  std::string plain = Progress::Format("extract", "frames", 7, 0, 2.0, /*bar=*/false);
  EXPECT_EQ(plain.find('['), std::string::npos);
  EXPECT_NE(plain.find("7 frames 3.5 frames/s"), std::string::npos);
}

TEST(ProgressTest, AResumedRunCountsOnlyItsOwnWork) {
  // 300 of 1200 iterations were done before; 100 more in 100 s is 1 it/s, 800 s to go.
  std::string line = Progress::Format("train", "it", 400, 1200, 100.0, /*bar=*/false, 300);
  EXPECT_NE(line.find("400/1200 it (33%) 1.0 it/s ETA 13:20"), std::string::npos) << line;
}

TEST(FileIoTest, AtomicWriteReplacesAndLeavesNoTemp) {
  std::string dir = testing::MakeTempDir("fsc-fileio");
  std::string path = dir + "/nested/out.bin";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, std::string("sec\0nd", 6)).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, std::string("sec\0nd", 6));
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/nested")) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(FileIoTest, FailedWriteKeepsTheOldFile) {
  std::string dir = testing::MakeTempDir("fsc-fileio");
  std::string path = dir + "/keep.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "precious").ok());
  // A path whose parent is a regular file cannot be written; the error names it.
  absl::Status status = WriteFileAtomically(path + "/child", "x");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("keep.txt"), std::string::npos);
  EXPECT_EQ(*ReadFile(path), "precious");
  EXPECT_EQ(ReadFile(dir + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string dir = testing::MakeTempDir("fsc-sha");
  std::ofstream(dir + "/f") << "abc";
  EXPECT_EQ(*Sha256File(dir + "/f"), Sha256Hex("abc"));
  Sha256 incremental;
  incremental.Update("a");
  incremental.Update("bc");
  EXPECT_EQ(incremental.HexDigest(), Sha256Hex("abc"));
}

}  // namespace
}  // namespace fsc::util
