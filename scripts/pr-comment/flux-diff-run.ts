// Runs the pinned flux CLI's `flux diff kustomization` for each Flux
// Kustomization an environment's `clusters/<env>/` defines, against a cluster.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { findBinary } from "../../local-cluster/util";
import { DiffOutcome, KustomizationDiff } from "./flux-diff-section";

export interface ClusterTarget {
    kubeconfig: string;
    context?: string;
}

export interface KustomizationDef {
    name: string;
    namespace: string;
    path: string;
    /** The file under clusters/<env>/ that defines it. */
    file: string;
    dependsOn: string[];
}

/** Flux Kustomizations defined in `<tree>/clusters/<env>/`, those others depend on first. */
export function kustomizationsOf(tree: string, environment: string): KustomizationDef[] {
    const dir = path.join(tree, "clusters", environment);
    if (!fs.existsSync(dir))
        throw new Error(
            `${dir} does not exist: render the tree first (scripts/render-fleet.ts --env ${environment} --out ${tree})`,
        );
    const defs: KustomizationDef[] = [];
    for (const f of fs
        .readdirSync(dir)
        .filter((n) => /\.ya?ml$/.test(n))
        .sort()) {
        const file = path.join(dir, f);
        for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
            const o = doc.toJS() as {
                apiVersion?: string;
                kind?: string;
                metadata?: { name?: string; namespace?: string };
                spec?: { path?: string; dependsOn?: { name: string }[] };
            } | null;
            if (o?.kind !== "Kustomization" || !String(o.apiVersion).startsWith("kustomize.toolkit.fluxcd.io/"))
                continue;
            if (!o.metadata?.name) throw new Error(`${file}: a Kustomization without metadata.name`);
            defs.push({
                name: o.metadata.name,
                namespace: o.metadata.namespace ?? "flux-system",
                path: o.spec?.path ?? "./",
                file,
                dependsOn: (o.spec?.dependsOn ?? []).map((d) => d.name),
            });
        }
    }
    // Dependencies first (a stable order: names others wait for come earlier).
    const order: KustomizationDef[] = [];
    const visit = (d: KustomizationDef, seen: Set<string>) => {
        if (order.includes(d) || seen.has(d.name)) return;
        seen.add(d.name);
        for (const dep of d.dependsOn) {
            const found = defs.find((x) => x.name === dep);
            if (found) visit(found, seen);
        }
        order.push(d);
    };
    for (const d of defs) visit(d, new Set());
    return order;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** One `flux diff kustomization`: exit 0 no change, 1 a diff, anything else an error (flux's documented codes). */
export function diffOne(tree: string, def: KustomizationDef, target: ClusterTarget, timeoutSeconds = 180): DiffOutcome {
    const local = path.resolve(tree, def.path);
    if (!fs.existsSync(local)) return { kind: "error", message: `spec.path ${def.path} is not in the tree (${local})` };
    const args = [
        "diff",
        "kustomization",
        def.name,
        "--namespace",
        def.namespace,
        "--path",
        local,
        "--kustomization-file",
        def.file,
        "--progress-bar=false",
        `--kubeconfig=${target.kubeconfig}`,
    ];
    if (target.context) args.push(`--context=${target.context}`);
    let flux: string;
    try {
        flux = findBinary("flux");
    } catch (err) {
        return { kind: "error", message: (err as Error).message };
    }
    const r = spawnSync(flux, args, { encoding: "utf8", timeout: timeoutSeconds * 1000, maxBuffer: 64 * 1024 * 1024 });
    const stdout = (r.stdout ?? "").replace(ANSI, "");
    const stderr = (r.stderr ?? "").replace(ANSI, "").trim();
    if (r.error)
        return { kind: "error", message: `flux diff did not finish: ${r.error.message}${stderr ? `\n${stderr}` : ""}` };
    if (r.status === 0) return { kind: "unchanged" };
    if (r.status === 1 && stdout.trim()) return { kind: "changed", diff: stdout };
    return {
        kind: "error",
        message: `flux diff exited ${r.status ?? `on signal ${r.signal}`}: ${stderr || stdout.trim() || "no output"}`,
    };
}

export function diffEnvironment(tree: string, environment: string, target: ClusterTarget): KustomizationDiff[] {
    return kustomizationsOf(tree, environment).map((def) => ({
        name: def.name,
        path: def.path,
        outcome: diffOne(tree, def, target),
    }));
}
