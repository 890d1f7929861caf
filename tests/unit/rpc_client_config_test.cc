// Connection settings resolve flags > environment > config file, with the transport (TLS files or
// --insecure) taken as a group, and relative paths in a config file anchored at its folder.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "core/rpc/client_config.h"
#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc::rpc {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

class ClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("rpc_client_config");
    config_ = dir_ + "/state/config.json";
    ConnectOptions in_file;
    in_file.address = "file-host:7000";
    in_file.token = "file-token";
    in_file.tls_ca = "pki/ca.pem";  // relative to the config's folder
    ASSERT_TRUE(WriteClientConfig(config_, in_file).ok());
  }
  std::string dir_;
  std::string config_;
};

TEST_F(ClientConfigTest, ConfigFileAloneAnchorsRelativePaths) {
  ConnectFlags flags;
  auto options = ResolveConnectOptions(flags, FakeEnv({{"FSC_CONFIG", config_}}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->address, "file-host:7000");
  EXPECT_EQ(options->token, "file-token");
  EXPECT_EQ(options->tls_ca, dir_ + "/state/pki/ca.pem");
  EXPECT_FALSE(options->insecure);
  struct stat st;
  ASSERT_EQ(stat(config_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the config file holds a token";
}

TEST_F(ClientConfigTest, EnvironmentBeatsFileAndFlagsBeatEnvironment) {
  ConnectFlags flags;
  auto env = FakeEnv(
      {{"FSC_CONFIG", config_}, {"FSC_COORDINATOR", "env-host:8000"}, {"FSC_TOKEN", "env-token"}});
  auto options = ResolveConnectOptions(flags, env);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->address, "env-host:8000");
  EXPECT_EQ(options->token, "env-token");
  EXPECT_EQ(options->tls_ca, dir_ + "/state/pki/ca.pem") << "transport still from the file";

  flags.coordinator = "flag-host:9000";
  options = ResolveConnectOptions(flags, env);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->address, "flag-host:9000");
  EXPECT_EQ(options->token, "env-token");
}

TEST_F(ClientConfigTest, TransportIsTakenAsAGroup) {
  ConnectFlags flags;
  flags.insecure = true;
  auto options = ResolveConnectOptions(flags, FakeEnv({{"FSC_CONFIG", config_}}));
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->insecure);
  EXPECT_TRUE(options->tls_ca.empty()) << "--insecure must not inherit the file's CA";

  ConnectFlags with_ca;
  with_ca.tls_ca = "/etc/my-ca.pem";
  options =
      ResolveConnectOptions(with_ca, FakeEnv({{"FSC_CONFIG", config_}, {"FSC_INSECURE", "1"}}));
  ASSERT_TRUE(options.ok());
  EXPECT_FALSE(options->insecure) << "--tls-ca on the command line overrides FSC_INSECURE";
  EXPECT_EQ(options->tls_ca, "/etc/my-ca.pem");

  options = ResolveConnectOptions(ConnectFlags{},
                                  FakeEnv({{"FSC_CONFIG", config_}, {"FSC_INSECURE", "yes"}}));
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->insecure);
  EXPECT_EQ(ResolveConnectOptions(ConnectFlags{},
                                  FakeEnv({{"FSC_CONFIG", config_}, {"FSC_INSECURE", "maybe"}}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientConfigTest, FlagConfigBeatsEnvConfigAndHomeIsTheFallback) {
  std::string other = dir_ + "/other.json";
  ConnectOptions in_other;
  in_other.address = "other-host:1";
  ASSERT_TRUE(WriteClientConfig(other, in_other).ok());
  ConnectFlags flags;
  flags.config = other;
  auto options = ResolveConnectOptions(flags, FakeEnv({{"FSC_CONFIG", config_}}));
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->address, "other-host:1");
  EXPECT_TRUE(options->token.empty());

  // ~/.config/fsc/config.json when nothing else names a file.
  std::string home = dir_ + "/home";
  ASSERT_TRUE(WriteClientConfig(home + "/.config/fsc/config.json", in_other).ok());
  options = ResolveConnectOptions(ConnectFlags{}, FakeEnv({{"HOME", home}}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->address, "other-host:1");
}

TEST_F(ClientConfigTest, ClearErrors) {
  // Nothing anywhere: no address.
  auto options = ResolveConnectOptions(ConnectFlags{}, FakeEnv({{"HOME", dir_ + "/nohome"}}));
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.status().message().find("--coordinator"), std::string::npos);
  // A named config file that does not exist.
  options = ResolveConnectOptions(ConnectFlags{}, FakeEnv({{"FSC_CONFIG", dir_ + "/missing"}}));
  EXPECT_EQ(options.status().code(), absl::StatusCode::kNotFound);
  // Malformed JSON and wrong types.
  std::string bad = dir_ + "/bad.json";
  ASSERT_TRUE(util::WriteFileAtomically(bad, "{not json").ok());
  options = ResolveConnectOptions(ConnectFlags{}, FakeEnv({{"FSC_CONFIG", bad}}));
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.status().message().find(bad), std::string::npos);
  ASSERT_TRUE(util::WriteFileAtomically(bad, R"({"coordinator": 5})").ok());
  options = ResolveConnectOptions(ConnectFlags{}, FakeEnv({{"FSC_CONFIG", bad}}));
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  // Nested past util::kMaxOutsideJsonDepth (here 100000 levels, which a recursive copy of the
  // value would not survive): refused like any other malformed file.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(ParseClientConfig(R"({"coordinator": "h:1", "x": )" + deep + "}", bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseClientConfig(R"({"coordinator": "h:1", "x": [[[1]]]})", bad).ok());
  // A token gRPC could not send is refused with where it came from, before any call.
  ConnectFlags flags;
  flags.coordinator = "h:1";
  flags.token = "abc\r\ndef";
  options = ResolveConnectOptions(flags, FakeEnv({}));
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.status().message().find("the token from --token"), std::string::npos)
      << options.status();
}

TEST(ConnectFlagsTest, RegistersTheFlags) {
  util::FlagSet flags("fsc test", "", "");
  ConnectFlags values;
  AddConnectFlags(&flags, &values);
  std::vector<std::string> positional;
  ASSERT_TRUE(
      flags
          .Parse({"--coordinator", "h:1", "--token", "t", "--tls-ca", "ca.pem", "--insecure"},
                 &positional)
          .ok());
  EXPECT_EQ(values.coordinator, "h:1");
  EXPECT_EQ(values.token, "t");
  EXPECT_EQ(values.tls_ca, "ca.pem");
  EXPECT_TRUE(values.insecure);

  util::FlagSet worker_flags("fsc-worker", "", "");
  ConnectFlags worker_values;
  AddConnectFlags(&worker_flags, &worker_values, /*with_token=*/false);
  EXPECT_FALSE(worker_flags.Parse({"--token", "t"}, &positional).ok());
}

}  // namespace
}  // namespace fsc::rpc
