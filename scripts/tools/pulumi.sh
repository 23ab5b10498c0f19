# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# The Pulumi CLI at the version of @pulumi/pulumi in package-lock.json, with
# the Node.js language host and the dynamic-provider launcher beside it (the
# engine looks for its bundled plugins next to its own executable).
#
# CLI: pkg/v3's go.mod has replace lines, so `go install` refuses it; a
# wrapper module requires pkg/v3 and sdk/v3 at the same version and mirrors
# the one replace that matters outside the pulumi repo (a clipboard fork).
# Language host: the upstream module
# (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not
# served by the module proxy here, so this project has its own small host in
# scripts/tools/pulumi-language-nodejs/; the tool version carries a hash of
# those sources so an edit rebuilds it (the CLI then comes from the Go cache).
TOOL_NAME=pulumi
PULUMI_VERSION=3.276.0
_plnsrc="$(cd "$(dirname "${BASH_SOURCE[0]}")/pulumi-language-nodejs" && pwd)"
TOOL_VERSION="$PULUMI_VERSION-lh.$(cat "$_plnsrc"/go.mod "$_plnsrc"/go.sum "$_plnsrc"/*.go "$_plnsrc"/pulumi-resource-* | sha256sum | cut -c1-12)"
tool_binaries=(pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs)

# An official install at the same version (CLI with its bundled language host) is used as is;
# our own earlier builds (linked from .tools/bin) do not count.
tool_on_path_version() {
  command -v pulumi >/dev/null 2>&1 || return 0
  case "$(readlink -f "$(command -v pulumi)")" in "$TOOLS_CACHE"/*) return 0 ;; esac
  command -v pulumi-language-nodejs >/dev/null 2>&1 || return 0
  command -v pulumi-resource-pulumi-nodejs >/dev/null 2>&1 || return 0
  [ "$(pulumi version 2>/dev/null)" = "v$PULUMI_VERSION" ] && echo "$TOOL_VERSION"
}

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  new_wrapper_module "$work" gitops-kyverno/tools/pulumi
  (
    cd "$work" || return
    cat >> go.mod <<MOD

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
    go build -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$dest/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
  rm -rf "$work"
  (cd "$_plnsrc" && go build -ldflags "-s -w -X main.version=$PULUMI_VERSION" -o "$dest/bin/pulumi-language-nodejs" .)
  install -m 0755 "$_plnsrc/pulumi-resource-pulumi-nodejs" "$dest/bin/"
}
