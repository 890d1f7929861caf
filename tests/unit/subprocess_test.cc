// Tests for core/util/subprocess: exit codes, concurrent capture of both streams, missing
// programs, signals, fd hygiene (also on every error path), files, sessions, environment,
// daemons and the stdin-fed ChildProcess.
#include "core/util/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/test_paths.h"

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

// The descriptors open in this process.
std::set<int> OpenFds() {
  std::set<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = 0;
    if (absl::SimpleAtoi(entry.path().filename().string(), &fd)) fds.insert(fd);
  }
  return fds;
}

TEST(RunProcessTest, RunForOutputReturnsStdoutOrNamesTheFailure) {
  auto out = RunForOutput({"sh", "-c", "echo fine; echo noise >&2"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "fine\n");
  auto failed = RunForOutput({"sh", "-c", "echo half; echo 'disk is full' >&2; exit 5"});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("exit 5"), std::string::npos) << failed.status();
  EXPECT_NE(failed.status().message().find("disk is full"), std::string::npos);
  EXPECT_NE(failed.status().message().find("sh -c"), std::string::npos);
}

TEST(SubprocessTest, NoDescriptorLeaksWhenSpawningFails) {
  const std::set<int> before = OpenFds();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(RunProcess({"fsc-no-such-program-xyz"}).status().code(), absl::StatusCode::kNotFound);
    EXPECT_FALSE(ChildProcess::Start({"fsc-no-such-program-xyz"}).ok());
    SpawnOptions to_file;
    to_file.out = Stdio::kFile;
    to_file.file = "/nonexistent-dir/log";
    EXPECT_EQ(Subprocess::Spawn({"true"}, to_file).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(OpenFds(), before);
}

TEST(SubprocessTest, NoDescriptorLeaksWhenDescriptorsRunOut) {
  // Allow a few more descriptors than are open, so that each of RunProcess's pipes and opens in
  // turn is the one that fails; nothing it opened before may stay open. The limit is on descriptor
  // numbers, so free numbers below the highest open one (an inherited fd 251, say) are filled
  // first.
  std::vector<int> fillers;
  const int highest = *OpenFds().rbegin();
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    if (fd > highest) {
      ::close(fd);
      break;
    }
    fillers.push_back(fd);
  }
  const std::set<int> before = OpenFds();
  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int exhausted = 0, ran = 0;
  for (int spare = 0; spare <= 8; ++spare) {
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(*before.rbegin() + 1 + spare);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    absl::StatusOr<ProcessResult> result = RunProcess({"true"});
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
    if (result.ok()) {
      ++ran;
    } else {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted) << result.status();
      ++exhausted;
    }
    EXPECT_EQ(OpenFds(), before) << "with " << spare << " spare descriptors";
  }
  for (int fd : fillers) ::close(fd);
  EXPECT_GT(exhausted, 0);
  EXPECT_GT(ran, 0);
}

TEST(SubprocessTest, FileOutputNewSessionAndEnvironment) {
  const std::string log = testing::MakeTempDir("fsc-subprocess") + "/spawn.log";
  { std::ofstream(log) << "earlier\n"; }
  SpawnOptions options;
  options.out = Stdio::kFile;
  options.err = Stdio::kStdout;
  options.file = log;
  options.new_session = true;
  options.env = {"FSC_SUBPROCESS_TEST=seen", "HOME=/elsewhere"};
  auto child = Subprocess::Spawn(
      {"sh", "-c", "echo $FSC_SUBPROCESS_TEST $HOME; echo err >&2; cut -d' ' -f6 /proc/$$/stat"},
      options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->stdout_fd(), -1);
  auto code = (*child)->Wait();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  // Appended, stderr beside stdout, and the child leads its own session (session id = its pid).
  EXPECT_EQ(text.str(), "earlier\nseen /elsewhere\nerr\n" + std::to_string((*child)->pid()) + "\n");
}

TEST(SubprocessTest, TryWaitSignalAndWait) {
  auto child = Subprocess::Spawn({"sleep", "60"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_FALSE((*child)->TryWait().has_value());
  (*child)->Signal(SIGTERM);
  auto code = (*child)->Wait();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 128 + SIGTERM);
  EXPECT_EQ((*child)->TryWait(), 128 + SIGTERM);
  (*child)->Signal(SIGKILL);  // reaped: no signal to a pid that may be someone else's now
}

TEST(SubprocessTest, PipesBothWaysAndReleaseLeavesADaemonRunning) {
  SpawnOptions options;
  options.in = Stdio::kPipe;
  options.out = Stdio::kPipe;
  auto child = Subprocess::Spawn({"tr", "a-z", "A-Z"}, options);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_EQ(::write((*child)->stdin_fd(), "shout", 5), 5);
  (*child)->CloseStdin();
  char buffer[16] = {};
  EXPECT_EQ(::read((*child)->stdout_fd(), buffer, sizeof(buffer)), 5);
  EXPECT_STREQ(buffer, "SHOUT");
  EXPECT_EQ(*(*child)->Wait(), 0);

  pid_t daemon = 0;
  {
    auto sleeper = Subprocess::Spawn({"sleep", "60"});
    ASSERT_TRUE(sleeper.ok());
    daemon = (*sleeper)->Release();
  }  // the destructor neither kills nor reaps a released child
  EXPECT_EQ(::kill(daemon, 0), 0);
  ::kill(daemon, SIGKILL);
  int status = 0;
  EXPECT_EQ(::waitpid(daemon, &status, 0), daemon);
}

TEST(SubprocessTest, DestructorKillsAndReapsAnUnwaitedChild) {
  pid_t pid = 0;
  {
    auto child = Subprocess::Spawn({"sleep", "60"});
    ASSERT_TRUE(child.ok());
    pid = (*child)->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone, not a zombie
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
