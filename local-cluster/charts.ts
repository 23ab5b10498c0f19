// The chart mirror of the live local cluster: a Helm repository on 127.0.0.1
// serving the real charts at the versions the program pins, which a stack
// reaches through its chart settings, as a user reaches a private mirror.
//   kyverno 3.9.1, cert-manager v1.21.2  unpacked from their Go modules (scripts/tools/local-charts.sh)
//   flux-operator 0.59.0                 assembled here from the operator's own config/
//                                        (CRDs, RBAC, manager), as its image's release builds them
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { startHelmRepo, HelmRepo } from "./helm-repo";
import { toolCacheDir, toolHome } from "./tool-home";
import { findBinary } from "./util";

export const fluxOperatorChartVersion = "0.59.0";

export async function startChartMirror(dir: string, port?: number): Promise<HelmRepo> {
    const charts = path.join(toolCacheDir("local-charts"), "charts");
    const fluxOperator = assembleFluxOperatorChart(path.join(dir, "flux-operator-chart"));
    return startHelmRepo(
        [{ dir: path.join(charts, "kyverno") }, { dir: path.join(charts, "cert-manager") }, { dir: fluxOperator }],
        {
            port,
            dir: path.join(dir, "helm-repo"),
        },
    );
}

/** A chart of the operator's config/default kustomization, less the Namespace the program creates. */
export function assembleFluxOperatorChart(out: string): string {
    const config = path.join(toolHome("flux-operator"), "config", "default");
    const built = execFileSync(findBinary("kustomize"), ["build", config], { encoding: "utf8", maxBuffer: 64 << 20 });
    const docs = YAML.parseAllDocuments(built).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(path.join(out, "templates"), { recursive: true });
    fs.writeFileSync(
        path.join(out, "Chart.yaml"),
        YAML.stringify({
            apiVersion: "v2",
            name: "flux-operator",
            version: fluxOperatorChartVersion,
            appVersion: `v${fluxOperatorChartVersion}`,
            type: "application",
            description: "The Flux Operator, from its module's config/ (CRDs, RBAC, manager)",
        }),
    );
    for (const doc of docs) {
        if (doc.kind === "Namespace") continue;
        // Helm would read "{{" as a template; the manifests have none, keep it so.
        const text = YAML.stringify(doc).replace(/\{\{/g, '{{ "{{" }}');
        fs.writeFileSync(path.join(out, "templates", `${doc.kind.toLowerCase()}-${doc.metadata.name}.yaml`), text);
    }
    return out;
}
