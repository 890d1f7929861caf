#!/usr/bin/env bash
# Makes the cluster's TLS material with openssl: a private CA (ca.crt, ca.key) and the coordinator's
# server certificate (tls.crt, tls.key) signed by it, valid for the in-cluster Service names and for
# any extra names/addresses given (the public load balancer's IP, a DNS name). Nothing is committed:
# the files go to OUT_DIR (mode 0600 keys); the README shows how they become the fsc-tls Secret.
# Usage: k8s/tls/make-certs.sh OUT_DIR [IP:1.2.3.4 | DNS:name ...]   (re-running keeps the CA)
set -euo pipefail
out=${1:?usage: make-certs.sh OUT_DIR [IP:addr|DNS:name ...]}
shift
namespace=${FSC_NAMESPACE:-fsc}
mkdir -p "$out"
umask 077
sans="DNS:fsc-coordinator,DNS:fsc-coordinator.$namespace,DNS:fsc-coordinator.$namespace.svc"
sans+=",DNS:fsc-coordinator.$namespace.svc.cluster.local"
for extra in "$@"; do
  case "$extra" in
    IP:*|DNS:*) sans+=",$extra" ;;
    *) echo "make-certs.sh: '$extra' must be IP:ADDRESS or DNS:NAME" >&2; exit 2 ;;
  esac
done
if [ ! -f "$out/ca.key" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 -subj "/CN=fsc cluster CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$out/tls.key" -out "$out/tls.csr" -subj "/CN=fsc-coordinator" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$sans" > "$out/tls.ext"
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -out "$out/tls.crt" -days 825 -extfile "$out/tls.ext" 2>/dev/null
rm -f "$out/tls.csr" "$out/tls.ext" "$out/ca.srl"
chmod 644 "$out/ca.crt" "$out/tls.crt"
echo "wrote $out/{ca.crt,ca.key,tls.crt,tls.key} for $sans"
