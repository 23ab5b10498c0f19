# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# Kyverno's admission controller (cmd/kyverno), the same release as the CLI
# (kyverno.sh) and the chart the program installs. The live local cluster runs
# it as a host process in its out-of-cluster mode (webhooks by URL on
# 127.0.0.1). Same wrapper module as the CLI: it mirrors kyverno's replace of
# k8s.io/pod-security-admission, so most packages come from the CLI's build cache.
TOOL_NAME=kyverno-admission-controller
TOOL_VERSION=v1.19.1
tool_binaries=(kyverno-admission-controller)

tool_on_path_version() { return 0; }

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  new_wrapper_module "$work" gitops-kyverno/tools/kyverno-admission-controller
  (
    cd "$work" || return
    go mod edit -replace=k8s.io/pod-security-admission=github.com/kyverno/pod-security-admission@v0.0.0-20251031094455-46f20778634f
    go get "github.com/kyverno/kyverno/cmd/kyverno@$TOOL_VERSION"
    go build -ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$TOOL_VERSION" \
      -o "$dest/bin/kyverno-admission-controller" github.com/kyverno/kyverno/cmd/kyverno
  )
  rm -rf "$work"
}
