# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# kustomize, the standalone CLI (the engine kustomize-controller embeds).
# v5.8.2 is the newest release whose go.mod fits Go 1.26 (v5.8.3 asks 1.27).
# Its go.mod has no replace lines, so `go install` builds it as published.
TOOL_NAME=kustomize
TOOL_VERSION=v5.8.2
tool_binaries=(kustomize)

tool_on_path_version() {
  command -v kustomize >/dev/null 2>&1 || return 0
  kustomize version 2>/dev/null | head -n1
}

tool_build() {
  GOBIN="$1/bin" go install -ldflags "-s -w" \
    "sigs.k8s.io/kustomize/kustomize/v5@$TOOL_VERSION"
}
