#!/usr/bin/env bash
# CI: write the stack's kubeconfig to FILE, readable only by the runner user,
# export KUBECONFIG=FILE to later steps, and check that the stack's committed
# settings can use it: the kubeContext Pulumi.STACK.yaml names must be a context
# of that kubeconfig, and no kubeconfig path may be set (the runner has no such file).
# The kubeconfig comes from EKS when $EKS_CLUSTER is set (the documented path:
# `aws eks update-kubeconfig` with the role the job assumed by OIDC, so it holds
# no credential, only the `aws eks get-token` call), else from $KUBECONFIG_DATA.
#   KUBECONFIG_DATA=... | EKS_CLUSTER=... EKS_REGION=... scripts/ci/kubeconfig.sh STACK FILE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: KUBECONFIG_DATA=... | EKS_CLUSTER=... $0 STACK FILE" >&2; exit 2; }
stack=$1 file=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/ci/stack-setting.sh
source "$root/scripts/ci/stack-setting.sh"
want=$(stack_setting "$root" "$stack" kubeContext)
umask 077
if [ -n "${EKS_CLUSTER:-}" ]; then
  # The context is named as the stack expects, so Pulumi.STACK.yaml needs no change.
  aws eks update-kubeconfig --name "$EKS_CLUSTER" --region "${EKS_REGION:?EKS_REGION (aws-region) is needed with EKS_CLUSTER}" \
    --kubeconfig "$file" ${want:+--alias "$want"} >/dev/null || {
    echo "::error::aws eks update-kubeconfig for cluster $EKS_CLUSTER failed: the job needs aws-role-arn (OIDC) with eks:DescribeCluster, and that role needs an access entry on the cluster" >&2
    exit 1
  }
  chmod 600 "$file"
elif [ -n "${KUBECONFIG_DATA:-}" ]; then
  printf '%s\n' "$KUBECONFIG_DATA" > "$file"
else
  echo "::error::no cluster credential for $stack in this job's environment: set the variable EKS_CLUSTER (with AWS_ROLE_ARN, by OIDC) or add the cluster's kubeconfig as an environment secret named KUBECONFIG" >&2
  exit 1
fi

path_setting=$(stack_setting "$root" "$stack" kubeconfig)
if [ -n "$path_setting" ]; then
  echo "::error::Pulumi.$stack.yaml sets kubeconfig to '$path_setting', a path the runner does not have: remove it (pulumi config rm kubeconfig --stack $stack) so the program uses the KUBECONFIG secret" >&2
  exit 1
fi
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
