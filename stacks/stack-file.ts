// The one reader of a stack's committed settings file, Pulumi.<stack>.yaml, for the
// commands that run outside the program (status, preview-kubeconfig) and for CI's
// scripts (scripts/ci/stack-setting.sh runs this file). It reads plain values of
// the project's keys only: a secret (`secure:`) is never read here. A key the file
// does not set takes the program's default from stacks/defaults.ts, where there is one.
//
//   node -r ts-node/register/transpile-only stacks/stack-file.ts ROOT STACK KEY
// prints the value (or nothing) without a newline.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { branchDefault, repositoryDefault } from "./defaults";

/** The keys a stack file may leave out, with what the program uses instead. */
function defaultsFor(stack: string): Record<string, string> {
    return {
        environment: stackName(stack),
        gitProvider: "github",
        branch: branchDefault,
        repository: repositoryDefault,
    };
}

/** The stack's own name: `org/project/staging` is Pulumi.staging.yaml. */
function stackName(stack: string): string {
    return stack.split("/").pop() ?? stack;
}

/** The project's name (the namespace of its keys), from Pulumi.yaml in `dir`. */
export function projectName(dir: string): string {
    const file = path.join(dir, "Pulumi.yaml");
    if (!fs.existsSync(file)) return "gitops-kyverno";
    const doc = parse(fs.readFileSync(file, "utf8")) as { name?: string } | null;
    return doc?.name ?? "gitops-kyverno";
}

/** Plain values the stack file sets for the project's keys; absent file: none. */
export function stackFileValues(dir: string, stack: string): Record<string, string> {
    const file = path.join(dir, `Pulumi.${stackName(stack)}.yaml`);
    if (!fs.existsSync(file)) return {};
    const prefix = `${projectName(dir)}:`;
    const config = (parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
    const values: Record<string, string> = {};
    for (const [key, v] of Object.entries(config)) {
        if (!key.startsWith(prefix)) continue;
        if (typeof v === "string" || typeof v === "boolean" || typeof v === "number")
            values[key.slice(prefix.length)] = String(v);
    }
    return values;
}

/** One key of the stack's settings: the file's plain value, else the program's default, else undefined. */
export function stackSetting(dir: string, stack: string, key: string): string | undefined {
    const value = stackFileValues(dir, stack)[key];
    return value !== undefined && value !== "" ? value : defaultsFor(stack)[key];
}

if (require.main === module) {
    const [root, stack, key] = process.argv.slice(2);
    if (!root || !stack || !key) {
        console.error("usage: stack-file.ts ROOT STACK KEY");
        process.exit(2);
    }
    process.stdout.write(stackSetting(root, stack, key) ?? "");
}
