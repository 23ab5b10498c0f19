#!/usr/bin/env bash
# Install the resource providers built by scripts/tools.sh into Pulumi's
# plugin cache, under the versions the npm SDKs ask for, so the engine never
# tries to download one. Idempotent: a plugin whose installed binary equals
# the built one is left alone. Run after scripts/tools.sh (uses .tools/bin/pulumi).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/tools/lib.sh"
export PATH="$root/.tools/bin:$PATH" PULUMI_SKIP_UPDATE_CHECK=true
# Into the tests' own Pulumi home, never ~/.pulumi: tls and kubernetes-cert-manager
# are stand-ins that a real `pulumi up` must not pick up.
export PULUMI_HOME="$GITOPS_PULUMI_HOME"
plugins="$PULUMI_HOME/plugins"

# name  sdk-version  tool (scripts/tools/<tool>.sh)
providers=(
  "kubernetes 4.25.0 pulumi-resource-kubernetes"
  "tls 5.6.1 pulumi-resource-tls"
  "kubernetes-cert-manager 0.2.0 pulumi-resource-kubernetes-cert-manager"
)
# github 6.15.0 is not installed: its Go module is not served here (see README).

for entry in "${providers[@]}"; do
  read -r name version tool <<<"$entry"
  built=$(
    unset -f tool_on_path_version tool_build
    # shellcheck source=/dev/null # each tool script is checked on its own
    source "$root/scripts/tools/$tool.sh"
    printf '%s/bin/pulumi-resource-%s' "$(tool_dir "$TOOL_NAME" "$TOOL_VERSION")" "$name"
  )
  [ -x "$built" ] || die "$name: $built is missing; run scripts/tools.sh $tool first"
  installed="$plugins/resource-$name-v$version/pulumi-resource-$name"
  if [ -f "$installed" ] && cmp -s "$built" "$installed"; then
    log "plugin $name $version: already installed"
    continue
  fi
  log "plugin $name $version: installing $built"
  pulumi plugin install resource "$name" "$version" --file "$built" --reinstall >&2
done
