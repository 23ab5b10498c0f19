#!/usr/bin/env bash
# On a pull request's merge commit: the diff of fleet/ between the base branch
# (first parent) and the merge, i.e. what the merge would commit to the fleet
# repository's apps/ and infrastructure/ (clusters/<env> is generated per stack
# and shows in each stack's `pulumi preview`), then the sections of what Flux
# would change per environment (FLUX_DIFF_<ENV>, from scripts/ci/flux-diff.sh;
# only environments with preview credentials have one), then the policy pack's
# verdict per previewed environment (POLICY_VERDICT_<ENV>). Writes it to the job
# summary and, with PR, REPO and GH_TOKEN set, keeps one pull-request comment
# up to date.
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
    # A fence longer than any backtick run in the diff, so the diff cannot end it.
    fence=$(printf '%s\n' "$diff" | { grep -o '`\+' || true; } | awk '{ if (length($0) > n) n = length($0) } END { n = (n < 3 ? 3 : n + 1); s = ""; for (i = 0; i < n; i++) s = s "`"; print s }')
    echo "${fence}diff"
    # GitHub comments hold 65536 characters: half for this diff, half for Flux's.
    # awk ends a line cut short, so the closing fence starts a line of its own.
    printf '%s\n' "$diff" | head -c 30000 | awk 1
    echo "$fence"
    [ "${#diff}" -le 30000 ] || echo "_Diff truncated to 30000 of ${#diff} characters; \`git diff HEAD^1 HEAD -- fleet/\` shows all of it._"
  fi
  echo "Each stack's generated \`clusters/<env>/\` files show in its \`pulumi preview\` comment."
  echo
  echo "### What Flux would change"
  flux_sections=$(compgen -v FLUX_DIFF_ | sort || true)
  shown=0
  for name in $flux_sections; do
    [ -n "${!name}" ] || continue
    printf '%s\n' "${!name}"
    shown=1
  done
  [ "$shown" = 1 ] || echo "No Flux diff on this pull request: only environments with preview credentials (the \`staging-preview\` environment's \`KUBECONFIG\`) get one, and pull requests from forks get none."
  echo
  # The policy pack's verdict per environment (POLICY_VERDICT_<ENV>, from each
  # preview job: scripts/pr-comment/policy-verdict.ts), beside that environment's preview.
  echo "### Policy pack verdict"
  shown=0
  for name in $(compgen -v POLICY_VERDICT_ | sort || true); do
    [ -n "${!name}" ] || continue
    printf '%s\n' "${!name}"
    shown=1
  done
  [ "$shown" = 1 ] || echo "No policy verdict on this pull request: only previewed environments get one (\`pulumi preview --policy-pack policy\` of staging, which needs its tests to pass first), and pull requests from forks get none."
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
