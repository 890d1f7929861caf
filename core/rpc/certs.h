// Throwaway PKI for a local cluster: a self-signed CA and leaf certificates it signs (a server
// certificate for the coordinator, client certificates for mTLS workers), made with the OpenSSL C
// API (EC P-256 keys, X.509 v3, SHA-256 signatures). `fsc cluster up --local` uses it so that even
// a laptop cluster speaks TLS; production clusters bring their own certificates.
#ifndef FSC_CORE_RPC_CERTS_H_
#define FSC_CORE_RPC_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsc::rpc {

// A certificate and its private key, both PEM (the key as PKCS#8).
struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed CA (basicConstraints CA:TRUE, keyCertSign) valid for `days` days.
absl::StatusOr<CertAndKey> MakeCa(const std::string& common_name, int days = 3650);

struct LeafSpec {
  std::string common_name;
  bool server = true;  // extendedKeyUsage serverAuth, else clientAuth
  // subjectAltName entries. A server certificate always gets IP:127.0.0.1 and DNS:localhost in
  // addition; a client certificate gets DNS:<common_name> when both lists are empty.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  int days = 825;
};

// A leaf certificate for `spec`, signed by `ca`. INVALID_ARGUMENT for an unparsable CA or a bad
// IP address.
absl::StatusOr<CertAndKey> MakeLeaf(const CertAndKey& ca, const LeafSpec& spec);

// Writes the certificate (mode 0644) and key (mode 0600) atomically.
absl::Status WriteCertAndKey(const CertAndKey& pair, const std::string& cert_path,
                             const std::string& key_path);

// The files of a generated local PKI, as absolute paths inside one folder.
struct LocalCerts {
  std::string ca_cert;      // ca.pem: give to clients and workers as --tls-ca
  std::string ca_key;       // ca.key: kept for issuing more certificates
  std::string server_cert;  // server.pem / server.key: the coordinator's --tls-cert/--tls-key
  std::string server_key;
  std::string client_cert;  // worker.pem / worker.key: a worker's mTLS identity
  std::string client_key;
};

// Generates ca, server (SAN 127.0.0.1, localhost + `extra_server_names`, each an IP or a DNS
// name) and a worker client certificate into `folder` (created, mode 0700).
absl::StatusOr<LocalCerts> GenerateLocalCerts(
    const std::string& folder, const std::vector<std::string>& extra_server_names = {});

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_CERTS_H_
