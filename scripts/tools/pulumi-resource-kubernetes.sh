# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# The Kubernetes resource provider for Pulumi, installed into the plugin cache
# by scripts/pulumi-plugins.sh (not linked on PATH: the engine would prefer an
# ambient plugin over the cache).
#
# The module proxy serves github.com/pulumi/pulumi-kubernetes/provider/v4 at
# one pseudo-version only: the commit tagged v4.25.0. That is what is built
# here, and package.json pins @pulumi/kubernetes to the same 4.25.0, so the SDK
# asks the engine for the provider that runs (no version-mismatch warning).
# Its go.mod replaces the sdk/v4 module with a sibling folder, and its main.go
# embeds schema files that `go generate` writes from the committed schema.json
# and that the module zip lacks: both are fixed in a local copy.
TOOL_NAME=pulumi-resource-kubernetes
TOOL_VERSION=4.25.0
PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
PROVIDER_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199
# the sdk/v4 release the provider pins, from the proxy instead of the sibling folder
PROVIDER_SDK=v4.24.0
tool_binaries=()

tool_on_path_version() { :; }

tool_build() {
  local dest=$1 work src; work=$(mktemp -d)
  src=$(cd "$work" && go mod download -json "$PROVIDER_MODULE@$PROVIDER_PSEUDO" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || die "could not download $PROVIDER_MODULE@$PROVIDER_PSEUDO"
  cp -r "$src/." "$work/" && chmod -R u+w "$work"
  (
    cd "$work" || return
    go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
      -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PROVIDER_SDK"
    go mod tidy
    (cd cmd/pulumi-resource-kubernetes && VERSION="$TOOL_VERSION" go generate .)
    go build -ldflags "-s -w -X $PROVIDER_MODULE/pkg/version.Version=$TOOL_VERSION" \
      -o "$dest/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
  )
  rm -rf "$work"
}
