# shellcheck shell=bash
# Shared helpers for scripts/tools/<tool>.sh. Each tool script is sourced by
# scripts/tools.sh and defines: TOOL_NAME, TOOL_VERSION, tool_binaries (names it
# installs), tool_on_path_version (prints the version of a binary on PATH, or
# nothing) and tool_build DEST (builds into DEST/bin).
#
# Built tools live outside the work tree, keyed by tool and version, so a CI
# clone in another folder on the same machine reuses them:
#   ${GITOPS_TOOLS_CACHE:-~/.cache/gitops-kyverno/tools}/<tool>/<version>/bin
# scripts/tools.sh links every tool's binaries into .tools/bin (git-ignored).

TOOLS_CACHE="${GITOPS_TOOLS_CACHE:-$HOME/.cache/gitops-kyverno/tools}"
# The tests' own Pulumi home: the plugins built here (some are test stand-ins,
# see scripts/pulumi-plugins.sh) never enter the user's ~/.pulumi.
export GITOPS_PULUMI_HOME="${GITOPS_PULUMI_HOME:-$HOME/.cache/gitops-kyverno/pulumi-home}"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
export CGO_ENABLED="${CGO_ENABLED:-0}"

log() { printf '[tools] %s\n' "$*" >&2; }
die() { printf '[tools] error: %s\n' "$*" >&2; exit 1; }

# tool_dir TOOL VERSION -> the cache folder of that build
tool_dir() { printf '%s/%s/%s' "$TOOLS_CACHE" "$1" "$2"; }

# new_wrapper_module DIR MODULE_NAME: an empty Go module to build a tool whose
# own go.mod has replace lines (go install refuses those).
new_wrapper_module() {
  rm -rf "$1" && mkdir -p "$1"
  (cd "$1" && go mod init "$2" >/dev/null 2>&1)
}

# module_copy MODULE@VERSION DIR: a writable copy of a module's source in DIR,
# for builds that must edit its go.mod (drop a replace that points inside the
# repository, pin a served version of a refused dependency) or add files.
module_copy() {
  local src
  src=$(go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || die "module download failed: $1"
  rm -rf "$2"; mkdir -p "$2"
  cp -r "$src/." "$2/"; chmod -R u+w "$2"
}
