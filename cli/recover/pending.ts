// Pending operations: what the engine had started on a resource and never
// recorded as finished. The next `up` drops them with a warning, so a create
// that did happen (a Helm release, a Kubernetes object) is attempted again and
// fails or duplicates. Each pending create is resolved against what exists:
// imported with its ID when it exists, cleared when it does not. The program's
// dynamic providers (fleet commit, GitHub repository) are idempotent on create
// (no commit when the branch already holds the files; a marked repository is
// adopted), so theirs are cleared. Other operations (update, delete) are
// cleared: the resource keeps its last recorded state and the next run
// applies the change again.
import type { HelmRelease } from "./helm-records";

export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
}

export interface PendingOperation {
    type: string;
    resource: StateResource;
}

export const helmReleaseType = "kubernetes:helm.sh/v3:Release";

/** The Kubernetes object a pending create would have made. */
export interface KubeRef {
    /** kubectl's resource argument: Kind, or Kind.version.group. */
    resource: string;
    name: string;
    namespace?: string;
}

export type Subject = { kind: "helm"; release: HelmRelease } | { kind: "kube"; ref: KubeRef } | { kind: "other" };

/** What a pending create is about, from its resource type and inputs. */
export function subjectOf(r: StateResource): Subject {
    if (r.type === helmReleaseType) {
        const release = helmReleaseOf(r);
        return release ? { kind: "helm", release } : { kind: "other" };
    }
    const m = /^kubernetes:([^/:]+)\/([^/:]+):([A-Za-z0-9]+)$/.exec(r.type);
    const name = r.inputs?.metadata?.name;
    if (!m || typeof name !== "string") return { kind: "other" };
    const [, group, version, kind] = m;
    const namespace = r.inputs?.metadata?.namespace;
    return {
        kind: "kube",
        ref: {
            resource: group === "core" ? kind : `${kind}.${version}.${group}`,
            name,
            ...(typeof namespace === "string" ? { namespace } : {}),
        },
    };
}

/** A Helm release's name and namespace, from a state resource (outputs, else inputs). */
export function helmReleaseOf(r: StateResource): HelmRelease | undefined {
    for (const props of [r.outputs, r.inputs]) {
        const name = props?.name;
        if (typeof name === "string" && name !== "")
            return { name, namespace: typeof props?.namespace === "string" ? props.namespace : "default" };
    }
    return undefined;
}

/** What exists in the cluster for a subject: the import ID, or null when absent. */
export type Existing = string | null;

export type Resolution =
    { urn: string; action: "import"; id: string; why: string } | { urn: string; action: "clear"; why: string };

const operationNames: Record<string, string> = {
    updating: "update",
    deleting: "delete",
    reading: "read",
    importing: "import",
};

export function resolve(op: PendingOperation, existing: Existing | undefined): Resolution {
    const urn = op.resource.urn;
    const name = urn.split("::").pop();
    if (op.type !== "creating") {
        const what = operationNames[op.type] ?? op.type;
        return {
            urn,
            action: "clear",
            why: `interrupted ${what} of ${name}: its last recorded state stands, the next run applies the change again`,
        };
    }
    if (typeof existing === "string")
        return {
            urn,
            action: "import",
            id: existing,
            why: `the interrupted create of ${name} did happen: imported as ${existing}`,
        };
    if (existing === null)
        return {
            urn,
            action: "clear",
            why: `the interrupted create of ${name} left nothing: cleared, the next run creates it`,
        };
    return {
        urn,
        action: "clear",
        why: `interrupted create of ${name} (${op.resource.type}): cleared, its create is idempotent`,
    };
}
