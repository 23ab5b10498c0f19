#!/usr/bin/env bash
# Build (or reuse) the pinned tools the tests need, then link them into
# .tools/bin. Usage: scripts/tools.sh [tool ...]   (default: every tool)
# A tool already on PATH at the pinned version is linked instead of built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/tools/lib.sh"
mkdir -p "$root/.tools/bin"
# PATH without our own links, so a tool "already on PATH" is never one of ours
# (linking the cache to .tools/bin, which links to the cache, would loop).
system_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -x -e "$root/.tools/bin" -e "$root/.tools/bin/" | grep -v "^$TOOLS_CACHE" | paste -sd: -)

all_tools() { for f in "$root"/scripts/tools/*.sh; do b=$(basename "$f" .sh); [ "$b" = lib ] || echo "$b"; done; }
tools=("$@"); [ ${#tools[@]} -gt 0 ] || mapfile -t tools < <(all_tools)

for t in "${tools[@]}"; do
  [ -f "$root/scripts/tools/$t.sh" ] || die "no tool '$t' (known: $(all_tools | tr '\n' ' '))"
  (
    unset -f tool_on_path_version tool_build; tool_binaries=()
    # shellcheck source=/dev/null # each tool script is checked on its own
    source "$root/scripts/tools/$t.sh"
    dest=$(tool_dir "$TOOL_NAME" "$TOOL_VERSION")
    if [ -f "$dest/.complete" ]; then
      log "$TOOL_NAME $TOOL_VERSION: cached in $dest"
    elif [ "$(PATH="$system_path" tool_on_path_version 2>/dev/null || true)" = "$TOOL_VERSION" ]; then
      log "$TOOL_NAME $TOOL_VERSION: using the one on PATH"
      mkdir -p "$dest/bin"
      for b in "${tool_binaries[@]}"; do ln -sf "$(PATH="$system_path" command -v "$b")" "$dest/bin/$b"; done
      touch "$dest/.complete"
    else
      log "$TOOL_NAME $TOOL_VERSION: building into $dest"
      start=$(date +%s)
      rm -rf "$dest"; mkdir -p "$dest/bin"
      tool_build "$dest"
      for b in "${tool_binaries[@]}"; do [ -x "$dest/bin/$b" ] || die "$TOOL_NAME: build did not produce bin/$b"; done
      echo "$(( $(date +%s) - start ))" > "$dest/.build-seconds"
      touch "$dest/.complete"
      log "$TOOL_NAME $TOOL_VERSION: built in $(cat "$dest/.build-seconds")s"
    fi
    for b in "${tool_binaries[@]}"; do ln -sf "$dest/bin/$b" "$root/.tools/bin/$b"; done
  )
done
