# shellcheck shell=bash
# Sourced by the CI scripts: stack_setting ROOT STACK KEY prints the plain value
# of KEY (in the project's namespace, from Pulumi.yaml's name) that the committed
# Pulumi.STACK.yaml sets, or nothing. Needs node and the project's node_modules.
stack_setting() {
  # shellcheck disable=SC2016 # JavaScript, not shell, inside the quotes
  node -e '
    const fs = require("fs"), path = require("path");
    const [root, stack, key] = process.argv.slice(1);
    const { parse } = require(path.join(root, "node_modules", "yaml"));
    const project = (parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) || {}).name;
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    const config = fs.existsSync(file) ? (parse(fs.readFileSync(file, "utf8")) || {}).config || {} : {};
    const v = config[`${project}:${key}`];
    if (typeof v === "string" || typeof v === "boolean" || typeof v === "number") process.stdout.write(String(v));
  ' "$1" "$2" "$3"
}
