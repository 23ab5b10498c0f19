#!/usr/bin/env bash
# On a pull request's merge commit: the diff of fleet/ between the base branch
# (first parent) and the merge, i.e. what the merge would commit to the fleet
# repository's apps/ and infrastructure/ (clusters/<env> is generated per stack
# and shows in each stack's `pulumi preview`). Writes it to the job summary and,
# with PR, REPO and GH_TOKEN set, keeps one pull-request comment up to date.
set -euo pipefail
marker='<!-- fleet-tree-diff -->'
out=$(mktemp)
diff=$(git diff --no-color HEAD^1 HEAD -- fleet/)
{
  echo "$marker"
  echo "### Fleet tree changes this merge would commit"
  if [ -z "$diff" ]; then
    echo "No change under \`fleet/\`."
  else
    echo '```'; git diff --stat HEAD^1 HEAD -- fleet/; echo '```'
    echo '```diff'
    # GitHub comments hold 65536 characters at most.
    printf '%s\n' "$diff" | head -c 60000
    echo '```'
  fi
  echo "Each stack's generated \`clusters/<env>/\` files show in its \`pulumi preview\` comment."
} > "$out"
cat "$out"
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || cat "$out" >> "$GITHUB_STEP_SUMMARY"
if [ -n "${PR:-}" ] && [ -n "${REPO:-}" ]; then
  id=$(gh api --paginate "repos/$REPO/issues/$PR/comments" \
    --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -1)
  if [ -n "$id" ]; then
    gh api -X PATCH "repos/$REPO/issues/comments/$id" -F "body=@$out" >/dev/null
  else
    gh api -X POST "repos/$REPO/issues/$PR/comments" -F "body=@$out" >/dev/null
  fi
fi
rm -f "$out"
