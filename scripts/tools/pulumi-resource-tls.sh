# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# Our stand-in for the `tls` provider (PrivateKey only; see providers/tls.js):
# the real provider's Go module is not served by the module proxy here.
# Installed into the plugin cache by scripts/pulumi-plugins.sh as tls 5.6.1.
TOOL_NAME=pulumi-resource-tls
TOOL_VERSION="5.6.1-$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/providers/tls.js" | cut -c1-12)"
tool_binaries=()
tool_on_path_version() { :; }
tool_build() {
  install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/providers/tls.js" "$1/bin/pulumi-resource-tls"
}
