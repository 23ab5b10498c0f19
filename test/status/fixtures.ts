// Minimal Flux and Kyverno CRDs (schemaless, with a status subresource) and a
// healthy environment's objects, for testing `status` against a real API server.
import { spawnSync } from "node:child_process";

export interface Crd {
    group: string;
    kind: string;
    plural: string;
    namespaced: boolean;
}

export const crds: Crd[] = [
    { group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization", plural: "kustomizations", namespaced: true },
    { group: "source.toolkit.fluxcd.io", kind: "GitRepository", plural: "gitrepositories", namespaced: true },
    { group: "kyverno.io", kind: "ClusterPolicy", plural: "clusterpolicies", namespaced: false },
];

export function crdManifest(c: Crd): object {
    return {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: `${c.plural}.${c.group}` },
        spec: {
            group: c.group,
            names: { kind: c.kind, plural: c.plural, singular: c.kind.toLowerCase(), listKind: `${c.kind}List` },
            scope: c.namespaced ? "Namespaced" : "Cluster",
            versions: [
                {
                    name: "v1",
                    served: true,
                    storage: true,
                    subresources: { status: {} },
                    schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
                },
            ],
        },
    };
}

export const digest = "sha256:" + "ab12".repeat(16);
export const pinnedImage = `ghcr.io/stefanprodan/podinfo:6.7.1@${digest}`;

export function ready(
    status: "True" | "False",
    message: string,
    reason = status === "True" ? "ReconciliationSucceeded" : "ReconciliationFailed",
): object {
    return { type: "Ready", status, reason, message, lastTransitionTime: "2026-01-01T00:00:00Z" };
}

export const revision = "main@sha1:" + "0123456789abcdef0123".repeat(2);

export function kustomization(name: string, path: string): object {
    return {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name, namespace: "flux-system" },
        spec: { interval: "10m", path, prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" } },
    };
}

export const gitRepository = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "flux-system", namespace: "flux-system" },
    spec: { interval: "1m", url: "ssh://git@git.example.com/fleet-infra.git", ref: { branch: "main" } },
};

export function clusterPolicy(name: string): object {
    return {
        apiVersion: "kyverno.io/v1",
        kind: "ClusterPolicy",
        metadata: { name },
        spec: { rules: [] },
    };
}

export const restricted = {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

export const podinfoDeployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "podinfo", namespace: "podinfo" },
    spec: {
        replicas: 1,
        selector: { matchLabels: { app: "podinfo" } },
        template: {
            metadata: { labels: { app: "podinfo" } },
            spec: { containers: [{ name: "podinfod", image: pinnedImage, securityContext: restricted }] },
        },
    },
};

/** kubectl against the test cluster; throws with its output on failure. */
export function kubectl(kubeconfig: string, args: string[], input?: string): string {
    const r = spawnSync("kubectl", [`--kubeconfig=${kubeconfig}`, ...args], {
        input,
        encoding: "utf8",
        timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r.stdout;
}

export function apply(kubeconfig: string, objects: object[]): void {
    kubectl(kubeconfig, ["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
}

/** Sets .status through the status subresource, as a controller would. */
export function setStatus(
    kubeconfig: string,
    resource: string,
    name: string,
    namespace: string | undefined,
    status: object,
): void {
    const ns = namespace ? ["-n", namespace] : [];
    kubectl(kubeconfig, [
        "patch",
        resource,
        name,
        ...ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status }),
    ]);
}

/** metadata.generation, which a controller echoes as status.observedGeneration. */
export function generation(kubeconfig: string, resource: string, name: string, namespace: string): number {
    return Number(
        kubectl(kubeconfig, ["get", resource, name, "-n", namespace, "-o", "jsonpath={.metadata.generation}"]),
    );
}

/** Kyverno's admission controller as its chart creates it (its status is set by the test: no controller runs). */
export const kyvernoDeployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "kyverno-admission-controller", namespace: "kyverno" },
    spec: {
        replicas: 1,
        selector: { matchLabels: { app: "kyverno" } },
        template: {
            metadata: { labels: { app: "kyverno" } },
            spec: { containers: [{ name: "kyverno", image: "reg.kyverno.io/kyverno/kyverno:v1.19.1" }] },
        },
    },
};
