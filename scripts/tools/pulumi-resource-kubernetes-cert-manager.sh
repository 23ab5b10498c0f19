# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# Our stand-in for the `kubernetes-cert-manager` component provider (see
# providers/kubernetes-cert-manager.js): the real provider's Go module is not
# served by the module proxy here. Installed into the plugin cache by
# scripts/pulumi-plugins.sh as kubernetes-cert-manager 0.2.0.
TOOL_NAME=pulumi-resource-kubernetes-cert-manager
TOOL_VERSION="0.2.0-$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/providers/kubernetes-cert-manager.js" | cut -c1-12)"
tool_binaries=()
tool_on_path_version() { :; }
tool_build() {
  install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/providers/kubernetes-cert-manager.js" \
    "$1/bin/pulumi-resource-kubernetes-cert-manager"
}
