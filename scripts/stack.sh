#!/usr/bin/env bash
# Day-2 wrapper around the Pulumi CLI with the project's defaults.
#   scripts/stack.sh preview STACK [pulumi flags...]
#   scripts/stack.sh up      STACK [--wait] [pulumi flags...] (e.g. --yes)
#   scripts/stack.sh wait    STACK [flux-wait flags...]     (scripts/flux-wait.ts)
#   scripts/stack.sh destroy STACK [--delete-repository] [pulumi flags...]
#   scripts/stack.sh refresh STACK [pulumi flags...]
#   scripts/stack.sh status  STACK [status flags...]         (scripts/status.ts)
# Backend: $PULUMI_BACKEND_URL if set (Pulumi Cloud, s3://, gs://, azblob://,
# file://...), else a local file backend in ${PULUMI_LOCAL_BACKEND:-~/.pulumi-local}
# (outside the work tree), whose secrets need PULUMI_CONFIG_PASSPHRASE(_FILE).
# up --wait then asks Flux to reconcile at once and waits for every
# Kustomization to be Ready (scripts/flux-wait.ts), failing with its message.
# destroy keeps the shared fleet repository unless --delete-repository is
# given: the choice is written to deleteRepositoryOnDestroy, and when that
# changes the setting an `up` records it in the state before the destroy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 stack=$2; shift 2
[[ "$stack" =~ ^[A-Za-z0-9._/-]+$ ]] || { echo "invalid stack name: $stack" >&2; exit 2; }
cd "$root"
# The project's Node (and ts-node) first, as under `npm run`.
export PATH="$root/node_modules/.bin:$PATH"

if [ "$cmd" = status ]; then exec ts-node "$root/scripts/status.ts" "$stack" "$@"; fi
if [ "$cmd" = wait ]; then exec ts-node "$root/scripts/flux-wait.ts" "$stack" "$@"; fi

# The CLI: your Pulumi install if there is one; else the project's build from
# `npm run tools` (offline: it fails fast rather than download plugins, and uses
# your own ~/.pulumi, never the tests' plugin stand-ins).
if ! command -v pulumi >/dev/null && [ -x "$root/.tools/bin/pulumi" ]; then
  export PATH="$root/.tools/bin:$PATH"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"
fi
command -v pulumi >/dev/null || { echo "no pulumi CLI: run 'npm run tools -- pulumi' or install Pulumi" >&2; exit 2; }
export PULUMI_SKIP_UPDATE_CHECK=true
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  dir="${PULUMI_LOCAL_BACKEND:-$HOME/.pulumi-local}"
  mkdir -p "$dir"
  export PULUMI_BACKEND_URL="file://$dir"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "local backend $PULUMI_BACKEND_URL: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (it encrypts the stack's secrets)" >&2
    exit 2
  fi
fi
echo "[stack] $cmd $stack on $PULUMI_BACKEND_URL" >&2

case "$cmd" in
  preview|up)
    # A new stack is created on first use (passphrase secrets on self-managed backends).
    pulumi stack select --create "$stack" >/dev/null
    if [ "$cmd" = preview ]; then exec pulumi preview --stack "$stack" --diff "$@"; fi
    wait=false args=()
    for a in "$@"; do
      if [ "$a" = --wait ]; then wait=true; else args+=("$a"); fi
    done
    pulumi up --stack "$stack" "${args[@]}"
    if [ "$wait" = true ]; then exec ts-node "$root/scripts/flux-wait.ts" "$stack"; fi
    ;;
  refresh)
    exec pulumi refresh --stack "$stack" "$@"
    ;;
  destroy)
    want=false args=()
    for a in "$@"; do
      if [ "$a" = --delete-repository ]; then want=true; else args+=("$a"); fi
    done
    have=$(pulumi config get deleteRepositoryOnDestroy --stack "$stack" 2>/dev/null || echo false)
    if [ "$have" != "$want" ]; then
      echo "[stack] deleteRepositoryOnDestroy: $have -> $want; recording it with pulumi up first" >&2
      pulumi config set deleteRepositoryOnDestroy "$want" --stack "$stack"
      pulumi up --stack "$stack" "${args[@]}"
    fi
    exec pulumi destroy --stack "$stack" "${args[@]}"
    ;;
  *) usage ;;
esac
