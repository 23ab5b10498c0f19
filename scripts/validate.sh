#!/usr/bin/env bash
# npm run validate [-- --fleet DIR] [-- --env NAME ...]
# Proves the fleet tree (fleet/ and the tree each stack commits) with the real
# tools: kustomize and Flux builds, Kyverno's CLI tests, and strict server-side
# schema validation on a local kube-apiserver. See scripts/validate/main.ts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# Pinned builds, cached outside the tree; only the first run compiles.
bash "$root/scripts/tools.sh" kustomize flux kyverno kube-apiserver kube-controller-manager >&2
command -v etcd >/dev/null || bash "$root/scripts/install-system-deps.sh"
command -v kubectl >/dev/null || [ -x "$root/.tools/bin/kubectl" ] || {
  echo "validate: kubectl not found (on .tools/bin or PATH)" >&2; exit 2; }

exec "$root/node_modules/.bin/ts-node" --transpile-only "$root/scripts/validate/main.ts" "$@"
