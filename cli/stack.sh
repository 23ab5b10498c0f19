#!/usr/bin/env bash
# Day-2 wrapper around the Pulumi CLI with the project's defaults.
#   cli/stack.sh preview STACK [pulumi flags...]
#   cli/stack.sh up      STACK [--wait] [--recover [--cancel-lock]] [pulumi flags...] (e.g. --yes)
#   cli/stack.sh wait    STACK [flux-wait flags...]     (cli/flux-wait.ts)
#   cli/stack.sh destroy STACK [--delete-repository] [--recover [--cancel-lock]] [pulumi flags...]
#   cli/stack.sh refresh STACK [pulumi flags...]
#   cli/stack.sh status  STACK [status flags...]         (cli/status.ts)
#   cli/stack.sh recover STACK [--cancel-lock]           (cli/recover.ts)
#   cli/stack.sh pulumi  ARGS...   any pulumi command, same CLI and backend
# Backend: $PULUMI_BACKEND_URL if set (Pulumi Cloud, s3://, gs://, azblob://,
# file://...), else a local file backend in ${PULUMI_LOCAL_BACKEND:-~/.pulumi-local}
# (outside the work tree), whose secrets need PULUMI_CONFIG_PASSPHRASE(_FILE).
# The backend is chosen for this process only; your `pulumi login` is left alone.
# When a plain `pulumi` in your shell would miss that backend or CLI, the
# commands the program prints start with `npm run pulumi --` instead
# (GITOPS_KYVERNO_CLI=npm, read by stacks/pulumi-command.ts).
# up --wait then asks Flux to reconcile at once and waits for every
# Kustomization to be Ready (cli/flux-wait.ts), failing with its message.
# destroy keeps the shared fleet repository unless --delete-repository is
# given: the choice is written to deleteRepositoryOnDestroy, and when that
# changes the setting an `up` records it in the state before the destroy.
# --recover first finishes what an interrupted up or destroy left (stale lock,
# leftover plugin processes, Helm releases left pending, pending operations;
# cli/recover.ts), then runs the command; --cancel-lock also removes a lock
# whose holder this host cannot check (another host, Pulumi Cloud).
# Every pulumi process of a run carries GITOPS_KYVERNO_RUN; when the CLI has
# exited, however it ended, what still carries it (a plugin) is killed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
# Arrays are expanded as ${a[@]+"${a[@]}"}: bash before 4.4 (macOS's 3.2)
# treats an empty "${a[@]}" as unbound under set -u.

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
  pulumi) stack="" ;;
  preview|up|wait|destroy|refresh|status|recover)
    [ $# -ge 1 ] || usage
    stack=$1; shift
    if [[ "$stack" == -* ]]; then
      echo "the stack name comes first, then flags: cli/stack.sh $cmd STACK [flags] (npm run $cmd -- STACK [flags]); got '$stack'" >&2
      exit 2
    fi
    [[ "$stack" =~ ^[A-Za-z0-9_.][A-Za-z0-9._/-]*$ ]] || { echo "invalid stack name: '$stack' (letters, digits, '.', '_', '-', and '/' for org/project/stack)" >&2; exit 2; }
    ;;
  *) usage ;;
esac
cd "$root"
# The project's Node (and ts-node) first, as under `npm run`.
export PATH="$root/node_modules/.bin:$PATH"

# Which command the program prints for the user to reach this stack: plain
# `pulumi` only when the user's own CLI already talks to the same backend.
npm_form=false
[ -n "${PULUMI_BACKEND_URL:-}" ] || npm_form=true
command -v pulumi >/dev/null || npm_form=true
if [ "$npm_form" = true ]; then
  export GITOPS_KYVERNO_CLI=npm; pulumi_cmd="npm run pulumi --"
else
  unset GITOPS_KYVERNO_CLI; pulumi_cmd=pulumi
fi

if [ "$cmd" = status ]; then exec ts-node "$root/cli/status.ts" "$stack" "$@"; fi
if [ "$cmd" = wait ]; then exec ts-node "$root/cli/flux-wait.ts" "$stack" "$@"; fi

# --recover and --cancel-lock (up, destroy) belong to the wrapper, not to pulumi.
recover=false recover_args=() rest=()
for a in "$@"; do
  case "$a" in
    --recover) recover=true ;;
    --cancel-lock) recover_args+=(--cancel-lock) ;;
    *) rest+=("$a") ;;
  esac
