// `fsc train --metrics-port` end to end: a short run on faces the real `fsc extract` makes,
// scraped over HTTP while it trains (iteration, examples/s, loss per side, process metrics),
// checked with `promtool check metrics`, then stopped with SIGINT, which saves and exits 0 and
// closes the port. A taken port fails the command before any training.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/metrics/http_server.h"
#include "core/util/file_io.h"
#include "tests/http_get.h"
#include "tests/integration/metrics_harness.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::RunCommand;

CommandResult Fsc(const std::string& arguments) {
  return RunCommand(testing::BinDir() + "/fsc " + arguments + " 2>&1");
}

class MetricsTrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir("fsc-metrics-train"));
    CommandResult a =
        Fsc("extract " + testing::DataDir() + "/Megamind.avi -o " + *root_ + "/A --every-n 30");
    ASSERT_EQ(a.exit_code, 0) << a.output;
    fs::create_directories(*root_ + "/photos");
    for (const char* name : {"sample1.jpg", "astronaut.png"}) {
      fs::copy_file(testing::DataDir() + "/" + name, *root_ + "/photos/" + name);
    }
    CommandResult b = Fsc("extract " + *root_ + "/photos -o " + *root_ + "/B");
    ASSERT_EQ(b.exit_code, 0) << b.output;
    ASSERT_TRUE(testing::WriteTinyArchitecture(*root_ + "/tiny.json"));
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static std::vector<std::string> TrainArgs(const std::string& model_dir, int port) {
    return {"train",
            "--architecture",
            *root_ + "/tiny.json",
            "--a",
            *root_ + "/A",
            "--b",
            *root_ + "/B",
            "-m",
            model_dir,
            "--batch",
            "4",
            "--threads",
            "2",
            "--iterations",
            "1000000",
            "--save-every",
            "1000000",
            "--preview-every",
            "0",
            "--log-every",
            "1",
            "--metrics-host",
            "127.0.0.1",
            "--metrics-port",
            std::to_string(port)};
  }
  static std::string* root_;
};
std::string* MetricsTrainTest::root_ = nullptr;

// Starts `fsc ARGS...` with stdout and stderr going to `log`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  FILE* out = std::freopen(log.c_str(), "w", stdout);
  if (out == nullptr || dup2(fileno(stdout), STDERR_FILENO) < 0) _exit(126);
  std::vector<std::string> argv_strings = {testing::BinDir() + "/fsc"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

TEST_F(MetricsTrainTest, ScrapedWhileTrainingAndStoppedBySigint) {
  const int port = testing::FreePort();
  ASSERT_GT(port, 0);
  const std::string log = *root_ + "/train.log";
  const pid_t pid = Spawn(TrainArgs(*root_ + "/model", port), log);
  ASSERT_GT(pid, 0);

  // Scrape until the run has logged two iterations (bounded wait; nothing timed).
  std::string text;
  bool ready = false, exited = false;
  int status = 0;
  for (int attempt = 0; attempt < 2400 && !ready; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    testing::HttpResponse response = testing::HttpGet(port, "/metrics");
    if (response.status != 200) continue;
    text = response.body;
    ready = testing::SeriesValue(text, "fsc_train_iteration") >= 2 &&
            text.find("fsc_train_examples_per_second{rank=\"0\"} ") != std::string::npos;
  }
  if (!exited) {
    kill(pid, SIGINT);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
  }
  const std::string output = util::ReadFile(log).value_or("(no log)");
  ASSERT_TRUE(ready) << "no training metrics on port " << port << "; last scrape:\n"
                     << text << "\nfsc train said:\n"
                     << output;

  // SIGINT saved and stopped cleanly, and the endpoint went away with the process.
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_THAT(output, HasSubstr("metrics at http://127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(output, HasSubstr("stopped at iteration"));
  EXPECT_TRUE(fs::exists(*root_ + "/model")) << output;
  EXPECT_EQ(testing::HttpGet(port, "/metrics").status, 0);

  const double loss_a = testing::SeriesValue(text, "fsc_train_loss{side=\"a\"}");
  const double loss_b = testing::SeriesValue(text, "fsc_train_loss{side=\"b\"}");
  EXPECT_TRUE(std::isfinite(loss_a) && loss_a > 0) << text;
  EXPECT_TRUE(std::isfinite(loss_b) && loss_b > 0) << text;
  EXPECT_GT(testing::SeriesValue(text, "fsc_train_examples_per_second{rank=\"0\"}"), 0) << text;
  EXPECT_GT(testing::SeriesValue(text, "process_resident_memory_bytes"), 1e6) << text;
  EXPECT_GT(testing::SeriesValue(text, "process_cpu_seconds_total"), 0) << text;
  EXPECT_GE(testing::SeriesValue(text, "process_threads"), 2) << text;
  // No GAN, no learned mask in this run: those series stay out.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("fsc_train_gan_loss{")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("fsc_train_mask_loss{")));

  const std::string file = *root_ + "/scrape.txt";
  ASSERT_TRUE(util::WriteFileAtomically(file, text).ok());
  CommandResult check = RunCommand("promtool check metrics < " + file + " 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
}

TEST_F(MetricsTrainTest, TakenPortFailsBeforeTraining) {
  metrics::Exposition nothing;
  metrics::MetricsServer squatter(&nothing);
  ASSERT_TRUE(squatter.Start("127.0.0.1", 0).ok());
  std::string command;
  for (const std::string& arg : TrainArgs(*root_ + "/never", squatter.port())) {
    command += " " + arg;
  }
  CommandResult run = Fsc(command);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("--metrics-port"));
  EXPECT_THAT(run.output, HasSubstr("in use"));
  EXPECT_FALSE(fs::exists(*root_ + "/never"));
}

}  // namespace
}  // namespace fsc
