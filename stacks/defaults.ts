// Pinned defaults. A stack overrides any of them with `pulumi config set`, e.g. to
// install from a private chart mirror; nothing here floats.

export interface ChartSource {
    /** Helm repository URL (https:// or http://) or OCI registry path (oci://). */
    repository: string;
    /** Exact chart version. */
    version: string;
    /** Where a mirror serves the chart's images (host[:port][/path]); the chart's own registries when absent. */
    imageRegistry?: string;
}

export const chartDefaults = {
    fluxOperator: {
        repository: "oci://ghcr.io/controlplaneio-fluxcd/charts",
        version: "0.59.0",
    },
    kyverno: {
        repository: "https://kyverno.github.io/kyverno",
        version: "3.9.1",
    },
    certManager: {
        repository: "https://charts.jetstack.io",
        version: "v1.21.2",
    },
} satisfies Record<string, ChartSource>;

/** The Flux distribution the FluxInstance installs. */
export const fluxVersionDefault = "2.9.5";
/** Where Flux's images come from: the FluxInstance's spec.distribution.registry. */
export const fluxRegistryDefault = "ghcr.io/fluxcd";

/** Each chart's main image below its registry: a mirror serves it at <imageRegistry>/<path>. */
export const chartImagePaths = {
    fluxOperator: "controlplaneio-fluxcd/flux-operator",
    kyverno: "kyverno/kyverno",
    certManager: "jetstack/cert-manager-controller",
};

export const repositoryDefault = "fleet-infra";
export const branchDefault = "main";

/** Per-environment defaults: one Kyverno admission replica in staging, HA in production. */
export const environmentDefaults: Record<string, { kyvernoReplicas: number }> = {
    staging: { kyvernoReplicas: 1 },
    production: { kyvernoReplicas: 3 },
};
export const kyvernoReplicasFallback = 1;

/**
 * Which form of the fleet's Kyverno policies an environment applies: `legacy` the
 * kyverno.io/v1 ClusterPolicies (infrastructure/configs), `cel` the policies.kyverno.io/v1
 * MutatingPolicies (infrastructure/configs/cel). Both are in the shared tree.
 */
export const kyvernoPolicyApis = ["legacy", "cel"] as const;
export type KyvernoPolicyApi = (typeof kyvernoPolicyApis)[number];
export const kyvernoPolicyApiDefault: KyvernoPolicyApi = "legacy";
