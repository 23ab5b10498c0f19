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
}

/** Lists `resources` (kubectl's comma-separated form); resolves to null when the API has none of that type. */
export type ListObjects = (
    target: ClusterTarget,
    resources: string,
    allNamespaces: boolean,
) => Promise<ListedObject[] | null>;

export const kubectlList: ListObjects = (target, resources, allNamespaces) => {
    const args = [
        ...(target.kubeconfig ? [`--kubeconfig=${target.kubeconfig}`] : []),
        ...(target.context ? [`--context=${target.context}`] : []),
        "get",
        resources,
        ...(allNamespaces ? ["--all-namespaces"] : []),
        "--request-timeout=30s",
        "-o",
        "json",
    ];
    return new Promise((resolve, reject) => {
        childProcess.execFile(
            "kubectl",
            args,
            { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
            (err, stdout, stderr) => {
                if (!err) {
                    resolve((JSON.parse(stdout) as { items: ListedObject[] }).items);
                    return;
                }
                const said = String(stderr || err.message).trim();
                if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                    reject(
                        new Error(
                            "kubectl is not on PATH: the program reads the cluster with it before it installs or deletes anything there. Install kubectl and run again.",
                        ),
                    );
                } else if (/the server doesn't have a resource type/.test(said)) {
                    resolve(null);
                } else {
                    reject(new Error(`kubectl ${args.join(" ")} failed: ${said}`));
                }
            },
        );
    });
};
