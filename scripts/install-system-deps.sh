#!/usr/bin/env bash
# Install the Debian packages the local test environment needs (idempotent:
# packages already installed are skipped, and apt runs only if one is missing).
#   (etcd is built from Go modules by scripts/tools/etcd.sh: Debian's 3.4 is too old for kube-apiserver 1.36.)
#   chromium: the browser the demo test drives (puppeteer-core) to check Flux's web UI.
#   openssh-server, git: the local Git server over SSH that the e2e test starts
#   (its own sshd on a high port with its own config; never the system service).
#   ShellCheck: the workflow policy test and `npm run lint:shell` lint shell scripts with it.
set -euo pipefail
packages=(openssh-server openssh-client git chromium shellcheck)

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
