// Reads of the cluster for the checks that run before the first install and
// before a destroy: `kubectl get -o json` with the stack's kubeconfig and
// context, which resolves every kind of credential the Kubernetes provider does
// (certificates, tokens, exec plugins such as `aws eks get-token`).
//
// Runs inside Pulumi's dynamic provider process, closure-serialized: plain Node,
// plain Errors only.
import * as childProcess from "child_process";

export interface ClusterTarget {
    /** The stack's kubeconfig setting; kubectl's defaults ($KUBECONFIG, ~/.kube/config) when absent. */
    kubeconfig?: string;
    /** The stack's kubeContext setting; the kubeconfig's current context when absent. */
    context?: string;
}

/** A list's label selector, besides the cluster. */
export interface ListTarget extends ClusterTarget {
    selector?: string;
}

export interface ObjectMeta {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}

export interface ListedObject {
    kind: string;
    metadata: ObjectMeta;
    spec?: { group?: string };
    /** A ClusterRole's, when it aggregates others. */
    aggregationRule?: unknown;
}

/** Lists `resources` (kubectl's comma-separated form); resolves to null when the API has none of that type. */
export type ListObjects = (
    target: ListTarget,
    resources: string,
    allNamespaces: boolean,
) => Promise<ListedObject[] | null>;

export const kubectlList: ListObjects = async (target, resources, allNamespaces) => {
    const args = [
        "get",
        resources,
        ...(allNamespaces ? ["--all-namespaces"] : []),
        ...(target.selector ? [`--selector=${target.selector}`] : []),
        "-o",
        "json",
    ];
    try {
        return (JSON.parse(await kubectl(target, args)) as { items: ListedObject[] }).items;
    } catch (err) {
        if (/the server doesn't have a resource type/.test((err as Error).message)) return null;
        throw err;
    }
};

/** `kubectl ARGS` against the target; its stdout, or an Error with kubectl's own words. */
export function kubectl(target: ClusterTarget, args: string[]): Promise<string> {
    const full = [
        ...(target.kubeconfig ? [`--kubeconfig=${target.kubeconfig}`] : []),
        ...(target.context ? [`--context=${target.context}`] : []),
        ...args,
        "--request-timeout=30s",
    ];
    return new Promise((resolve, reject) => {
        childProcess.execFile(
            "kubectl",
            full,
            { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
            (err, stdout, stderr) => {
                if (!err) {
                    resolve(stdout);
                    return;
                }
                const said = String(stderr || err.message).trim();
                if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                    reject(
                        new Error(
                            "kubectl is not on PATH: the program reads the cluster with it before it installs or deletes anything there. Install kubectl and run again.",
                        ),
                    );
                } else {
                    reject(new Error(`kubectl ${full.join(" ")} failed: ${said}`));
                }
            },
        );
    });
}
