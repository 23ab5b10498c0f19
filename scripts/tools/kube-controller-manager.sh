# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# kube-controller-manager (namespace deletion and garbage collection need it).
# Built together with kube-apiserver; see kube-apiserver.sh.
source "$(dirname "${BASH_SOURCE[0]}")/kube-apiserver.sh"
TOOL_NAME=kube-controller-manager
tool_binaries=(kube-controller-manager)
