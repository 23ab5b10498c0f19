// What Helm keeps on uninstall (helm.sh/resource-policy: keep) is what the README
// says a destroy leaves, read from the pinned charts and the operator's CRDs.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { chartDefaults } from "../../stacks/defaults";
import { fluxOperatorRelease } from "../../stacks/flux-operator";
import { existingOrSkip, fluxOperatorDirs, toolsCache } from "./support/tool-files";

const readme = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "design.md"), "utf8");
interface Crd {
    metadata: { name: string };
    spec: { names: { plural: string } };
}

/** Every file below `dir`. */
function files(dir: string): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile())
        .map((e) => path.join(e.parentPath, e.name));
}

describe("what a destroy leaves", () => {
    it("the README removes exactly the Flux Operator's CRDs, which its chart keeps", function () {
        // The chart's templates/crds.yaml is these CRDs, each annotated keep; the chart is
        // not among the tools here, so the names come from the operator's own config/crd.
        const bases = existingOrSkip(
            this,
            fluxOperatorDirs(path.join("config", "crd", "bases")),
            `CRDs of flux-operator v${fluxOperatorRelease}`,
        );
        const crds = files(bases).map((f) => YAML.parse(fs.readFileSync(f, "utf8")) as Crd);
        const remove = /^kubectl delete crd (.+)$/m.exec(readme);
        assert.ok(remove, "the README has no `kubectl delete crd` line");
        assert.deepStrictEqual(remove[1].split(" ").sort(), crds.map((c) => c.metadata.name).sort());
        const check = /^kubectl get (\S+) --all-namespaces$/m.exec(readme);
        assert.ok(check, "the README has no `kubectl get ... --all-namespaces` line before the delete");
        assert.deepStrictEqual(check[1].split(",").sort(), crds.map((c) => c.spec.names.plural).sort());
    });

    it("Kyverno's and cert-manager's charts keep only what the README says goes anyway", function () {
        const { kyverno, certManager } = chartDefaults;
        const unpacked = path.join(
            toolsCache,
            "local-charts",
            `kyverno-${kyverno.version}.cert-manager-${certManager.version}`,
            "charts",
        );
        const charts = existingOrSkip(
            this,
            [unpacked],
            "unpacked kyverno and cert-manager charts (scripts/tools/local-charts.sh)",
        );
        const templates = files(charts).filter((f) => f.split(path.sep).includes("templates"));
        const keeps = (f: string) => /helm\.sh\/resource-policy/.test(fs.readFileSync(f, "utf8"));
        const kept = templates.filter(keeps).map((f) => path.relative(charts, f));
        // Kyverno's ConfigMap, in the release's namespace, which the program deletes after the release.
        const configMap = path.join("kyverno", "templates", "config", "configmap.yaml");
        assert.ok(kept.includes(configMap), kept.join("\n"));
        assert.match(
            fs.readFileSync(path.join(charts, configMap), "utf8"),
            /namespace: \{\{ template "kyverno\.namespace" \. \}\}/,
        );
        assert.match(readme, /Kyverno's chart keeps its ConfigMap `kyverno` \(`config\.preserve`\)/);
        // cert-manager's CRDs, annotated only under crds.keep, which the program sets to false.
        for (const file of kept.filter((f) => f !== configMap)) {
            assert.match(file, /^cert-manager\/templates\/crd-/, `${file} keeps something the README does not name`);
            assert.match(
                fs.readFileSync(path.join(charts, file), "utf8"),
                /\{\{- if \.Values\.crds\.keep \}\}\s+annotations:\s+helm\.sh\/resource-policy: keep/,
                file,
            );
        }
        assert.match(
            readme,
            /cert-manager's CRDs are annotated only with `crds\.keep`, which the\s+program sets to false/,
        );
    });
});
