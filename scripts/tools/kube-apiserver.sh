# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# kube-apiserver, built from k8s.io/kubernetes. Sourced by scripts/tools.sh.
# kube-controller-manager.sh sources this file too: both binaries come from
# one `go build` into a shared folder, so the second tool compiles nothing.
#
# k8s.io/kubernetes' go.mod points every k8s.io/* staging module at
# ./staging/src/..., which a module download lacks, so `go install` refuses.
# A wrapper module requires k8s.io/kubernetes and replaces each staging module
# with its published v0.<minor>.<patch> release of the same Kubernetes release.
TOOL_NAME=kube-apiserver
TOOL_VERSION=v1.36.3
tool_binaries=(kube-apiserver)

KUBE_STAGING_MODULES=(
  api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base
  component-helpers controller-manager cri-api cri-client cri-streaming
  csi-translation-lib dynamic-resource-allocation endpointslice externaljwt
  kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler
  kubectl kubelet metrics mount-utils pod-security-admission
  sample-apiserver sample-controller streaming
)
KUBE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

tool_on_path_version() {
  command -v "${tool_binaries[0]}" >/dev/null || return 0
  "${tool_binaries[0]}" --version 2>/dev/null | awk '{print $2}'
}

# kube_build_all: build every KUBE_COMMANDS binary once into the shared
# folder <cache>/kubernetes/<version>-<hash of the commands>/bin; later calls reuse it.
kube_shared_dir() { tool_dir kubernetes "$TOOL_VERSION-$(echo "${KUBE_COMMANDS[*]}" | sha256sum | cut -c1-8)"; }
kube_build_all() {
  local shared; shared=$(kube_shared_dir)
  [ -f "$shared/.complete" ] && return 0
  local v=$TOOL_VERSION minor patch staging m
  minor=$(echo "$v" | cut -d. -f2); patch=$(echo "$v" | cut -d. -f3)
  staging="v0.$minor.$patch"
  local start; start=$(date +%s)
  rm -rf "$shared"; mkdir -p "$shared/bin"
  local mod="$shared/src"
  new_wrapper_module "$mod" local.invalid/kube-tools
  (
    cd "$mod" || return
    # Same language version and GODEBUG defaults as upstream's go.mod.
    go mod edit -go=1.26.0 -godebug=default=go1.26
    go mod edit -require="k8s.io/kubernetes@$v"
    for m in "${KUBE_STAGING_MODULES[@]}"; do
      go mod edit -replace="k8s.io/$m=k8s.io/$m@$staging"
    done
    printf 'package tools\n\nimport (\n' > tools.go
    for c in "${KUBE_COMMANDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c" >> tools.go; done
    printf ')\n' >> tools.go
    sed -i '1i //go:build tools\n' tools.go
    go mod tidy
    local pkg="k8s.io/component-base/version"
    local ld="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    local targets=(); for c in "${KUBE_COMMANDS[@]}"; do targets+=("k8s.io/kubernetes/cmd/$c"); done
    log "go build ${KUBE_COMMANDS[*]} (a cold build takes a while)"
    go build -mod=mod -ldflags "$ld" -o "$shared/bin/" "${targets[@]}"
  )
  echo "$(( $(date +%s) - start ))" > "$shared/.build-seconds"
  touch "$shared/.complete"
}

tool_build() {
  kube_build_all
  local b; for b in "${tool_binaries[@]}"; do
    cp "$(kube_shared_dir)/bin/$b" "$1/bin/$b"
  done
}
