#!/usr/bin/env bash
# npm test: every check, in the order that fails fastest. The pinned tools are
# built on first use (cached outside the tree) and put first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }

step "typecheck"; npm run --silent typecheck
step "lint"; npm run --silent lint
step "unit tests"; npm run --silent test:unit

step "system packages (etcd, sshd, git)"; bash scripts/install-system-deps.sh
step "pinned tools"; bash scripts/tools.sh
step "Pulumi plugins"; bash scripts/pulumi-plugins.sh

step "workflows (actionlint)"; npm run --silent lint:workflows
step "fleet tree (kustomize, flux, kyverno, strict server-side schemas)"; npm run --silent validate
step "fleet tree breaks are caught"; npm run --silent test:validate
step "day-2 commands and workflows against a local API server"; npm run --silent test:ops
step "end to end: the real Pulumi engine"; npm run --silent test:e2e
