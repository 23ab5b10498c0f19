// The CRDs the tree's custom resources are checked against, taken from the
// projects' own Go modules (their config/ folders ship the CRD YAML) through
// the Go module proxy: no schema is copied into this repository. Versions
// follow the pinned tools: the Flux CLI's go.mod names the controller API
// versions of its release, and the Kyverno CLI is pinned to the chart's app.
// The Flux Operator's CRDs (FluxInstance, which the program itself creates)
// follow the pinned flux-operator chart, whose version is the operator's.
import * as fs from "node:fs";
import * as path from "node:path";
import { chartDefaults } from "../../stacks/defaults";
import { pinnedVersion, run } from "./exec";

interface ModuleInfo {
    Dir: string;
    GoMod: string;
}

// The Go that `go mod download` switches to for a module whose go.mod asks for a newer Go than
// the local one (the flux-operator module says go 1.27): fetched once from the module proxy.
const NEWER_GO_TOOLCHAIN = "go1.27.3";

function download(mod: string, version: string, toolchain?: string): ModuleInfo {
    const env: Record<string, string> = { GOFLAGS: "-mod=mod", ...(toolchain ? { GOTOOLCHAIN: toolchain } : {}) };
    const r = run("go", ["mod", "download", "-json", `${mod}@${version}`], { env });
    const info = r.stdout ? (JSON.parse(r.stdout) as ModuleInfo & { Error?: string }) : undefined;
    if (r.code !== 0 || !info || info.Error)
        throw new Error(`go mod download ${mod}@${version}: ${info?.Error ?? r.stderr}`);
    return info;
}

/** The version of dep that a go.mod requires. */
function required(goMod: string, dep: string): string {
    const m = new RegExp(`^\\s*${dep.replace(/[./]/g, "\\$&")}\\s+(v\\S+)`, "m").exec(fs.readFileSync(goMod, "utf8"));
    if (!m) throw new Error(`${goMod} does not require ${dep}`);
    return m[1];
}

function yamlIn(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => path.join(dir, f));
}

/** CRD files of Flux's kustomize-controller and source-controller, of Kyverno, and of the Flux Operator. */
export function crdFiles(): string[] {
    const flux = download("github.com/fluxcd/flux2/v2", pinnedVersion("flux"));
    const files: string[] = [];
    for (const controller of ["kustomize-controller", "source-controller"]) {
        // The controllers' root modules carry config/crd/bases; their api modules do not.
        const version = required(flux.GoMod, `github.com/fluxcd/${controller}/api`);
        files.push(
            ...yamlIn(path.join(download(`github.com/fluxcd/${controller}`, version).Dir, "config", "crd", "bases")),
        );
    }
    const kyverno = download("github.com/kyverno/kyverno", pinnedVersion("kyverno")).Dir;
    for (const group of ["kyverno", "policies.kyverno.io"])
        files.push(...yamlIn(path.join(kyverno, "config", "crds", group)));
    const operator = download(
        "github.com/controlplaneio-fluxcd/flux-operator",
        `v${chartDefaults.fluxOperator.version}`,
        NEWER_GO_TOOLCHAIN,
    );
    files.push(...yamlIn(path.join(operator.Dir, "config", "crd", "bases")));
    return files;
}
