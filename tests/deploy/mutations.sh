#!/usr/bin/env bash
# Proves the deployment checks are real: breaks a copy of terraform/, k8s/ and docker/ in ways
# that matter (internet ingress to workers, a literal GPU shape, an undescribed variable, an HCL
# syntax error, a container command the image lacks, a schema violation, a GPU overlay without GPUs)
# and expects the matching validator to fail with the matching message each time.
# Usage: tests/deploy/mutations.sh REPO_ROOT
set -euo pipefail
root=$(cd "${1:-.}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
passed=0

fresh() {
  rm -rf "$work/tree" && mkdir -p "$work/tree/tests"
  cp -r "$root/terraform" "$root/k8s" "$root/docker" "$work/tree/"
  cp -r "$root/tests/deploy" "$work/tree/tests/"
  ln -s "$root/tools" "$work/tree/tools"
  # add_executable targets are read from every CMakeLists.txt outside tests/ and bench/.
  (cd "$root" && find . -name CMakeLists.txt -not -path './build*' -not -path './tests/*' \
     -not -path './bench/*' -not -path './tools/*' -print0 | xargs -0 -I{} cp --parents {} "$work/tree/")
}

# expect NAME VALIDATOR EXPECTED_MESSAGE: run after a mutation was applied to $work/tree.
expect() {
  local name=$1 validator=$2 message=$3 out
  if out=$(node "$work/tree/tests/deploy/$validator" "$work/tree" 2>&1); then
    echo "FAIL $name: $validator accepted the broken copy"; failed=$((failed + 1))
  elif ! grep -q -- "$message" <<<"$out"; then
    echo "FAIL $name: $validator failed without '$message':"; echo "$out" | head -5; failed=$((failed + 1))
  else
    echo "ok   $name"; passed=$((passed + 1))
  fi
}

fresh; node "$work/tree/tests/deploy/validate_terraform.mjs" "$work/tree" >/dev/null \
  || { echo "FAIL the unbroken copy does not validate"; exit 1; }

fresh; python3 - "$work/tree/terraform/network.tf" <<'PY'
import sys; p = sys.argv[1]; s = open(p).read()
s = s.replace('protocol = "all"\n    source   = var.vcn_cidr', 'protocol = "all"\n    source   = "0.0.0.0/0"')
open(p, "w").write(s)
PY
expect "worker ingress from 0.0.0.0/0" validate_terraform.mjs "open to the whole internet"

fresh; sed -i 's/default     = \[\]/default     = ["0.0.0.0\/0"]/' "$work/tree/terraform/variables.tf"
expect "0.0.0.0/0 through a variable default" validate_terraform.mjs "open to the whole internet"

fresh; sed -i 's/node_shape     = var.gpu_node_shape/node_shape     = "VM.GPU.A10.1"/' "$work/tree/terraform/nodepools.tf"
expect "literal GPU shape" validate_terraform.mjs "node_shape must be a variable"

fresh; sed -i '0,/description = "OCID of the compartment/{/description = "OCID of the compartment/d}' "$work/tree/terraform/variables.tf"
expect "variable without description" validate_terraform.mjs "needs a description"

fresh; echo 'resource "x" "y" { a = }' >> "$work/tree/terraform/oke.tf"
expect "HCL syntax error" validate_terraform.mjs "does not parse"

fresh; sed -i 's/command: \[fsc-worker\]/command: [fsc-wrker]/' "$work/tree/k8s/base/workers.yaml"
expect "command the image lacks" validate_k8s.mjs "is not installed by docker/Dockerfile.cpu"

fresh; sed -i '0,/replicas: 2/s/replicas: 2/replicas: two/' "$work/tree/k8s/base/workers.yaml"
expect "schema violation" validate_k8s.mjs "schema: data/spec/replicas must be integer"

fresh; sed -i '/nvidia.com\/gpu: 1/d' "$work/tree/k8s/overlays/gpu/trainer-gpu.yaml"
expect "GPU overlay without GPUs" validate_k8s.mjs "must request and limit nvidia.com/gpu"

fresh; python3 - "$work/tree/k8s/base/coordinator.yaml" <<'PY'
import sys; p = sys.argv[1]; s = open(p).read()
open(p, "w").write(s.replace('            - --metrics-port\n            - "9464"\n', ""))
PY
expect "scraped pod without metrics" validate_k8s.mjs "passes no --metrics-port 9464"

fresh; python3 - "$work/tree/k8s/base/coordinator.yaml" <<'PY'
import sys; p = sys.argv[1]; s = open(p).read()
open(p, "w").write(s.replace('            - --metrics-host\n            - 0.0.0.0\n', ""))
PY
expect "scraped pod with loopback-only metrics" validate_k8s.mjs "listen on 127.0.0.1"

fresh; sed -i 's# /src/build/bin/fsc-worker##' "$work/tree/docker/Dockerfile.cpu"
expect "Dockerfile missing a binary" check_images.mjs "must install fsc-worker"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
