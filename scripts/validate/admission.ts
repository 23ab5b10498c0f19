// What the cluster admits, not only what Git holds: Kyverno's CLI applies the
// tree's policies to each build, as the admission webhook would when Flux
// applies it, and the dev-team tenant's workloads that come out are checked
// by the schema step with the API server's PodSecurity admission set to
// "restricted" (the standard the securityContext policy exists to meet).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { Built } from "./builds";
import { run, RunResult, tail, tool } from "./exec";
import { Report } from "./report";
import { KubeObject, Tree, describe, policyDirs, readObjects, yamlFiles } from "./trees";

/** The namespace label that marks the dev-team tenant, whose workloads the policies lock down. */
export const TENANT_LABEL = "toolkit.fluxcd.io/tenant";
export const TENANT = "dev-team";
const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"]);
// The registry's answer cannot be had offline; only its shape (name@sha256:...) matters here.
const RESOLVED_PLACEHOLDER = `registry.invalid/validate/resolved@sha256:${"0".repeat(64)}`;

export function admit(tree: Tree, built: Built[], report: Report): Built[] {
    const check = `kyverno apply (${tree.label})`;
    const policies = policyDirs(tree.root).flatMap((d) =>
        yamlFiles(path.join(tree.root, d)).map((f) => path.join(tree.root, d, f)),
    );
    const sets = built.filter((b) => b.root === tree.root && b.objects.some((o) => WORKLOADS.has(o.kind ?? "")));
    // Nothing to apply, or nothing to apply it to, would make this check pass by doing nothing.
    if (policies.length === 0) {
        report.fail({
            check,
            file: path.join(tree.root, "infrastructure"),
            message: "no Kyverno policy found under infrastructure/: nothing would mutate the workloads",
        });
        return [];
    }
    if (sets.length === 0) {
        report.fail({
            check,
            file: tree.root,
            message: `no workload (${[...WORKLOADS].join(", ")}) came out of this tree's builds, so the policies were applied to nothing (a failed build above?)`,
        });
        return [];
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "validate-admit-"));
    try {
        const values = path.join(work, "values.yaml");
        fs.writeFileSync(
            values,
            stringify(
                valuesFor(
                    built.filter((b) => b.root === tree.root),
                    policies,
                ),
            ),
        );
        const out: Built[] = [];
        sets.forEach((set, i) => {
            const input = path.join(work, `in-${i}.yaml`);
            const output = path.join(work, `out-${i}.yaml`);
            fs.writeFileSync(input, set.objects.map((o) => stringify(o)).join("---\n"));
            const r = kyvernoApply(policies, input, values, output);
            const summary = /pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)/.exec(r.stdout);
            if (r.code !== 0 || !summary || summary[4] !== "0" || !fs.existsSync(output)) {
                report.fail({ check, file: set.source, message: tail(`${r.stdout}\n${r.stderr}`) });
                return;
            }
            const tenant = tenantWorkloads(
                readObjects(output),
                built.filter((b) => b.root === tree.root),
            );
            const unpinned = tenant.flatMap((o) =>
                imagesOf(o)
                    .filter((img) => !img.includes("@sha256:"))
                    .map((img) => `${describe(o)}: ${img}`),
            );
            if (unpinned.length > 0) {
                report.fail({
                    check,
                    file: set.source,
                    message: `images of the ${TENANT} tenant not resolved to a digest:\n${unpinned.join("\n")}`,
                });
                return;
            }
            report.pass(check, `${set.source} (${summary[1]} rules applied, ${tenant.length} ${TENANT} workloads)`);
            out.push({
                source: `${set.source}, as admitted by Kyverno`,
                root: set.root,
                objects: tenant,
                admitted: true,
            });
        });
        return out;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

/** CLI values: each built Namespace's labels, and a digest for every imageRegistry context entry. */
function valuesFor(built: Built[], policies: string[]): Record<string, unknown> {
    const namespaces = new Map<string, Record<string, string>>();
    for (const o of built.flatMap((b) => b.objects)) {
        if (o.kind === "Namespace" && o.metadata?.name) namespaces.set(o.metadata.name, labelsOf(o));
    }
    const policyValues = policies.flatMap(readObjects).map((p) => ({
        name: p.metadata?.name,
        rules: rulesOf(p).map((rule) => ({
            name: rule.name,
            values: Object.fromEntries(registryEntries(rule.context).map((n) => [n, RESOLVED_PLACEHOLDER])),
            foreachValues: Object.fromEntries(
                (rule.mutate?.foreach ?? [])
                    .flatMap((f) => registryEntries(f.context))
                    .map((n) => [n, [RESOLVED_PLACEHOLDER]]),
            ),
        })),
    }));
    return {
        apiVersion: "cli.kyverno.io/v1alpha1",
        kind: "Values",
        metadata: { name: "validate" },
        namespaceSelector: [...namespaces].map(([name, labels]) => ({ name, labels })),
        policies: policyValues,
    };
}

interface ContextEntry {
    name?: string;
    imageRegistry?: unknown;
}
interface Rule {
    name?: string;
    context?: ContextEntry[];
    mutate?: { foreach?: { context?: ContextEntry[] }[] };
}

function rulesOf(p: KubeObject): Rule[] {
    const rules = p.spec?.rules;
    return Array.isArray(rules) ? (rules as Rule[]) : [];
}

function registryEntries(context: ContextEntry[] | undefined): string[] {
    return (context ?? []).filter((c) => c.imageRegistry && c.name).map((c) => c.name as string);
}

function labelsOf(o: KubeObject): Record<string, string> {
    const labels = (o.metadata as { labels?: Record<string, string> } | undefined)?.labels;
    return labels ?? {};
}

const applied = new Map<string, { r: RunResult; output?: string }>();

/**
 * `kyverno apply POLICIES -r INPUT -f VALUES -o OUTPUT`, once per distinct content of
 * its inputs: a stack's tree renders some builds exactly as the static tree has them.
 */
function kyvernoApply(policies: string[], input: string, values: string, output: string): RunResult {
    const hash = createHash("sha256");
    for (const f of [...policies, input, values]) hash.update(fs.readFileSync(f)).update("\0");
    const key = hash.digest("hex");
    const hit = applied.get(key);
    if (hit) {
        if (hit.output !== undefined) fs.writeFileSync(output, hit.output);
        return hit.r;
    }
    const r = run(tool("kyverno"), ["apply", ...policies, "-r", input, "-f", values, "-o", output, "--remove-color"]);
    applied.set(key, { r, output: fs.existsSync(output) ? fs.readFileSync(output, "utf8") : undefined });
    return r;
}

/** The workloads kyverno apply returned that live in a namespace of the dev-team tenant (last copy wins: it has every policy's patch). */
function tenantWorkloads(objects: KubeObject[], built: Built[]): KubeObject[] {
    const tenantNs = new Set(
        built
            .flatMap((b) => b.objects)
            .filter((o) => o.kind === "Namespace" && labelsOf(o)[TENANT_LABEL] === TENANT)
            .map((o) => o.metadata?.name),
    );
    const last = new Map<string, KubeObject>();
    for (const o of objects)
        if (WORKLOADS.has(o.kind ?? "") && tenantNs.has(o.metadata?.namespace))
            last.set(`${o.apiVersion} ${describe(o)}`, o);
    return [...last.values()];
}

function imagesOf(o: KubeObject): string[] {
    const found: string[] = [];
    const walk = (v: unknown, key: string): void => {
        if (Array.isArray(v)) v.forEach((x) => walk(x, key));
        else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k);
        else if (key === "image" && typeof v === "string") found.push(v);
    };
    walk(o.spec, "");
    return found;
}
