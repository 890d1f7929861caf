#!/usr/bin/env bash
# Creates the cluster's tokens inside the running coordinator (its SQLite keeps only their SHA-256)
# and hands them out: the join token becomes the fsc-join-token Secret that the worker and trainer
# pods read as FSC_JOIN_TOKEN (they wait for it), the user token is printed once for `fsc`.
# Run after `kubectl apply -k k8s/overlays/...` once the coordinator pod is Ready:
#   k8s/bootstrap-tokens.sh [USER]
# Idempotent for the join token (an existing Secret is kept); each run prints a new user token.
set -euo pipefail
user=${1:-${USER:-admin}}
namespace=${FSC_NAMESPACE:-fsc}
# The coordinator's --db (k8s/base/coordinator.yaml; tests/deploy/validate_k8s.mjs keeps them equal).
DB=/var/lib/fsc/fsc.db
exec_coordinator() { kubectl -n "$namespace" exec deploy/fsc-coordinator -c coordinator -- "$@"; }

kubectl -n "$namespace" rollout status deploy/fsc-coordinator --timeout=300s >&2
if ! kubectl -n "$namespace" get secret fsc-join-token >/dev/null 2>&1; then
  join=$(exec_coordinator fsc-coordinator join-token create --db "$DB" | tail -n 1)
  kubectl -n "$namespace" create secret generic fsc-join-token --from-literal=token="$join" >&2
  echo "created Secret fsc-join-token; workers and trainers start now" >&2
fi
token=$(exec_coordinator fsc-coordinator token create --db "$DB" --user "$user" | tail -n 1)
echo "user token for $user (shown once; keep it like a password):" >&2
echo "export FSC_TOKEN=$token"
