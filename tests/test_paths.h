// Where tests find the repository, the fetched models and sample data, and the built binaries.
#ifndef FSC_TESTS_TEST_PATHS_H_
#define FSC_TESTS_TEST_PATHS_H_

#include <nlohmann/json.hpp>
#include <string>

namespace fsc::testing {

// The source tree (for tests/fixtures).
std::string SourceDir();
// build/bin, where fsc and the other binaries land.
std::string BinDir();
// models/ and data/ as filled by scripts/setup (FSC_MODELS_DIR / FSC_DATA_DIR override them).
std::string ModelsDir();
std::string DataDir();
// The exit code (-1 if it did not exit normally) and the output of a shell command line.
struct CommandResult {
  int exit_code;
  std::string output;
};
// Runs `command` through the shell; stdout is captured (add 2>&1 for stderr too).
CommandResult RunCommand(const std::string& command);

// tests/fixtures/faceapi/NAME: reference outputs of face-api itself (see its README.md).
std::string FaceApiFixture(const std::string& name);
// Parses a JSON file; a missing file fails the current test with its path.
nlohmann::json ReadJson(const std::string& path);

// A fresh, empty directory under the system temp dir, unique to this call.
std::string MakeTempDir(const std::string& prefix);

// Writes a tiny model architecture (fsc train --architecture; Faceswap's shape at 64 px, a few
// hundred thousand parameters) to `path`, so training tests take seconds. False on a write error.
bool WriteTinyArchitecture(const std::string& path);

}  // namespace fsc::testing

#endif  // FSC_TESTS_TEST_PATHS_H_
