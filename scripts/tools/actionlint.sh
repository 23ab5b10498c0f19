# shellcheck shell=bash disable=SC2034 # sourced by scripts/tools.sh, which reads TOOL_NAME, TOOL_VERSION, tool_binaries
# actionlint: lints .github/workflows (scripts/lint-workflows.sh). Its go.mod
# has no replace lines, so `go install module@version` builds it directly.
TOOL_NAME=actionlint
TOOL_VERSION=1.7.12
tool_binaries=(actionlint)

tool_on_path_version() {
  command -v actionlint >/dev/null 2>&1 || return 0
  actionlint -version 2>/dev/null | head -1 | sed 's/^v//'
}

tool_build() {
  GOBIN="$1/bin" go install -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@v$TOOL_VERSION"
}
