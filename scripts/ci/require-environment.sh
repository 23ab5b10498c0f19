#!/usr/bin/env bash
# CI guard: fail unless the job runs in the GitHub environment that belongs to
# COMMAND on STACK (STACK for up/destroy, STACK-preview for preview).
#   scripts/ci/require-environment.sh COMMAND STACK ENVIRONMENT_NAME
# ENVIRONMENT_NAME is the job's vars.ENVIRONMENT_NAME: a variable set in each
# environment (never at repository level) to the environment's own name. A
# job with an empty or misspelled environment, or in one GitHub created on
# the fly without protection rules, has no such variable and stops here.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 COMMAND STACK ENVIRONMENT_NAME" >&2; exit 2; }
command=$1 stack=$2 actual=$3
if ! [[ "$stack" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]]; then
  echo "::error::stack name '$stack' is not a lower-case name (letters, digits, '-'); nothing ran" >&2
  exit 1
fi
case "$command" in
  preview) expected="$stack-preview" ;;
  up|destroy) expected="$stack" ;;
  *) echo "::error::unknown command '$command' (preview, up or destroy)" >&2; exit 1 ;;
esac
if [ "$actual" != "$expected" ]; then
  echo "::error::pulumi $command $stack must run in the GitHub environment '$expected', and this job's environment says '${actual:-<no ENVIRONMENT_NAME variable>}'." \
    "Create the environment '$expected' (Settings > Environments) with the variable ENVIRONMENT_NAME=$expected, and use that exact name in the job's 'environment:'; nothing ran." >&2
  exit 1
fi
echo "environment $expected confirmed for pulumi $command $stack"
