#!/usr/bin/env bash
# CI: write the environment's kubeconfig ($KUBECONFIG_DATA) to FILE, readable
# only by the runner user, export KUBECONFIG=FILE to later steps, and check that
# the stack's committed settings can use it: the kubeContext Pulumi.STACK.yaml
# names must be a context of that kubeconfig, and no kubeconfig path may be set
# (the runner has no such file).
#   KUBECONFIG_DATA=... scripts/ci/kubeconfig.sh STACK FILE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: KUBECONFIG_DATA=... $0 STACK FILE" >&2; exit 2; }
stack=$1 file=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${KUBECONFIG_DATA:-}" ]; then
  echo "::error::secret KUBECONFIG is not set in this job's environment: add the $stack cluster's kubeconfig as an environment secret named KUBECONFIG" >&2
  exit 1
fi
umask 077
printf '%s\n' "$KUBECONFIG_DATA" > "$file"

# shellcheck source=scripts/ci/stack-setting.sh
source "$root/scripts/ci/stack-setting.sh"
path_setting=$(stack_setting "$root" "$stack" kubeconfig)
if [ -n "$path_setting" ]; then
  echo "::error::Pulumi.$stack.yaml sets kubeconfig to '$path_setting', a path the runner does not have: remove it (pulumi config rm kubeconfig --stack $stack) so the program uses the KUBECONFIG secret" >&2
  exit 1
fi
want=$(stack_setting "$root" "$stack" kubeContext)
contexts=$(KUBECONFIG="$file" kubectl config get-contexts -o name)
if [ -n "$want" ] && ! grep -qxF -- "$want" <<<"$contexts"; then
  echo "::error::Pulumi.$stack.yaml sets kubeContext '$want', which the KUBECONFIG secret does not have (it has: $(tr '\n' ' ' <<<"$contexts")). Rename the context in the secret to '$want', or set the stack's kubeContext to one of those." >&2
  exit 1
fi
if [ -z "$want" ] && [ -z "$(KUBECONFIG="$file" kubectl config current-context 2>/dev/null || true)" ]; then
  echo "::error::the KUBECONFIG secret has no current-context and Pulumi.$stack.yaml sets no kubeContext: set one of them" >&2
  exit 1
fi
if [ -n "${GITHUB_ENV:-}" ]; then echo "KUBECONFIG=$file" >> "$GITHUB_ENV"; fi
echo "kubeconfig for $stack written to $file (context ${want:-<current-context>})"
