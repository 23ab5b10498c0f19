# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# etcd v3.6, the storage of the local control plane. Debian's etcd-server is
# 3.4.23: it cannot give the API server watch progress notifications, so the API
# server refuses the streamed lists (WatchList) that client-go 1.35+ clients ask
# for by default, and controllers such as kwok never see later changes.
# The etcd binary's main package is go.etcd.io/etcd/server/v3/etcdmain; its
# module's replace lines point inside the repository, so a small wrapper module
# calls etcdmain.Main with the released server module (3.6.8, the release
# kube-apiserver v1.36.3 is built against).
TOOL_NAME=etcd
TOOL_VERSION=v3.6.8
tool_binaries=(etcd)

tool_on_path_version() {
  command -v etcd >/dev/null 2>&1 || return 0
  etcd --version 2>/dev/null | sed -n 's/^etcd Version: /v/p'
}

tool_build() {
  local dest=$1 work; work=$(mktemp -d)
  new_wrapper_module "$work" gitops-kyverno/tools/etcd
  (
    cd "$work" || return
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
    go get "go.etcd.io/etcd/server/v3@$TOOL_VERSION"
    go mod tidy
    go build -ldflags "-s -w" -o "$dest/bin/etcd" .
  )
  rm -rf "$work"
}
