#!/usr/bin/env bash
# Measures CI as a cold machine runs it, without touching this machine's caches:
# clones HEAD into a scratch folder and runs .ci/run (CI=true) with every cache
# private and empty: built tools, the tests' Pulumi home, Go modules and build
# cache, npm's cache. Debian packages already installed stay installed.
# Usage: scripts/ci-cold.sh [SCRATCH]   (default: a new /tmp/ci-cold-*; KEEP=1 keeps it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$(mktemp -d /tmp/ci-cold-XXXXXX)}
mkdir -p "$scratch"
# shellcheck disable=SC2317 # run by the EXIT trap
clean() {
  [ -n "${KEEP:-}" ] && { echo "kept $scratch"; return; }
  # Go marks module files read-only.
  GOMODCACHE="$scratch/go-mod" go clean -modcache 2>/dev/null || true
  rm -rf "$scratch"
}
trap clean EXIT

git clone -q "$root" "$scratch/repo"
export CI=true \
  GITOPS_TOOLS_CACHE="$scratch/tools" \
  GITOPS_PULUMI_HOME="$scratch/pulumi-home" \
  GOCACHE="$scratch/go-build" \
  GOMODCACHE="$scratch/go-mod" \
  npm_config_cache="$scratch/npm"
start=$SECONDS
rc=0
(cd "$scratch/repo" && bash .ci/run) > "$scratch/ci.log" 2>&1 || rc=$?
took=$(( SECONDS - start ))
tail -40 "$scratch/ci.log"
echo
echo "Tool builds (s):"
# One row per tool script (a shared build folder such as kubernetes/ is counted
# in the tool that built it).
for f in "$scratch"/tools/*/*/.build-seconds; do
  tool=$(basename "$(dirname "$(dirname "$f")")")
  [ -f "$root/scripts/tools/$tool.sh" ] && printf '%6s  %s\n' "$(cat "$f")" "$tool"
done | sort -rn
printf '\ncold CI (.ci/run, CI=true): exit %s after %ss (%s min); the limit is 90 min\n' "$rc" "$took" "$(( took / 60 ))"
exit "$rc"
