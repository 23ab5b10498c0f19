// Which cluster `status` reads: flags first, then the stack's settings in
// Pulumi.STACK.yaml (kubeconfig, kubeContext, environment), then kubectl's
// own defaults ($KUBECONFIG, current context).
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { KubeTarget } from "./kubectl";

export interface Target extends KubeTarget {
    stack?: string;
    environment?: string;
}

const usage =
    "usage: status STACK [--kubeconfig PATH] [--context NAME] [--environment ENV]\n" +
    "  reads kubeconfig, kubeContext and environment from Pulumi.STACK.yaml unless given";

export function resolveTarget(argv: string[], projectDir: string): Target | { usage: string } {
    const flags: Record<string, string> = {};
    const positional: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "-h" || a === "--help") return { usage };
        const m = /^--(kubeconfig|context|environment)(?:=(.*))?$/.exec(a);
        if (m) {
            const value = m[2] ?? argv[++i];
            if (value === undefined) return { usage: `${m[1]} needs a value\n${usage}` };
            flags[m[1]] = value;
        } else if (a.startsWith("-")) {
            return { usage: `unknown flag ${a}\n${usage}` };
        } else {
            positional.push(a);
        }
    }
    if (positional.length > 1) return { usage };
    const stack = positional[0];
    const settings = stack ? stackSettings(projectDir, stack) : {};
    return {
        stack,
        kubeconfig: flags.kubeconfig ?? settings.kubeconfig,
        context: flags.context ?? settings.kubeContext,
        environment: flags.environment ?? settings.environment ?? stack,
    };
}

/** Plain (non-secret) values of the project's keys in Pulumi.STACK.yaml. */
function stackSettings(dir: string, stack: string): Record<string, string | undefined> {
    const file = path.join(dir, `Pulumi.${stack.split("/").pop()}.yaml`);
    if (!fs.existsSync(file)) return {};
    const project = projectName(dir);
    const config = (parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
    const value = (key: string): string | undefined => {
        const v = config[`${project}:${key}`];
        return typeof v === "string" && v !== "" ? v : undefined;
    };
    return { kubeconfig: value("kubeconfig"), kubeContext: value("kubeContext"), environment: value("environment") };
}

function projectName(dir: string): string {
    const file = path.join(dir, "Pulumi.yaml");
    if (!fs.existsSync(file)) return "gitops-kyverno";
    const doc = parse(fs.readFileSync(file, "utf8")) as { name?: string } | null;
    return doc?.name ?? "gitops-kyverno";
}
