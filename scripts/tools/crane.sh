# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# crane (go-containerregistry): serves the live local cluster's OCI registry
# and pushes the small podinfo images whose digests Kyverno resolves.
TOOL_NAME=crane
TOOL_VERSION=v0.22.1
tool_binaries=(crane)

tool_on_path_version() {
  command -v crane >/dev/null 2>&1 || return 0
  crane version 2>/dev/null | sed 's/^v\{0,1\}/v/'
}

tool_build() {
  GOBIN="$1/bin" go install -ldflags "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$TOOL_VERSION" \
    "github.com/google/go-containerregistry/cmd/crane@$TOOL_VERSION"
}
