// The trees validate checks: the static fleet folder as committed here, and
// for each stack the exact tree that stack's `pulumi up` pushes.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { renderFleetTree } from "../../components/fleet-tree";

export interface Tree {
    /** "static", "stack <env>" or "tree <dir>". */
    label: string;
    root: string;
    /** Environments whose clusters/<env> folder the tree holds (none in fleet/). */
    envs: string[];
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** Writes renderFleetTree's files for env under out and returns that tree. */
export function renderStackTree(fleetDir: string, env: string, out: string): Tree {
    const files = renderFleetTree(fleetDir, env);
    for (const [rel, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
        fs.writeFileSync(path.join(out, rel), content);
    }
    return { label: `stack ${env}`, root: out, envs: [env] };
}

/** A tree as the fleet repository holds it (e.g. a checkout): every clusters/<env> in it counts. */
export function committedTree(root: string): Tree {
    const clusters = path.join(root, "clusters");
    const envs = fs.existsSync(clusters)
        ? fs
              .readdirSync(clusters, { withFileTypes: true })
              .filter((e) => e.isDirectory())
              .map((e) => e.name)
              .sort()
        : [];
    return { label: `tree ${root}`, root, envs };
}

/** Every folder (relative to root) with a kustomization file, outside the policy test folders. */
export function kustomizationDirs(root: string): string[] {
    return walkDirs(root).filter((d) => KUSTOMIZATION_FILES.some((f) => fs.existsSync(path.join(root, d, f))));
}

/** Policy folders under infrastructure/: any folder holding a policy file of `group` (kyverno.io, or policies.kyverno.io: the CEL form). */
export function policyDirs(root: string, group = "kyverno.io/"): string[] {
    return walkDirs(root).filter((d) => {
        if (!d.startsWith("infrastructure")) return false;
        return yamlFiles(path.join(root, d)).some((f) =>
            readObjects(path.join(root, d, f)).some(
                (o) => o.apiVersion?.startsWith(group) && /Policy$/.test(o.kind ?? ""),
            ),
        );
    });
}

export interface KubeObject {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
    spec?: Record<string, unknown>;
    [key: string]: unknown;
}

/** The objects of a multi-document YAML text; throws with the document's position on a parse error. */
export function parseObjects(text: string, source: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0].message}`);
        const value: unknown = doc.toJS();
        if (value && typeof value === "object") out.push(value as KubeObject);
    }
    return out;
}

export function readObjects(file: string): KubeObject[] {
    return parseObjects(fs.readFileSync(file, "utf8"), file);
}

/** "Kind namespace/name" or "Kind name": how failures name an object. */
export function describe(o: KubeObject): string {
    const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : "";
    return `${o.kind ?? "<no kind>"} ${ns}${o.metadata?.name ?? "<no name>"}`;
}

/** Tree files (relative) holding an object of o's kind and name: where a built object came from. */
export function definedIn(root: string, o: KubeObject): string[] {
    const hits: string[] = [];
    for (const dir of walkDirs(root)) {
        for (const f of yamlFiles(path.join(root, dir))) {
            const rel = dir === "." ? f : `${dir}/${f}`;
            let objects: KubeObject[];
            try {
                objects = readObjects(path.join(root, rel));
            } catch {
                continue; // a file that does not parse is reported by the builds
            }
            if (objects.some((x) => x.kind === o.kind && x.metadata?.name === o.metadata?.name)) hits.push(rel);
        }
    }
    return hits;
}

export function yamlFiles(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
        .map((e) => e.name)
        .sort();
}

/** Relative paths of root and its sub-folders, skipping hidden ones (.kyverno-test, .git). */
function walkDirs(root: string): string[] {
    const out: string[] = [];
    const walk = (rel: string): void => {
        out.push(rel === "" ? "." : rel);
        for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
            if (e.isDirectory() && !e.name.startsWith(".")) walk(rel ? `${rel}/${e.name}` : e.name);
        }
    };
    walk("");
    return out.sort();
}
