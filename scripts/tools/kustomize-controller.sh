# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# Flux's kustomize-controller, at the version Flux 2.9.5 deploys, run by the
# live local cluster as a host process (local-cluster/). Built from a copy of
# its module without the replace that points its api module at ./api (absent
# from the module zip; the api module is served on its own).
TOOL_NAME=kustomize-controller
TOOL_VERSION=v1.9.5
tool_binaries=(kustomize-controller)

tool_on_path_version() { return 0; }

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  module_copy "github.com/fluxcd/kustomize-controller@$TOOL_VERSION" "$work"
  (
    cd "$work" || return
    go mod edit -dropreplace=github.com/fluxcd/kustomize-controller/api
    go build -mod=mod -ldflags "-s -w" -o "$dest/bin/kustomize-controller" .
  )
  rm -rf "$work"
}
