#!/usr/bin/env bash
# CI, pull requests: what Flux would change in STACK's cluster if the merge's
# tree in TREE (scripts/render-fleet.ts) were committed, as a markdown section
# (scripts/pr-comment/flux-diff.ts), written to the step output `section` and to
# OUT if given. Runs only with the environment's preview kubeconfig
# ($KUBECONFIG_DATA); without one there is no section, and the job says so.
# A diff and a failed diff (e.g. an unreachable cluster) both exit 0: the
# section reports them; only bad usage or a kubeconfig that does not fit the
# stack's kubeContext fails the step.
#   KUBECONFIG_DATA=... scripts/ci/flux-diff.sh STACK TREE [OUT]
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then echo "usage: KUBECONFIG_DATA=... $0 STACK TREE [OUT]" >&2; exit 2; fi
stack=$1 tree=$2 out=${3:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${KUBECONFIG_DATA:-}" ]; then
  echo "::notice::no KUBECONFIG secret in this job's environment: no Flux diff for $stack on this pull request"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
GITHUB_ENV='' bash "$root/scripts/ci/kubeconfig.sh" "$stack" "$work/kubeconfig"
# shellcheck source=scripts/ci/stack-setting.sh
source "$root/scripts/ci/stack-setting.sh"
context=$(stack_setting "$root" "$stack" kubeContext)
args=(--tree "$tree" --env "$stack" --kubeconfig "$work/kubeconfig" --out "$work/section.md")
[ -z "$context" ] || args+=(--context "$context")
(cd "$root" && npx ts-node scripts/pr-comment/flux-diff.ts "${args[@]}")
cat "$work/section.md"
[ -z "$out" ] || cp "$work/section.md" "$out"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  delim="flux-diff-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  { echo "section<<$delim"; cat "$work/section.md"; echo "$delim"; } >> "$GITHUB_OUTPUT"
fi
