# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# Flux's source-controller, at the version Flux 2.9.5 deploys, run by the live
# local cluster as a host process (local-cluster/). Built from a copy of its
# module: its go.mod points the api module at ./api, which the module zip lacks
# (the api is a module of its own, served), and requires fluxcd/pkg/artifact
# v0.18.3, which the proxy refuses; v0.18.0 is served and builds.
TOOL_NAME=source-controller
TOOL_VERSION=v1.9.5
tool_binaries=(source-controller)

tool_on_path_version() { return 0; }

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  module_copy "github.com/fluxcd/source-controller@$TOOL_VERSION" "$work"
  (
    cd "$work" || return
    go mod edit -dropreplace=github.com/fluxcd/source-controller/api
    go mod edit -require=github.com/fluxcd/pkg/artifact@v0.18.0
    go mod download github.com/fluxcd/pkg/artifact
    go build -mod=mod -ldflags "-s -w" -o "$dest/bin/source-controller" .
  )
  rm -rf "$work"
}
