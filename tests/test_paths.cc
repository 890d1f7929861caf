// Test-only path helpers; FSC_SOURCE_DIR and FSC_BINARY_DIR come from tests/CMakeLists.txt.
#include "tests/test_paths.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace fsc::testing {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

}  // namespace

std::string SourceDir() { return FSC_SOURCE_DIR; }
std::string BinDir() { return std::string(FSC_BINARY_DIR) + "/bin"; }
std::string ModelsDir() { return EnvOr("FSC_MODELS_DIR", SourceDir() + "/models"); }
std::string DataDir() { return EnvOr("FSC_DATA_DIR", SourceDir() + "/data"); }

std::string FaceApiFixture(const std::string& name) {
  return SourceDir() + "/tests/fixtures/faceapi/" + name;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return nlohmann::json::parse(in);
}

CommandResult RunCommand(const std::string& command) {
  CommandResult run{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) run.output.append(buffer, n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string MakeTempDir(const std::string& prefix) {
  std::random_device random;
  auto base = std::filesystem::temp_directory_path();
  for (;;) {
    auto dir = base / (prefix + "-" + std::to_string(random()));
    if (std::filesystem::create_directory(dir)) return dir.string();
  }
}

bool WriteTinyArchitecture(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << R"({"name":"tiny","input_size":64,"encoder_filters":[16,32,64,128],)"
         R"("dense_dim":64,"latent_size":4,"latent_channels":64,)"
         R"("encoder_upscale":64,"decoder_filters":[64,32,16]})";
  out.close();
  return static_cast<bool>(out);
}

}  // namespace fsc::testing
