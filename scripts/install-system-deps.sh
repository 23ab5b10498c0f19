#!/usr/bin/env bash
# Install the Debian packages the local test environment needs (idempotent:
# packages already installed are skipped, and apt runs only if one is missing).
#   etcd-server: the API server's storage for the local Kubernetes API server.
#   openssh-server, git: the local Git server over SSH that the e2e test starts
#   (its own sshd on a high port with its own config; never the system service).
#   shellcheck: `npm run lint:shell` checks scripts/stack.sh with it.
set -euo pipefail
packages=(etcd-server openssh-server openssh-client git shellcheck)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "[system-deps] installing: ${missing[*]}" >&2
$sudo apt-get update -qq
# No daemons: the tests start their own on 127.0.0.1, never a system service.
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
