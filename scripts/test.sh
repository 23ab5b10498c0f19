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
# together TITLE SCRIPT [TITLE SCRIPT ...]: npm scripts run side by side (each starts
# its own servers on free ports and spends much of its time waiting on controllers);
# each one's output is printed whole as it ends, and its time marked "||" in the table.
together() {
  local dir t0=$SECONDS; dir=$(mktemp -d)
  local titles=() n=0 i
  while [ $# -ge 2 ]; do
    titles+=("$1")
    ( s0=$SECONDS; rc=0; npm run --silent "$2" > "$dir/$n.log" 2>&1 || rc=$?
      printf '%s %s\n' "$rc" "$(( SECONDS - s0 ))" > "$dir/$n.tmp" && mv "$dir/$n.tmp" "$dir/$n.done" ) &
    n=$((n + 1)); shift 2
  done
  local joined; joined=$(printf '%s; ' "${titles[@]}")
  printf '\n== side by side: %s\n' "${joined%; }"
  local printed=0 failed_rc=0 failed_title="" rc secs
  local shown=()
  while [ "$printed" -lt "$n" ]; do
    for i in $(seq 0 $((n - 1))); do
      if [ ! -f "$dir/$i.done" ] || [ -n "${shown[$i]:-}" ]; then continue; fi
      shown[i]=1; printed=$((printed + 1))
      read -r rc secs < "$dir/$i.done"
      printf '\n== %s (%ss)\n' "${titles[$i]}" "$secs"
      tee -a "$log" < "$dir/$i.log"
      printf '%6ss  || %s\n' "$secs" "${titles[$i]}" >> "$times"
      if [ "$rc" -ne 0 ] && [ "$failed_rc" -eq 0 ]; then failed_rc=$rc; failed_title=${titles[$i]}; fi
    done
    [ "$printed" -lt "$n" ] && sleep 1
  done
  wait
  rm -rf "$dir"
  printf '%6ss  side by side (wall)\n' "$(( SECONDS - t0 ))" >> "$times"
  if [ "$failed_rc" -ne 0 ]; then
    local failed; failed=$(failed_count); [ "$failed" -gt 0 ] || failed=1
    printf '\n== failed: %s (exit %s)\n' "$failed_title" "$failed_rc"
    summary "$failed"
    exit "$failed_rc"
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
# Side by side where neither stage holds a time bound the other could push past:
# test:validate and test:e2e assert no timing; test:faults and test:demo bound
# their waits at 60 s, three times what they take alone. test:live's 30 s bounds
# run alone.
together "fleet tree breaks are caught" test:validate \
  "end to end: the real Pulumi engine" test:e2e
stage "day-2 commands and workflows against a local API server" npm run --silent test:ops
stage "the live GitOps loop: staging and production on one repository, real Flux, Kyverno and charts" npm run --silent test:live
together "faults: killed runs, an unknown deploy key, Kyverno down" test:faults \
  "npm run demo, its printed commands, and Flux's web UI in Chromium" test:demo

# A stage can exit 0 with failing tests inside (a runner that does not fail on them):
# the closing count is read from the log, and any failure fails npm test.
failed=$(failed_count)
summary "$failed"
[ "$failed" -eq 0 ]
