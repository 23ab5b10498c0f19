// kustomize and Flux builds of a tree, as kustomize-controller runs them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, tail, tool } from "./exec";
import { Report } from "./report";
import { KubeObject, Tree, describe, kustomizationDirs, parseObjects, readObjects, yamlFiles } from "./trees";

/** Objects a check produced, with where they came from, for the schema check. */
export interface Built {
    source: string;
    /** The tree the objects were built from, to find the files that define them. */
    root: string;
    objects: KubeObject[];
    /** Objects as Kyverno returned them: the schema step also holds them to PodSecurity "restricted". */
    admitted?: boolean;
}

/** kustomize build of every kustomization folder; kustomize-controller allows loads outside the folder. */
export function kustomizeBuilds(tree: Tree, report: Report): Built[] {
    const out: Built[] = [];
    for (const dir of kustomizationDirs(tree.root)) {
        const check = `kustomize build (${tree.label})`;
        const r = run(tool("kustomize"), ["build", "--load-restrictor", "LoadRestrictionsNone", dir], {
            cwd: tree.root,
        });
        if (r.code !== 0) {
            report.fail({ check, file: path.join(dir, "kustomization.yaml"), message: tail(r.stderr || r.stdout) });
            continue;
        }
        const objects = parseObjects(r.stdout, dir);
        report.pass(check, `${dir} (${objects.length} objects)`);
        out.push({ source: `${tree.label}: kustomize build ${dir}`, root: tree.root, objects });
    }
    return out;
}

/** The Flux Kustomizations of clusters/<env>, each built by the Flux CLI from its own file. */
export function fluxBuilds(tree: Tree, report: Report): Built[] {
    return tree.envs.flatMap((env) => fluxBuildsOf(tree, env, report));
}

function fluxBuildsOf(tree: Tree, env: string, report: Report): Built[] {
    const clusterDir = path.join("clusters", env);
    const out: Built[] = [];
    // The FluxInstance's own sync of clusters/<env> (the Flux Operator names it flux-system); the CLI's
    // dry run needs that Kustomization as a file, so one is written outside the tree.
    out.push(...fluxBuild(tree, report, "flux-system", clusterDir, undefined, instanceSync(clusterDir)));
    for (const file of yamlFiles(path.join(tree.root, clusterDir))) {
        const rel = path.join(clusterDir, file);
        for (const ks of readObjects(path.join(tree.root, rel))) {
            if (ks.kind !== "Kustomization" || !ks.apiVersion?.startsWith("kustomize.toolkit.fluxcd.io/")) continue;
            const name = ks.metadata?.name ?? "";
            const syncPath = typeof ks.spec?.path === "string" ? ks.spec.path : ".";
            if (!fs.existsSync(path.join(tree.root, syncPath))) {
                report.fail({
                    check: `flux build (${tree.label})`,
                    file: rel,
                    object: describe(ks),
                    message: `spec.path ${syncPath} does not exist in the tree`,
                });
                continue;
            }
            out.push(...fluxBuild(tree, report, name, syncPath, rel, ks));
        }
    }
    return out;
}

function fluxBuild(
    tree: Tree,
    report: Report,
    name: string,
    syncPath: string,
    file: string | undefined,
    ks: KubeObject,
): Built[] {
    const check = `flux build (${tree.label})`;
    let ksFile = file;
    if (!ksFile) {
        ksFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "validate-ks-")), "flux-system.yaml");
        fs.writeFileSync(ksFile, JSON.stringify(ks));
    }
    const args = ["build", "kustomization", name, "--path", syncPath, "--dry-run", "--kustomization-file", ksFile];
    // --dry-run never contacts a cluster; an empty kubeconfig makes sure of it.
    const r = run(tool("flux"), args, { cwd: tree.root, env: { KUBECONFIG: "/dev/null" } });
    if (!file) fs.rmSync(path.dirname(ksFile), { recursive: true, force: true });
    const where = file ?? `${syncPath} (the FluxInstance sync)`;
    if (r.code !== 0) {
        report.fail({ check, file: where, object: describe(ks), message: tail(r.stderr || r.stdout) });
        return [];
    }
    const objects = parseObjects(r.stdout, where);
    report.pass(check, `${describe(ks)} from ${where} (${objects.length} objects)`);
    return [{ source: `${tree.label}: flux build ${where}`, root: tree.root, objects }];
}

/** The Kustomization the FluxInstance creates to sync clusters/<env> from the fleet repo. */
function instanceSync(clusterDir: string): KubeObject {
    return {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: "flux-system", namespace: "flux-system" },
        spec: {
            interval: "10m",
            path: `./${clusterDir}`,
            prune: true,
            sourceRef: { kind: "GitRepository", name: "flux-system" },
        },
    };
}

/** The clusters/<env> files themselves, as Flux applies them. */
export function clusterObjects(tree: Tree): Built[] {
    return tree.envs.flatMap((env) => {
        const dir = path.join("clusters", env);
        return yamlFiles(path.join(tree.root, dir)).map((f) => ({
            source: `${tree.label}: ${path.join(dir, f)}`,
            root: tree.root,
            objects: readObjects(path.join(tree.root, dir, f)),
        }));
    });
}
