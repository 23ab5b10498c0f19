#!/usr/bin/env bash
# CI guard before `destroy --delete-repository`: the fleet repository is shared,
# so refuse (exit 1) while an environment other than STACK's own still has
# clusters/<env>/ on the branch Flux follows; deleting it would cut that
# environment off from its GitOps source.
#   FLEET_TOKEN=... scripts/ci/fleet-in-use.sh STACK
# Reads githubOwner, repository, branch, environment and gitProvider from the
# committed Pulumi.STACK.yaml (defaults from stacks/defaults.ts). FLEET_TOKEN reads a
# private repository (sent as an HTTP header through git's environment, never
# in a URL or argument). FLEET_URL reads another URL instead (a mirror, or a
# test's local repository). Exit 0: no other environment; 1: refused; 2: the
# tree could not be read (which refuses too).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 STACK" >&2; exit 2; }
stack=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/ci/stack-setting.sh
source "$root/scripts/ci/stack-setting.sh"
setting() { stack_setting "$root" "$stack" "$1"; }

provider=$(setting gitProvider)
if [ "$provider" != github ]; then
  echo "gitProvider $provider: the program deletes no repository on destroy; nothing to check"
  exit 0
fi
own=$(setting environment)
branch=$(setting branch)
owner=$(setting githubOwner)
repository=$(setting repository)
url=${FLEET_URL:-}
if [ -z "$url" ]; then
  [ -n "$owner" ] || { echo "::error::Pulumi.$stack.yaml sets no githubOwner: cannot tell which repository would be deleted; refusing" >&2; exit 2; }
  url="https://github.com/$owner/$repository.git"
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ -n "${FLEET_TOKEN:-}" ]; then
  basic=$(printf 'x-access-token:%s' "$FLEET_TOKEN" | base64 -w0)
  echo "::add-mask::$basic"
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.https://github.com/.extraheader" GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $basic"
fi
git init -q --bare "$tmp/fleet.git"
if ! git -C "$tmp/fleet.git" fetch -q --depth 1 "$url" "refs/heads/$branch" 2>"$tmp/err"; then
  echo "::error::cannot read branch $branch of $url ($(tr '\n' ' ' <"$tmp/err")); refusing to delete a repository whose users are unknown" >&2
  exit 2
fi
others=()
while IFS= read -r dir; do
  env=${dir#clusters/}
  [ "$env" = "$own" ] || others+=("$env")
done < <(git -C "$tmp/fleet.git" ls-tree -d --name-only FETCH_HEAD clusters/)
if [ ${#others[@]} -gt 0 ]; then
  echo "::error::refusing to delete the fleet repository $url: environment(s) ${others[*]} still sync from clusters/<env>/ on $branch. Destroy those stacks first, or destroy $stack without delete-repository." >&2
  exit 1
fi
echo "no environment other than $own has clusters/<env>/ on $branch of $url"
