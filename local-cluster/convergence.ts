// Has the GitOps loop converged on a cluster? The sync source fetched a
// revision, every Flux Kustomization and Kyverno ClusterPolicy is Ready, and
// podinfo's Deployment is Available. Used by the demo to show what it waits for.
import { KubeClient, readyCondition } from "./kube-client";

export const loopPaths = {
    source: "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system",
    kustomizations: "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations",
    policies: "/apis/kyverno.io/v1/clusterpolicies",
    podinfo: "/apis/apps/v1/namespaces/podinfo/deployments/podinfo",
};

export interface LoopState {
    converged: boolean;
    /** What is not there yet, each with its reason ("ks/apps: DependencyNotReady"). */
    waitingFor: string[];
    /** The revision the source holds, if any. */
    revision?: string;
}

export async function loopState(
    kube: KubeClient,
    expected = { kustomizations: ["flux-system", "infra-configs", "apps"], policies: 2 },
): Promise<LoopState> {
    const waitingFor: string[] = [];
    const notReady = (what: string, obj: Parameters<typeof readyCondition>[0]) => {
        const c = readyCondition(obj);
        if (c?.status !== "True")
            waitingFor.push(`${what}: ${c ? (c.reason ?? c.status) : obj ? "no status yet" : "not created yet"}`);
    };
    const source = await kube.get(loopPaths.source).catch(() => undefined);
    notReady("GitRepository flux-system", source);
    const kustomizations = await kube.list(loopPaths.kustomizations).catch(() => []);
    for (const name of expected.kustomizations)
        notReady(
            `Kustomization ${name}`,
            kustomizations.find((k) => k.metadata.name === name),
        );
    const policies = await kube.list(loopPaths.policies).catch(() => []);
    if (policies.length < expected.policies)
        waitingFor.push(`ClusterPolicies: ${policies.length} of ${expected.policies} created`);
    for (const p of policies) notReady(`ClusterPolicy ${p.metadata.name}`, p);
    const podinfo = await kube.get(loopPaths.podinfo).catch(() => undefined);
    const available = (podinfo?.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === "Available" && c.status === "True",
    );
    if (!available) waitingFor.push(`Deployment podinfo/podinfo: ${podinfo ? "not Available yet" : "not created yet"}`);
    return { converged: waitingFor.length === 0, waitingFor, revision: source?.status?.artifact?.revision };
}

/**
 * What Flux's web UI reports about the sync. The operator's web server serves a
 * cached FluxReport that it rebuilds every 20 s, so the UI can lag the cluster.
 */
export async function webUiSync(webUiUrl: string): Promise<{ path?: string; ready: boolean } | undefined> {
    const res = await fetch(`${webUiUrl.replace(/\/$/, "")}/api/v1/report`).catch(() => undefined);
    if (!res?.ok) return undefined;
    const report = (await res.json()) as { spec?: { sync?: { path?: string; ready?: boolean } } };
    const sync = report.spec?.sync;
    return sync ? { path: sync.path, ready: sync.ready === true } : undefined;
}
