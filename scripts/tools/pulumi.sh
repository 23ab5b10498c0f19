# The Pulumi CLI at the version of @pulumi/pulumi in package-lock.json.
# pkg/v3's go.mod has replace lines, so `go install` refuses it: a wrapper
# module requires pkg/v3 and sdk/v3 at the same version and mirrors the one
# replace that matters outside the pulumi repo (a clipboard fork).
TOOL_NAME=pulumi
TOOL_VERSION=3.276.0
tool_binaries=(pulumi)

tool_on_path_version() {
  command -v pulumi >/dev/null 2>&1 || return 0
  pulumi version 2>/dev/null | sed -n 's/^v//p'
}

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  new_wrapper_module "$work" gitops-kyverno/tools/pulumi
  (
    cd "$work"
    cat >> go.mod <<MOD

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$TOOL_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$TOOL_VERSION"
    go build -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$TOOL_VERSION" \
      -o "$dest/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
  rm -rf "$work"
}
