# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# kube-scheduler: gives pods a node, so the live local cluster's kwok can run
# them. Built together with kube-apiserver; see kube-apiserver.sh.
source "$(dirname "${BASH_SOURCE[0]}")/kube-apiserver.sh"
TOOL_NAME=kube-scheduler
tool_binaries=(kube-scheduler)
