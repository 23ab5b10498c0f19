# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# kwok: simulated nodes and pods for the live local cluster (local-cluster/).
# The binary has no stages of its own; the module's kustomize/stage/ holds the
# node and pod lifecycles (initialize, heartbeat, ready, complete, delete),
# copied beside the binary into stages/.
TOOL_NAME=kwok
TOOL_VERSION=v0.8.0
tool_binaries=(kwok)

tool_on_path_version() { return 0; }

tool_build() {
  local dest=$1 src
  GOBIN="$dest/bin" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$TOOL_VERSION"
  src=$(go mod download -json "sigs.k8s.io/kwok@$TOOL_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  mkdir -p "$dest/stages"
  cp -r "$src/kustomize/stage/." "$dest/stages/"; chmod -R u+w "$dest/stages"
}
