// Where a Helm release's chart comes from: a classic repository (https/http, e.g.
// a private mirror) or an OCI registry.

export interface ChartSource {
    /** Helm repository URL (https:// or http://) or OCI registry path (oci://). */
    repository: string;
    /** Exact chart version. */
    version: string;
    /** Where a mirror serves the chart's images (host[:port][/path]); the chart's own registries when absent. */
    imageRegistry?: string;
}

/** Each chart's main image below its registry: a mirror serves it at <imageRegistry>/<path>. */
export const chartImagePaths = {
    fluxOperator: "controlplaneio-fluxcd/flux-operator",
    kyverno: "kyverno/kyverno",
    certManager: "jetstack/cert-manager-controller",
};

export function helmChart(
    chartName: string,
    source: ChartSource,
): { chart: string; version: string; repositoryOpts?: { repo: string } } {
    if (source.repository.startsWith("oci://")) {
        return { chart: `${source.repository.replace(/\/+$/, "")}/${chartName}`, version: source.version };
    }
    return { chart: chartName, version: source.version, repositoryOpts: { repo: source.repository } };
}
