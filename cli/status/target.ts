// Which cluster `status` reads: flags first, then the stack's settings in
// Pulumi.STACK.yaml (kubeconfig, kubeContext, environment), then kubectl's
// own defaults ($KUBECONFIG, current context).
import { stackSetting } from "../../stacks/stack-file";
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
    const setting = (key: string) => (stack ? stackSetting(projectDir, stack, key) : undefined);
    return {
        stack,
        kubeconfig: flags.kubeconfig ?? setting("kubeconfig"),
        context: flags.context ?? setting("kubeContext"),
        environment: flags.environment ?? setting("environment") ?? stack,
    };
}
