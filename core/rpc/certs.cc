// Certificate generation with OpenSSL's C API. Every OpenSSL object is owned by a unique_ptr with
// its free function so that each early error return releases what was built so far.
#include "core/rpc/certs.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/rpc/secret_file.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::rpc {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
void BioFree(BIO* b) { BIO_free(b); }
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BioFree>>;

// The last OpenSSL error, for messages.
absl::Status SslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  char buffer[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buffer, sizeof(buffer));
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, ": ", buffer));
}

absl::StatusOr<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("EC P-256 key generation failed");
  return key;
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size < 0) return SslError("reading a memory BIO");
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return SslError("PEM-encoding a cert");
  return BioContents(bio.get());
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("PEM-encoding a private key");
  }
  return BioContents(bio.get());
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return SslError(absl::StrCat("X.509 extension ", OBJ_nid2sn(nid), "=", value));
  if (X509_add_ext(cert, ext.get(), -1) != 1) return SslError("adding an X.509 extension");
  return absl::OkStatus();
}

// A certificate for `key` with the common name, a random 63-bit serial and a validity starting a
// minute ago (clock skew between hosts) and lasting `days`.
absl::StatusOr<X509Ptr> NewCert(EVP_PKEY* key, const std::string& common_name, int days) {
  X509Ptr cert(X509_new());
  if (!cert) return SslError("X509_new");
  if (X509_set_version(cert.get(), 2) != 1) return SslError("X509_set_version");
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return SslError("random serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * days) == nullptr) {
    return SslError("validity period");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("fsc"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return SslError("subject name");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return SslError("X509_set_pubkey");
  return cert;
}

bool IsIpAddress(const std::string& s) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, s.c_str(), buffer) == 1 || inet_pton(AF_INET6, s.c_str(), buffer) == 1;
}

}  // namespace

absl::StatusOr<CertAndKey> MakeCa(const std::string& common_name, int days) {
  FSC_ASSIGN_OR_RETURN(PkeyPtr key, NewKey());
  FSC_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), common_name, days));
  // Self-signed: issuer = subject.
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return SslError("issuer name");
  }
  FSC_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  FSC_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  FSC_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return SslError("signing the CA");
  CertAndKey out;
  FSC_ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert.get()));
  FSC_ASSIGN_OR_RETURN(out.key_pem, KeyPem(key.get()));
  return out;
}

absl::StatusOr<CertAndKey> MakeLeaf(const CertAndKey& ca, const LeafSpec& spec) {
  BioPtr cert_bio(BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size())));
  X509Ptr ca_cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  BioPtr key_bio(BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size())));
  PkeyPtr ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!ca_cert || !ca_key) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the CA certificate or key is not valid PEM");
  }
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the CA key does not belong to the CA certificate");
  }

  std::vector<std::string> alt_names;
  std::vector<std::string> ips = spec.ip_addresses;
  std::vector<std::string> dns = spec.dns_names;
  if (spec.server) {
    ips.insert(ips.begin(), "127.0.0.1");
    dns.insert(dns.begin(), "localhost");
  } else if (ips.empty() && dns.empty()) {
    dns.push_back(spec.common_name);
  }
  for (const std::string& ip : ips) {
    if (!IsIpAddress(ip)) {
      return absl::InvalidArgumentError(absl::StrCat("'", ip, "' is not an IP address"));
    }
    std::string entry = absl::StrCat("IP:", ip);
    if (std::find(alt_names.begin(), alt_names.end(), entry) == alt_names.end()) {
      alt_names.push_back(entry);
    }
  }
  for (const std::string& name : dns) {
    if (name.empty() || name.find_first_of(",: ") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not a DNS name"));
    }
    std::string entry = absl::StrCat("DNS:", name);
    if (std::find(alt_names.begin(), alt_names.end(), entry) == alt_names.end()) {
      alt_names.push_back(entry);
    }
  }

  FSC_ASSIGN_OR_RETURN(PkeyPtr key, NewKey());
  FSC_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), spec.common_name, spec.days));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) != 1) {
    return SslError("issuer name");
  }
  FSC_RETURN_IF_ERROR(
      AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  FSC_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_key_usage,
                                   "critical,digitalSignature,keyAgreement"));
  FSC_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage,
                                   spec.server ? "serverAuth" : "clientAuth"));
  FSC_RETURN_IF_ERROR(
      AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, absl::StrJoin(alt_names, ",")));
  FSC_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash"));
  FSC_RETURN_IF_ERROR(
      AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) return SslError("signing a leaf");
  CertAndKey out;
  FSC_ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert.get()));
  FSC_ASSIGN_OR_RETURN(out.key_pem, KeyPem(key.get()));
  return out;
}

absl::Status WriteCertAndKey(const CertAndKey& pair, const std::string& cert_path,
                             const std::string& key_path) {
  FSC_RETURN_IF_ERROR(WriteSecretFileAtomically(key_path, pair.key_pem));
  return util::WriteFileAtomically(cert_path, pair.cert_pem);
}

absl::StatusOr<LocalCerts> GenerateLocalCerts(const std::string& folder,
                                              const std::vector<std::string>& extra_server_names) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat(folder, ": cannot create the certificate folder: ", ec.message()));
  }
  fs::permissions(folder, fs::perms::owner_all, ec);
  fs::path dir = fs::absolute(folder, ec);

  LeafSpec server{"fsc-coordinator", true, {}, {}, 825};
  for (const std::string& name : extra_server_names) {
    (IsIpAddress(name) ? server.ip_addresses : server.dns_names).push_back(name);
  }
  LeafSpec client{"fsc-worker", false, {}, {}, 825};

  FSC_ASSIGN_OR_RETURN(CertAndKey ca, MakeCa("fsc local cluster CA"));
  FSC_ASSIGN_OR_RETURN(CertAndKey server_pair, MakeLeaf(ca, server));
  FSC_ASSIGN_OR_RETURN(CertAndKey client_pair, MakeLeaf(ca, client));

  LocalCerts out;
  out.ca_cert = (dir / "ca.pem").string();
  out.ca_key = (dir / "ca.key").string();
  out.server_cert = (dir / "server.pem").string();
  out.server_key = (dir / "server.key").string();
  out.client_cert = (dir / "worker.pem").string();
  out.client_key = (dir / "worker.key").string();
  FSC_RETURN_IF_ERROR(WriteCertAndKey(ca, out.ca_cert, out.ca_key));
  FSC_RETURN_IF_ERROR(WriteCertAndKey(server_pair, out.server_cert, out.server_key));
  FSC_RETURN_IF_ERROR(WriteCertAndKey(client_pair, out.client_cert, out.client_key));
  return out;
}

}  // namespace fsc::rpc
