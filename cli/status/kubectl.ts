// Reads API objects with the kubectl on PATH (no client library dependency).
import { execFile } from "node:child_process";
import { KubeObject } from "./checks";

export interface KubeTarget {
    kubeconfig?: string;
    context?: string;
}

export type GetResult =
    | { kind: "ok"; items: KubeObject[] }
    | { kind: "no-such-type" }
    | { kind: "not-found" }
    | { kind: "error"; message: string };

export function kubectl(target: KubeTarget, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const flags: string[] = [];
    if (target.kubeconfig) flags.push(`--kubeconfig=${target.kubeconfig}`);
    if (target.context) flags.push(`--context=${target.context}`);
    return new Promise((resolve) => {
        execFile(
            "kubectl",
            [...flags, ...args],
            { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
            (err, stdout, stderr) => {
                const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
                resolve({ code, stdout, stderr: stderr || (err && !stderr ? err.message : "") });
            },
        );
    });
}

/** `kubectl get RESOURCE [-n NS] [NAME] -o json`, every namespace unless one is given. */
export async function get(
    target: KubeTarget,
    resource: string,
    opts: { namespace?: string; name?: string } = {},
): Promise<GetResult> {
    const args = ["get", resource, "-o", "json"];
    if (opts.namespace) args.push("-n", opts.namespace);
    else args.push("--all-namespaces");
    if (opts.name) args.push(opts.name);
    const r = await kubectl(target, args);
    if (r.code !== 0) {
        if (/the server doesn't have a resource type/.test(r.stderr)) return { kind: "no-such-type" };
        if (/\(NotFound\)/.test(r.stderr)) return { kind: "not-found" };
        return { kind: "error", message: r.stderr.trim() };
    }
    const parsed = JSON.parse(r.stdout) as KubeObject & { items?: KubeObject[] };
    return { kind: "ok", items: opts.name ? [parsed] : (parsed.items ?? []) };
}

/** Fails early, with kubectl's message, when the cluster cannot be reached. */
export async function reachable(target: KubeTarget): Promise<string | undefined> {
    const r = await kubectl(target, ["get", "--raw", "/readyz"]);
    return r.code === 0 ? undefined : r.stderr.trim() || `kubectl exited ${r.code}`;
}
