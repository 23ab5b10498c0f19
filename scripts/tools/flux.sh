# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# The Flux CLI, built from the github.com/fluxcd/flux2/v2 module.
# cmd/flux embeds cmd/flux/manifests/*.yaml, which upstream's Makefile renders
# from the network at release time; the module zip lacks them. We build from a
# writable copy of the module with one placeholder manifest: only `flux install`
# and `flux bootstrap` read them, and we use `flux build kustomization`.
TOOL_NAME=flux
TOOL_VERSION=v2.9.5
tool_binaries=(flux)

tool_on_path_version() {
  command -v flux >/dev/null 2>&1 || return 0
  flux version --client 2>/dev/null | sed -n 's/^flux: /v/p'
}

tool_build() {
  local dest=$1 src work; work=$(mktemp -d)
  src=$(go mod download -json "github.com/fluxcd/flux2/v2@$TOOL_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || die "flux: module download failed"
  cp -r "$src/." "$work/"; chmod -R u+w "$work"
  mkdir -p "$work/cmd/flux/manifests"
  printf '# Placeholder: this flux build cannot install controllers.\n' \
    > "$work/cmd/flux/manifests/placeholder.yaml"
  (
    cd "$work" || return
    go build -ldflags "-s -w -X main.VERSION=${TOOL_VERSION#v}" -o "$dest/bin/flux" ./cmd/flux
  )
  rm -rf "$work"
}
