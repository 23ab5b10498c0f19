# The Node.js language host and the dynamic-provider launcher, from this
# project's own sources in scripts/tools/pulumi-language-nodejs/ (the
# upstream host's Go module is not on the module proxy). The version carries
# a hash of those sources, so an edit rebuilds it.
TOOL_NAME=pulumi-language-nodejs
_plnsrc="$(dirname "${BASH_SOURCE[0]}")/pulumi-language-nodejs"
TOOL_VERSION="3.276.0-$(cat "$_plnsrc"/go.mod "$_plnsrc"/go.sum "$_plnsrc"/*.go "$_plnsrc"/pulumi-resource-* | sha256sum | cut -c1-12)"
tool_binaries=(pulumi-language-nodejs pulumi-resource-pulumi-nodejs)

# Always ours: an official install's host is not interchangeable by version.
tool_on_path_version() { :; }

tool_build() {
  local dest=$1
  (cd "$_plnsrc" && go build -ldflags "-s -w -X main.version=${TOOL_VERSION%%-*}" \
    -o "$dest/bin/pulumi-language-nodejs" .)
  install -m 0755 "$_plnsrc/pulumi-resource-pulumi-nodejs" "$dest/bin/"
}
