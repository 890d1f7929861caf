// The generated local PKI works for real TLS and mTLS gRPC on 127.0.0.1, and a client that
// trusts another CA, or presents no certificate to an mTLS server, is refused.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/rpc/certs.h"
#include "core/rpc/channel.h"
#include "core/rpc/version.h"
#include "core/util/file_io.h"
#include "proto/fsc.grpc.pb.h"
#include "tests/test_paths.h"

namespace fsc::rpc {
namespace {

// A WorkerService that answers Register and echoes the caller's bearer token as worker_id, so
// the test also sees that AddAuth's metadata arrives.
class EchoService final : public proto::WorkerService::Service {
 public:
  grpc::Status Register(grpc::ServerContext* context, const proto::RegisterRequest* request,
                        proto::RegisterResponse* response) override {
    auto it = context->client_metadata().find("authorization");
    if (it != context->client_metadata().end()) {
      response->set_worker_id(std::string(it->second.data(), it->second.size()));
    }
    response->set_session_token(request->name());
    return grpc::Status::OK;
  }
};

struct Server {
  EchoService service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

std::unique_ptr<Server> StartServer(const LocalCerts& certs, bool require_client_cert) {
  auto s = std::make_unique<Server>();
  grpc::SslServerCredentialsOptions ssl(
      require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back(
      {*util::ReadFile(certs.server_key), *util::ReadFile(certs.server_cert)});
  if (require_client_cert) ssl.pem_root_certs = *util::ReadFile(certs.ca_cert);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &s->port);
  builder.RegisterService(&s->service);
  s->server = builder.BuildAndStart();
  return s;
}

absl::StatusOr<proto::RegisterResponse> CallRegister(const ConnectOptions& options) {
  auto channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  auto stub = proto::WorkerService::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  AddAuth(&context, options.token);
  proto::RegisterRequest request;
  request.set_version(kClusterProtoVersion);
  request.set_name("worker-a");
  proto::RegisterResponse response;
  grpc::Status status = stub->Register(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

class CertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("rpc_certs");
    auto certs = GenerateLocalCerts(dir_ + "/pki");
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }
  std::string dir_;
  LocalCerts certs_;
};

TEST_F(CertsTest, FilesAreWrittenWithPrivateKeys) {
  for (const std::string& key : {certs_.ca_key, certs_.server_key, certs_.client_key}) {
    struct stat st;
    ASSERT_EQ(stat(key.c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  for (const std::string& cert : {certs_.ca_cert, certs_.server_cert, certs_.client_cert}) {
    auto pem = util::ReadFile(cert);
    ASSERT_TRUE(pem.ok());
    EXPECT_NE(pem->find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  }
}

TEST_F(CertsTest, TlsCallSucceedsWithTheGeneratedCa) {
  auto server = StartServer(certs_, /*require_client_cert=*/false);
  ASSERT_GT(server->port, 0);
  ConnectOptions options;
  options.address = "127.0.0.1:" + std::to_string(server->port);
  options.tls_ca = certs_.ca_cert;
  options.token = "secret-token";
  auto response = CallRegister(options);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->worker_id(), "Bearer secret-token");
  EXPECT_EQ(response->session_token(), "worker-a");
  // localhost is in the SAN too.
  options.address = "localhost:" + std::to_string(server->port);
  EXPECT_TRUE(CallRegister(options).ok());
  server->server->Shutdown();
}

TEST_F(CertsTest, TlsCallFailsWithAnotherCa) {
  auto server = StartServer(certs_, false);
  auto other = GenerateLocalCerts(dir_ + "/other");
  ASSERT_TRUE(other.ok());
  ConnectOptions options;
  options.address = "127.0.0.1:" + std::to_string(server->port);
  options.tls_ca = other->ca_cert;
  auto response = CallRegister(options);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  // Plaintext against a TLS port fails as well.
  options.tls_ca.clear();
  options.insecure = true;
  EXPECT_FALSE(CallRegister(options).ok());
  server->server->Shutdown();
}

TEST_F(CertsTest, MutualTlsNeedsTheClientCertificate) {
  auto server = StartServer(certs_, /*require_client_cert=*/true);
  ConnectOptions options;
  options.address = "127.0.0.1:" + std::to_string(server->port);
  options.tls_ca = certs_.ca_cert;
  EXPECT_FALSE(CallRegister(options).ok()) << "an mTLS server accepted a client without a cert";
  options.tls_cert = certs_.client_cert;
  options.tls_key = certs_.client_key;
  auto response = CallRegister(options);
  EXPECT_TRUE(response.ok()) << response.status();
  // A client certificate from another CA is refused.
  auto other = GenerateLocalCerts(dir_ + "/other");
  ASSERT_TRUE(other.ok());
  options.tls_cert = other->client_cert;
  options.tls_key = other->client_key;
  EXPECT_FALSE(CallRegister(options).ok());
  server->server->Shutdown();
}

TEST_F(CertsTest, ExtraServerNamesAndBadInput) {
  auto ca = MakeCa("test CA");
  ASSERT_TRUE(ca.ok());
  LeafSpec spec;
  spec.common_name = "coordinator";
  spec.ip_addresses = {"not-an-ip"};
  EXPECT_EQ(MakeLeaf(*ca, spec).status().code(), absl::StatusCode::kInvalidArgument);
  CertAndKey broken = *ca;
  broken.key_pem = "garbage";
  spec.ip_addresses = {"10.0.0.7"};
  EXPECT_EQ(MakeLeaf(broken, spec).status().code(), absl::StatusCode::kInvalidArgument);
  auto other_ca = MakeCa("other CA");
  ASSERT_TRUE(other_ca.ok());
  CertAndKey mismatched{ca->cert_pem, other_ca->key_pem};
  EXPECT_EQ(MakeLeaf(mismatched, spec).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeLeaf(*ca, spec).ok());
}

TEST(ChannelTest, RefusesIncompleteOptions) {
  ConnectOptions options;
  EXPECT_EQ(MakeChannel(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.address = "127.0.0.1:1";
  options.tls_cert = "/nonexistent/cert.pem";
  EXPECT_EQ(MakeChannel(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.tls_cert.clear();
  options.tls_ca = "/nonexistent/ca.pem";
  auto channel = MakeChannel(options);
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(channel.status().message().find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(ChannelTest, StatusConversionRoundTrips) {
  absl::Status status = absl::PermissionDeniedError("not your job");
  absl::Status back = FromGrpc(ToGrpc(status));
  EXPECT_EQ(back, status);
  EXPECT_TRUE(FromGrpc(grpc::Status::OK).ok());
  EXPECT_TRUE(IsTransient(absl::UnavailableError("down")));
  EXPECT_FALSE(IsTransient(absl::InvalidArgumentError("bad")));
}

}  // namespace
}  // namespace fsc::rpc
