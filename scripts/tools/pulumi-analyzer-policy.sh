# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# The launcher of Node.js policy packs (`pulumi preview --policy-pack policy`):
# our language host's RunPlugin (pulumi-language-nodejs/run_plugin.go) starts
# `pulumi-analyzer-policy <engine> <pack folder>`, which runs @pulumi/pulumi's
# policy-pack runner on the pack. The official CLI runs packs in its own
# language host and needs none of this. The version is a hash of the script,
# so an edit installs the new one.
TOOL_NAME=pulumi-analyzer-policy
_papsrc="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pulumi-analyzer-policy"
TOOL_VERSION="sh.$(sha256sum < "$_papsrc" | cut -c1-12)"
tool_binaries=(pulumi-analyzer-policy)

# Always ours: an analyzer on PATH may belong to another Pulumi release.
tool_on_path_version() { return 0; }

tool_build() { install -m 0755 "$_papsrc" "$1/bin/pulumi-analyzer-policy"; }