done
if [ "$cmd" = up ] || [ "$cmd" = destroy ] || [ "$cmd" = recover ]; then
  set -- ${rest[@]+"${rest[@]}"}
  if [ ${#recover_args[@]} -gt 0 ] && [ "$recover" = false ] && [ "$cmd" != recover ]; then
    echo "--cancel-lock goes with --recover: cli/stack.sh $cmd $stack --recover --cancel-lock" >&2
    exit 2
  fi
fi

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
  # A `pulumi login` of yours is left as it is, and not used here: say so.
  login=$(sed -n 's/^[[:space:]]*"current":[[:space:]]*"\([^"]*\)".*/\1/p' "${PULUMI_HOME:-$HOME/.pulumi}/credentials.json" 2>/dev/null | head -n 1 || true)
  if [ -n "$login" ] && [ "$login" != "$PULUMI_BACKEND_URL" ]; then
    echo "[stack] you are logged in to $login; this stack uses $PULUMI_BACKEND_URL (to use your login: export PULUMI_BACKEND_URL=$login)" >&2
  fi
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "local backend $PULUMI_BACKEND_URL: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (it encrypts the stack's secrets)" >&2
    exit 2
  fi
fi
echo "[stack] ${cmd}${stack:+ $stack} on $PULUMI_BACKEND_URL" >&2

# This run's mark on every pulumi process it starts (read by cli/recover/leftovers.ts).
run_marker="$$-$(date +%s)-$RANDOM $stack $(pwd -P)"
run_pulumi() { GITOPS_KYVERNO_RUN="$run_marker" pulumi "$@"; }
# Kills what of this run outlived its CLI (Linux: /proc; elsewhere the next --recover does).
reap_run() {
  [ -r /proc/self/environ ] || return 0
  local f pid found=()
  for f in /proc/[0-9]*/environ; do
    pid=${f#/proc/}; pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    if grep -qzxF -- "GITOPS_KYVERNO_RUN=$run_marker" "$f" 2>/dev/null; then found+=("$pid"); fi
  done
  [ ${#found[@]} -gt 0 ] || return 0
  kill -KILL ${found[@]+"${found[@]}"} 2>/dev/null || true
  # SIGKILL takes effect when the process is next scheduled: the next command must not
  # meet a plugin still holding its files, so wait (at most 10 s) until each is gone or a zombie.
  local waited=0 left
  while [ "$waited" -lt 100 ]; do
    left=0
    for pid in ${found[@]+"${found[@]}"}; do
      [ -r "/proc/$pid/stat" ] && [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)" != Z ] && left=$((left + 1))
    done
    [ "$left" -eq 0 ] && break
    sleep 0.1; waited=$((waited + 1))
  done
  echo "[stack] killed ${#found[@]} process(es) the pulumi CLI left running: ${found[*]}" >&2
}
trap reap_run EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ "$recover" = true ] || [ "$cmd" = recover ]; then
  ts-node --transpile-only "$root/cli/recover.ts" "$stack" ${recover_args[@]+"${recover_args[@]}"}
  if [ "$cmd" = recover ]; then exit 0; fi
fi

# Flags of `destroy` that also shape the recording `up` (confirmation, output,
# message, parallelism, config file). Anything else (--target,
# --target-dependents, --exclude-protected, --remove...) is destroy's alone.
recording_up_flags=(--yes -y --skip-preview -f --non-interactive --suppress-outputs --suppress-progress
  --diff --debug --logtostderr --emoji)
recording_up_value_flags=(--color --message -m --parallel -p --verbose -v --config-file)
# Flags whose value may follow as the next argument.
value_flags=("${recording_up_value_flags[@]}" --target -t --exclude)
in_list() { local x=$1; shift; local y; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

case "$cmd" in
  pulumi)
    exec pulumi "$@"
    ;;
  preview|up)
    # A new stack is created on first use (passphrase secrets on self-managed backends).
    pulumi stack select --create --stack "$stack" >/dev/null
    # The project's policy pack (policy/, docs/policy-pack.md): a mandatory violation stops both.
    policy=(--policy-pack "$root/policy")
    if [ "$cmd" = preview ]; then run_pulumi preview --stack "$stack" --diff "${policy[@]}" "$@"; exit; fi
    wait=false args=()
    for a in "$@"; do
      if [ "$a" = --wait ]; then wait=true; else args+=("$a"); fi
    done
    # A stack from before the deploy key's own resource: its old @pulumi/github resources leave the state first.
    ts-node --transpile-only "$root/cli/recover/legacy-github.ts" "$stack"
    run_pulumi up --stack "$stack" "${policy[@]}" ${args[@]+"${args[@]}"}
    if [ "$wait" = true ]; then exec ts-node "$root/cli/flux-wait.ts" "$stack"; fi
    ;;
  refresh)
    run_pulumi refresh --stack "$stack" "$@"
    ;;
  destroy)
    want=false args=() up_args=() targeted=false
    while [ $# -gt 0 ]; do
      a=$1; shift
      if [ "$a" = --delete-repository ]; then want=true; continue; fi
      name=${a%%=*} flag=("$a")
      if [[ "$a" != *=* ]] && in_list "$name" "${value_flags[@]}" && [ $# -gt 0 ]; then flag+=("$1"); shift; fi
      args+=("${flag[@]}")
      if in_list "$name" "${recording_up_flags[@]}" "${recording_up_value_flags[@]}"; then up_args+=("${flag[@]}"); fi
      if in_list "$name" --target -t --exclude; then targeted=true; fi
    done
    have=$(pulumi config get deleteRepositoryOnDestroy --stack "$stack" 2>/dev/null || echo false)
    if [ "$have" != "$want" ]; then
      if [ "$targeted" = true ]; then
        # A recording `up` would update the whole stack, not just the targets.
        echo "[stack] deleteRepositoryOnDestroy is recorded as $have; a destroy with --target/--exclude cannot change it to $want." >&2
        echo "[stack] Record it first with a full up, then destroy again:" >&2
        echo "  $pulumi_cmd config set deleteRepositoryOnDestroy $want --stack $stack && npm run up -- $stack" >&2
        exit 2
      fi
      echo "[stack] deleteRepositoryOnDestroy: $have -> $want; recording it with pulumi up first" >&2
      pulumi config set deleteRepositoryOnDestroy "$want" --stack "$stack"
      run_pulumi up --stack "$stack" ${up_args[@]+"${up_args[@]}"}
    fi
    run_pulumi destroy --stack "$stack" ${args[@]+"${args[@]}"}
    ;;
esac
