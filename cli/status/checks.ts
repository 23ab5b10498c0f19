// Pure checks over API objects (as `kubectl get -o json` prints them): each
// returns a line to print and, when something is wrong, the reason.

export interface Condition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
}

export interface KubeObject {
    kind?: string;
    metadata: { name: string; namespace?: string; generation?: number; annotations?: Record<string, string> };
    spec?: Record<string, unknown>;
    status?: {
        conditions?: Condition[];
        observedGeneration?: number;
        lastAppliedRevision?: string;
        lastHandledReconcileAt?: string;
        artifact?: { revision?: string };
        ready?: boolean;
    };
}

export interface Finding {
    /** e.g. "Kustomization flux-system/apps" */
    subject: string;
    ok: boolean;
    /** Ready=True, revision ..., or what is wrong. */
    detail: string;
}

export function objectName(kind: string, o: KubeObject): string {
    const ns = o.metadata.namespace;
    return `${kind} ${ns ? `${ns}/` : ""}${o.metadata.name}`;
}

/** Flux objects: Ready=True, observed the current generation, with a revision. */
export function fluxReady(kind: string, o: KubeObject): Finding {
    const subject = objectName(kind, o);
    const revision = o.status?.lastAppliedRevision ?? o.status?.artifact?.revision ?? "";
    const ready = o.status?.conditions?.find((c) => c.type === "Ready");
    const rev = revision ? `revision ${revision}` : "no revision";
    if (!ready) return { subject, ok: false, detail: `no Ready condition yet (${rev})` };
    const stale =
        o.metadata.generation !== undefined &&
        o.status?.observedGeneration !== undefined &&
        o.status.observedGeneration < o.metadata.generation;
    const msg = ready.message ? `: ${ready.message}` : "";
    if (ready.status !== "True")
        return {
            subject,
            ok: false,
            detail: `Ready=${ready.status} ${ready.reason ?? ""}${msg} (${rev})`.replace("  ", " "),
        };
    if (stale)
        return {
            subject,
            ok: false,
            detail: `Ready=True but generation ${o.metadata.generation} not yet reconciled (${rev})`,
        };
    return { subject, ok: true, detail: `Ready=True, ${rev}` };
}

/** Kyverno policies: the Ready condition (1.9+), else the older status.ready. */
export function policyReady(kind: string, o: KubeObject): Finding {
    const subject = objectName(kind, o);
    const ready = o.status?.conditions?.find((c) => c.type === "Ready");
    if (ready) {
        const msg = ready.message ? `: ${ready.message}` : "";
        return ready.status === "True"
            ? { subject, ok: true, detail: "Ready=True" }
            : { subject, ok: false, detail: `Ready=${ready.status}${msg}` };
    }
    if (o.status?.ready !== undefined) {
        return { subject, ok: o.status.ready, detail: `ready=${o.status.ready}` };
    }
    return { subject, ok: false, detail: "no Ready condition yet" };
}

interface SecurityContext {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type?: string };
}

interface Container {
    name: string;
    image?: string;
    securityContext?: SecurityContext;
}

interface PodSpec {
    securityContext?: SecurityContext;
    containers?: Container[];
    initContainers?: Container[];
}

const digestRef = /@sha256:[0-9a-f]{64}$/;

/**
 * The restricted securityContext (Pod Security "restricted" plus a read-only
 * root filesystem) on every container, pod-level settings counting where
 * Kubernetes lets them apply; and every image pinned by digest.
 */
