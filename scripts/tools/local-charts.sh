# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# The real Helm charts the program installs, unpacked from the Go modules that
# carry them, for the live local cluster's chart mirror (local-cluster/):
#   charts/kyverno       Kyverno 3.9.1 (kyverno v1.19.1), with its kyverno-api
#                        dependency from github.com/kyverno/api (the pseudo-version
#                        kyverno's go.mod requires; its chart says v0.0.0, set to the
#                        0.0.1-alpha.4 the Chart.lock names). The openreports and
#                        reports-server dependencies are off by default and not served:
#                        they are dropped from Chart.yaml, as `helm dependency build`
#                        would need them.
#   charts/cert-manager  cert-manager v1.21.2, its v0.0.0 placeholders set as the
#                        release tool sets them.
# The flux-operator chart is assembled from the operator's own config/ at mirror
# start (local-cluster/charts.ts), from what flux-operator.sh copies.
TOOL_NAME=local-charts
TOOL_VERSION="kyverno-3.9.1.cert-manager-v1.21.2"
tool_binaries=()
LOCAL_CHARTS_KYVERNO=v1.19.1
LOCAL_CHARTS_KYVERNO_API=v0.0.1-alpha.3.0.20260723090831-fb2785727f98
LOCAL_CHARTS_CERT_MANAGER=v1.21.2

tool_on_path_version() { return 0; }

module_dir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

tool_build() {
  local dest=$1 kyverno api certmanager
  kyverno=$(module_dir "github.com/kyverno/kyverno@$LOCAL_CHARTS_KYVERNO")
  api=$(module_dir "github.com/kyverno/api@$LOCAL_CHARTS_KYVERNO_API")
  certmanager=$(module_dir "github.com/cert-manager/cert-manager@$LOCAL_CHARTS_CERT_MANAGER")
  mkdir -p "$dest/charts"
  cp -r "$kyverno/charts/kyverno" "$dest/charts/kyverno"
  cp -r "$api/charts/kyverno-api" "$dest/charts/kyverno/charts/kyverno-api"
  cp -r "$certmanager/deploy/charts/cert-manager" "$dest/charts/cert-manager"
  chmod -R u+w "$dest/charts"
  rm -rf "$dest/charts/cert-manager/tests" "$dest/charts/kyverno/Chart.lock"
  sed -i 's/^version: v0\.0\.0$/version: 0.0.1-alpha.4/' "$dest/charts/kyverno/charts/kyverno-api/Chart.yaml"
  sed -i "s/^version: v0\.0\.0$/version: $LOCAL_CHARTS_CERT_MANAGER/; s/^appVersion: v0\.0\.0$/appVersion: $LOCAL_CHARTS_CERT_MANAGER/" \
    "$dest/charts/cert-manager/Chart.yaml"
  # Drop the two dependencies that are off by default and whose charts are not served.
  awk '
    /^  - name: (openreports|reports-server)$/ { skip = 1; next }
    skip && /^  - name: / { skip = 0 }
    skip && /^[^ ]/ { skip = 0 }
    !skip { print }
  ' "$dest/charts/kyverno/Chart.yaml" > "$dest/charts/kyverno/Chart.yaml.new"
  mv "$dest/charts/kyverno/Chart.yaml.new" "$dest/charts/kyverno/Chart.yaml"
  grep -q 'name: openreports' "$dest/charts/kyverno/Chart.yaml" && die "local-charts: could not drop openreports from kyverno's Chart.yaml"
  grep -q '^version: 0.0.1-alpha.4$' "$dest/charts/kyverno/charts/kyverno-api/Chart.yaml" || die "local-charts: kyverno-api version not set"
  return 0
}
