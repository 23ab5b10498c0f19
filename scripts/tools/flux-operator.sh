# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# The Flux Operator, run by the live local cluster as a host process
# (local-cluster/), with what its image carries beside the binary:
#   bin/flux-operator  the operator, with its web UI built from the module's web/ sources
#   data/              Flux's distribution manifests (config/data), its --storage-path,
#                      so a FluxInstance installs Flux 2.9.5 offline
#   config/            its CRDs, RBAC and manager manifests, from which the local
#                      chart mirror assembles the flux-operator chart
# Its go.mod asks Go 1.27 (the proxy serves that toolchain), and one dependency
# version (go-containerregistry/pkg/authn/kubernetes of 2026-06-04) is refused:
# an earlier served pseudo-version builds. The operator refuses to start unless
# FIPS 140 mode is on, as its image builds it: GOFIPS140=latest.
TOOL_NAME=flux-operator
TOOL_VERSION=v0.59.0
tool_binaries=(flux-operator)
FLUX_OPERATOR_GO=go1.27.3
FLUX_OPERATOR_AUTHN_K8S=v0.0.0-20260224031529-85f2bf5f7303

tool_on_path_version() { return 0; }

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  export GOTOOLCHAIN=$FLUX_OPERATOR_GO
  module_copy "github.com/controlplaneio-fluxcd/flux-operator@$TOOL_VERSION" "$work"
  (
    cd "$work/web" || return
    # The web UI: its lockfile pins every package; the build writes web/dist,
    # which web/embed.go embeds.
    npm ci --no-audit --no-fund --loglevel=error
    npm run --silent build
  )
  [ -f "$work/web/dist/index.html" ] || die "flux-operator: the web UI build wrote no web/dist/index.html"
  (
    cd "$work" || return
    go mod edit -require="github.com/google/go-containerregistry/pkg/authn/kubernetes@$FLUX_OPERATOR_AUTHN_K8S"
    go mod download github.com/google/go-containerregistry/pkg/authn/kubernetes
    GOFIPS140=latest go build -mod=mod -ldflags "-s -w -X main.VERSION=${TOOL_VERSION#v}" \
      -o "$dest/bin/flux-operator" ./cmd/operator
  )
  cp -r "$work/config/data" "$dest/data"
  mkdir -p "$dest/config"
  cp -r "$work/config/crd" "$work/config/rbac" "$work/config/manager" "$work/config/default" "$dest/config/"
  rm -rf "$work"
}