export function deploymentRestricted(o: KubeObject): Finding[] {
    const subject = objectName("Deployment", o);
    const pod = ((o.spec?.template as { spec?: PodSpec } | undefined)?.spec ?? {}) as PodSpec;
    const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
    const problems: string[] = [];
    const images: string[] = [];
    for (const c of containers) {
        const sc = c.securityContext ?? {};
        const podSc = pod.securityContext ?? {};
        const miss: string[] = [];
        if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) miss.push("runAsNonRoot: true");
        if (sc.allowPrivilegeEscalation !== false) miss.push("allowPrivilegeEscalation: false");
        if (sc.readOnlyRootFilesystem !== true) miss.push("readOnlyRootFilesystem: true");
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) miss.push("capabilities.drop: [ALL]");
        if ((sc.seccompProfile?.type ?? podSc.seccompProfile?.type) !== "RuntimeDefault")
            miss.push("seccompProfile.type: RuntimeDefault");
        if (miss.length) problems.push(`container ${c.name} lacks ${miss.join(", ")}`);
        if (!c.image || !digestRef.test(c.image))
            images.push(`container ${c.name} image ${c.image ?? "(none)"} is not pinned by digest`);
    }
    if (containers.length === 0) problems.push("has no containers");
    return [
        {
            subject: `${subject} securityContext`,
            ok: problems.length === 0,
            detail: problems.length === 0 ? "restricted on every container" : problems.join("; "),
        },
        {
            subject: `${subject} images`,
            ok: images.length === 0 && containers.length > 0,
            detail: images.length === 0 ? containers.map((c) => c.image).join(", ") : images.join("; "),
        },
    ];
}

export interface WorkloadObject {
    metadata: { name: string; namespace?: string };
    spec?: { replicas?: number };
    status?: { replicas?: number; availableReplicas?: number };
}

export const kyvernoAdmissionController = { namespace: "kyverno", name: "kyverno-admission-controller" };

/**
 * Kyverno's admission controller. While no replica answers, no dev-team Deployment
 * is admitted unmutated: its fail-closed webhook refuses it, or, once Kyverno
 * removed its webhooks (it does when scaled to 0), the require-kyverno-mutation
 * backstop does; Flux's apply of `apps` fails until it is back. Other namespaces
 * are not sent to Kyverno.
 */
export function kyvernoAdmission(o: WorkloadObject | undefined, stack?: string): Finding {
    const { namespace, name } = kyvernoAdmissionController;
    const subject = `Deployment ${namespace}/${name}`;
    const effect =
        "no dev-team Deployment is admitted unmutated (Kyverno's fail-closed webhook, or the require-kyverno-mutation policy once Kyverno " +
        "removed its webhooks, refuses it) and Flux cannot apply apps until it is back";
    if (!o) {
        const up = stack ? `npm run up -- ${stack}` : "npm run up -- STACK";
        return { subject, ok: false, detail: `not found: Kyverno is not installed; ${up} installs it` };
    }
    const wanted = o.spec?.replicas ?? 1;
    const available = o.status?.availableReplicas ?? 0;
    if (wanted === 0) {
        return {
            subject,
            ok: false,
            detail: `scaled to 0: ${effect}. Fix: kubectl -n ${namespace} scale deployment ${name} --replicas=1 (or the stack's kyvernoReplicas)`,
        };
    }
    if (available === 0) {
        return {
            subject,
            ok: false,
            detail: `0 of ${wanted} replicas available: ${effect}. See kubectl -n ${namespace} get pods and kubectl -n ${namespace} logs deployment/${name}`,
        };
    }
    return { subject, ok: true, detail: `${available} of ${wanted} replicas available` };
}

/** A Flux object that failed because Kyverno did not answer, or did not mutate, says so, naming where to look. */
export function blameKyvernoWebhook(f: Finding): Finding {
    if (f.ok) return f;
    const see = objectName("Deployment", { metadata: kyvernoAdmissionController });
    if (/failed calling webhook "[^"]*kyverno[^"]*"/.test(f.detail)) {
        return { ...f, detail: `${f.detail} [cause: Kyverno's admission webhook did not answer; see ${see}]` };
    }
    // The backstop's messages (fleet/infrastructure/configs/admission/require-kyverno-mutation.yaml).
    if (/require-kyverno-mutation|did not mutate it/.test(f.detail)) {
        return {
            ...f,
            detail: `${f.detail} [cause: Kyverno did not mutate it (not admitting yet, or down); see ${see}]`,
        };
    }
    return f;
}
