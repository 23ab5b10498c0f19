#!/usr/bin/env bash
# Lint GitHub Actions workflows with the pinned actionlint (built from its Go
# module by scripts/tools.sh). Usage: scripts/lint-workflows.sh [file.yml ...]
# (default: every workflow in .github/workflows). Exits non-zero on any finding.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/tools.sh" actionlint >&2
cd "$root"
if [ $# -eq 0 ]; then
  shopt -s nullglob
  set -- .github/workflows/*.yml .github/workflows/*.yaml
  [ $# -gt 0 ] || { echo "no workflows in .github/workflows" >&2; exit 1; }
fi
# ShellCheck and pyflakes integrations off: results must not depend on which
# of them a machine happens to have (GitHub's runners have shellcheck, this
# machine does not).
exec "$root/.tools/bin/actionlint" -shellcheck= -pyflakes= "$@"
