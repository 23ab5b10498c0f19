# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# kubectl at the same Kubernetes release as the local API server, so the tests'
# server-side dry-runs and reads do not depend on the machine's kubectl.
# Built together with kube-apiserver; see kube-apiserver.sh.
source "$(dirname "${BASH_SOURCE[0]}")/kube-apiserver.sh"
TOOL_NAME=kubectl
tool_binaries=(kubectl)
tool_on_path_version() {
  command -v kubectl >/dev/null || return 0
  kubectl version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -1
}
