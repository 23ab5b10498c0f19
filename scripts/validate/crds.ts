// The CRDs the tree's custom resources are checked against, taken from the
// projects' own Go modules (their config/ folders ship the CRD YAML) through
// the Go module proxy: no schema is copied into this repository. Versions
// follow the pinned tools: the Flux CLI's go.mod names the controller API
// versions of its release, and the Kyverno CLI is pinned to the chart's app.
import * as fs from "node:fs";
import * as path from "node:path";
import { pinnedVersion, run } from "./exec";

interface ModuleInfo {
    Dir: string;
    GoMod: string;
}

function download(mod: string, version: string): ModuleInfo {
    const r = run("go", ["mod", "download", "-json", `${mod}@${version}`], { env: { GOFLAGS: "-mod=mod" } });
    const info = r.stdout ? (JSON.parse(r.stdout) as ModuleInfo & { Error?: string }) : undefined;
    if (r.code !== 0 || !info || info.Error) throw new Error(`go mod download ${mod}@${version}: ${info?.Error ?? r.stderr}`);
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

/** CRD files of Flux's kustomize-controller and source-controller and of Kyverno. */
export function crdFiles(): string[] {
    const flux = download("github.com/fluxcd/flux2/v2", pinnedVersion("flux"));
    const files: string[] = [];
    for (const controller of ["kustomize-controller", "source-controller"]) {
        // The controllers' root modules carry config/crd/bases; their api modules do not.
        const version = required(flux.GoMod, `github.com/fluxcd/${controller}/api`);
        files.push(...yamlIn(path.join(download(`github.com/fluxcd/${controller}`, version).Dir, "config", "crd", "bases")));
    }
    const kyverno = download("github.com/kyverno/kyverno", pinnedVersion("kyverno")).Dir;
    for (const group of ["kyverno", "policies.kyverno.io"]) files.push(...yamlIn(path.join(kyverno, "config", "crds", group)));
    return files;
}
