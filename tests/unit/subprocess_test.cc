// Tests for core/util/subprocess: exit codes, concurrent capture of both streams, missing
// programs, signals, fd hygiene and the stdin-fed ChildProcess.
#include "core/util/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace fsc::util {
namespace {

TEST(RunProcessTest, CapturesStdoutStderrAndExitCode) {
  auto result = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");
}

TEST(RunProcessTest, ArgumentsAreNotInterpretedByAShell) {
  auto result = RunProcess({"printf", "%s|", "a b", "$HOME", "'q'"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "a b|$HOME|'q'|");
}

TEST(RunProcessTest, ChattyChildOnBothStreamsDoesNotDeadlock) {
  // Far more than a pipe buffer (64 KiB) on each stream, interleaved.
  auto result = RunProcess({"sh", "-c",
                            "for i in 1 2 3 4; do head -c 300000 /dev/zero; "
                            "head -c 300000 /dev/zero >&2; done"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->out.size(), 1200000u);
  EXPECT_EQ(result->err.size(), 1200000u);
}

TEST(RunProcessTest, MissingProgramIsNotFound) {
  auto result = RunProcess({"fsc-no-such-program-xyz", "--version"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("fsc-no-such-program-xyz"), std::string::npos);
  EXPECT_FALSE(RunProcess({}).ok());
}

TEST(RunProcessTest, KilledChildReportsSignal) {
  auto result = RunProcess({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 128 + 9);
}

TEST(RunProcessTest, ChildGetsNoOtherFileDescriptorsAndAnEmptyStdin) {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, 57), 57);
  auto result = RunProcess({"sh", "-c",
                            "if [ -e /proc/$$/fd/57 ]; then echo leaked; else echo "
                            "closed; fi; cat | wc -c"});
  ::close(57);
  ::close(fd);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "closed\n0\n");
}

TEST(ChildProcessTest, WritesStdinAndKeepsTheOutputTail) {
  auto child = ChildProcess::Start({"wc", "-c"});
  ASSERT_TRUE(child.ok()) << child.status();
  std::string block(100000, 'x');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*child)->Write(block.data(), block.size()).ok());
  auto code = (*child)->Finish();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ((*child)->StderrTail(), "1000000\n");
  // Finish twice gives the same answer; Write after Finish is an error.
  EXPECT_EQ(*(*child)->Finish(), 0);
  EXPECT_FALSE((*child)->Write("x", 1).ok());
}

TEST(ChildProcessTest, WriteToADeadChildIsAnErrorNotSigpipe) {
  auto child = ChildProcess::Start({"sh", "-c", "echo boom >&2; exit 4"});
  ASSERT_TRUE(child.ok()) << child.status();
  std::string block(1 << 20, 'x');
  absl::Status status;
  for (int i = 0; i < 64 && status.ok(); ++i) status = (*child)->Write(block.data(), block.size());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("boom"), std::string::npos) << status;
  auto code = (*child)->Finish();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 4);
}

TEST(ChildProcessTest, KillAndDestructorStopAHangingChild) {
  auto child = ChildProcess::Start({"sleep", "60"});
  ASSERT_TRUE(child.ok()) << child.status();
  const pid_t pid = (*child)->pid();
  (*child)->Kill();
  EXPECT_EQ(*(*child)->Finish(), 128 + 9);
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: the pid is gone
  {
    auto other = ChildProcess::Start({"sleep", "60"});
    ASSERT_TRUE(other.ok());
  }  // destructor kills and reaps without waiting a minute
  auto missing = ChildProcess::Start({"fsc-no-such-program-xyz"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fsc::util
