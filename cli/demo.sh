#!/usr/bin/env bash
# npm run demo [-- up|down]: the main job on an embedded local default (see
# cli/demo/main.ts). `up` first builds or reuses the pinned tools, the
# Debian packages the local servers need and the Pulumi plugins.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/node_modules/.bin:$PATH"
cmd=${1:-up}
if [ "$cmd" = up ]; then
  bash scripts/install-system-deps.sh
  bash scripts/tools.sh
  bash scripts/pulumi-plugins.sh
fi
exec ts-node --transpile-only cli/demo/main.ts "$cmd"
