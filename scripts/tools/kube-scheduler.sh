# kube-scheduler: gives pods a node, so the live local cluster's kwok can run
# them. Built together with kube-apiserver; see kube-apiserver.sh.
source "$(dirname "${BASH_SOURCE[0]}")/kube-apiserver.sh"
TOOL_NAME=kube-scheduler
tool_binaries=(kube-scheduler)
