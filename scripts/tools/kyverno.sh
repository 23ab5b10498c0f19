# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# The Kyverno CLI (kubectl-kyverno), pinned to the app version of the Kyverno
# Helm chart the program installs (chart 3.9.1 -> Kyverno v1.19.1), so tests
# run the same engine as the admission controller. Kyverno's go.mod replaces
# k8s.io/pod-security-admission with a fork, so `go install` refuses; a
# wrapper module requires kyverno and mirrors that replace line.
TOOL_NAME=kyverno
TOOL_VERSION=v1.19.1
tool_binaries=(kyverno)

tool_on_path_version() {
  command -v kyverno >/dev/null 2>&1 || return 0
  kyverno version 2>/dev/null | sed -n 's/^Version: //p'
}

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  new_wrapper_module "$work" gitops-kyverno/tools/kyverno
  (
    cd "$work" || return
    go mod edit -replace=k8s.io/pod-security-admission=github.com/kyverno/pod-security-admission@v0.0.0-20251031094455-46f20778634f
    go get "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno@$TOOL_VERSION"
    go build -ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$TOOL_VERSION" \
      -o "$dest/bin/kyverno" github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno
  )
  rm -rf "$work"
}
