// Where a Helm release's chart comes from: a classic repository (https/http, e.g.
// a private mirror) or an OCI registry.
import type { ChartSource } from "../stacks/defaults";

export function helmChart(chartName: string, source: ChartSource): { chart: string; version: string; repositoryOpts?: { repo: string } } {
    if (source.repository.startsWith("oci://")) {
        return { chart: `${source.repository.replace(/\/+$/, "")}/${chartName}`, version: source.version };
    }
    return { chart: chartName, version: source.version, repositoryOpts: { repo: source.repository } };
}
