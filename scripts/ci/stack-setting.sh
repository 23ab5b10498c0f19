# shellcheck shell=bash
# Sourced by the CI scripts: stack_setting ROOT STACK KEY prints the value of KEY
# (in the project's namespace) that the committed Pulumi.STACK.yaml sets, else the
# program's default (stacks/defaults.ts), else nothing. The one reader of a stack
# file is stacks/stack-file.ts; this runs it. Needs the project's node_modules.
stack_setting() {
  "$1/node_modules/.bin/ts-node" --transpile-only "$1/stacks/stack-file.ts" "$1" "$2" "$3"
}
