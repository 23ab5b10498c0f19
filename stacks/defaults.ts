// Pinned defaults. A stack overrides any of them with `pulumi config set`, e.g. to
// install from a private chart mirror; nothing here floats.
import type { KyvernoPolicyApi } from "../components/fleet-tree";
import type { ChartSource } from "../components/helm-source";

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

export const repositoryDefault = "fleet-infra";
export const branchDefault = "main";

/** Per-environment defaults: one Kyverno admission replica in staging, HA in production. */
export const environmentDefaults: Record<string, { kyvernoReplicas: number }> = {
    staging: { kyvernoReplicas: 1 },
    production: { kyvernoReplicas: 3 },
};
export const kyvernoReplicasFallback = 1;

/** The form of the fleet's Kyverno policies an environment applies unless its stack says otherwise. */
export const kyvernoPolicyApiDefault: KyvernoPolicyApi = "legacy";
