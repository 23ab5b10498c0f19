#!/usr/bin/env bash
# npm test: every check, in the order that fails fastest. The pinned tools are
# built on first use (cached outside the tree) and put first on PATH. Ends with
# one line that counts the tests of every stage and a table of each stage's time
# (CI has 90 minutes; a cold machine spends most of them building tools).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"
log=$(mktemp); times=$(mktemp); trap 'rm -f "$log" "$times"' EXIT
started=$SECONDS
# mocha's "N passing"/"N failing" lines and validate's "N passed"/"N failed" line, summed.
passed_count() {
  sed -E 's/\x1b\[[0-9;]*m//g' "$log" | sed -nE 's/^ *([0-9]+) passing.*/\1/p; s/^validate: ([0-9]+) passed.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
failed_count() {
  sed -E 's/\x1b\[[0-9;]*m//g' "$log" | sed -nE 's/^ *([0-9]+) failing.*/\1/p; s/^validate: [0-9]+ passed, ([0-9]+) failed.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
summary() {
  printf '\nTime per stage:\n'; cat "$times"
  printf '%6ss  total\n' "$(( SECONDS - started ))"
  printf '\nnpm test: %s passed, %s failed\n' "$(passed_count)" "$1"
}
stage() {
  local title=$1 t0=$SECONDS rc=0; shift
  printf '\n== %s\n' "$title"
  "$@" 2>&1 | tee -a "$log" || rc=$?
  printf '%6ss  %s\n' "$(( SECONDS - t0 ))" "$title" >> "$times"
  if [ "$rc" -ne 0 ]; then
    # A stage that failed without a test runner's count (a lint, a build) counts as one failure.
    local failed; failed=$(failed_count); [ "$failed" -gt 0 ] || failed=1
    printf '\n== failed: %s (exit %s)\n' "$title" "$rc"
    summary "$failed"
    exit "$rc"
  fi
}

# Unit tests already start sshd and git: the system packages come first.
stage "system packages (sshd, git, chromium, shellcheck)" bash scripts/install-system-deps.sh
stage "typecheck" npm run --silent typecheck
stage "lint" npm run --silent lint
stage "format (prettier --check)" npm run --silent format:check
stage "unit tests" npm run --silent test:unit

stage "shell scripts (shellcheck)" npm run --silent lint:shell
stage "pinned tools" bash scripts/tools.sh
stage "Pulumi plugins" bash scripts/pulumi-plugins.sh

stage "workflows (actionlint)" npm run --silent lint:workflows
stage "fleet tree (kustomize, flux, kyverno, strict server-side schemas)" npm run --silent validate
stage "fleet tree breaks are caught" npm run --silent test:validate
stage "day-2 commands and workflows against a local API server" npm run --silent test:ops
stage "end to end: the real Pulumi engine" npm run --silent test:e2e
stage "the live GitOps loop: real Flux, Kyverno and charts" npm run --silent test:live
stage "faults: two environments at once, killed runs, an unknown deploy key, Kyverno down" npm run --silent test:faults
stage "npm run demo, its printed commands, and Flux's web UI in Chromium" npm run --silent test:demo

# A stage can exit 0 with failing tests inside (a runner that does not fail on them):
# the closing count is read from the log, and any failure fails npm test.
failed=$(failed_count)
summary "$failed"
[ "$failed" -eq 0 ]
