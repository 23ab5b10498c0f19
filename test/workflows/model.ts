// The project's GitHub Actions workflows and local actions as data, for the
// policy test: which jobs a pull request can reach, what each job instance
// evaluates its environment and concurrency group to (with the inputs and
// matrix values its callers give), and which Pulumi command it runs on which
// stack. Expressions this model does not know become "*" (any string).
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export type Doc = Record<string, any>;

export interface Workflow {
    file: string; // e.g. ".github/workflows/preview.yml"
    text: string;
    doc: Doc;
}

export interface LocalAction {
    dir: string; // e.g. "./.github/actions/pulumi-stack"
    file: string;
    text: string;
    doc: Doc;
}

/** One job as it would run: its workflow, the values its `inputs.*` and `matrix.*` take. */
export interface JobInstance {
    workflow: Workflow;
    id: string;
    job: Doc;
    /** Workflows whose events start this instance (the caller chain's triggers). */
    triggers: string[];
    /** Concurrency groups around it: the workflow's (and callers'), then the job's. */
    groups: { pattern: string; cancelInProgress: boolean; where: string }[];
    bindings: Record<string, string[]>;
    /** The caller jobs on the way here (for messages). */
    via: string[];
}

export function loadProject(root: string): { workflows: Workflow[]; actions: LocalAction[] } {
    const wfDir = path.join(root, ".github", "workflows");
    const workflows = fs
        .readdirSync(wfDir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => {
            const text = fs.readFileSync(path.join(wfDir, f), "utf8");
            return { file: `.github/workflows/${f}`, text, doc: parse(text) as Doc };
        });
    const actions: LocalAction[] = [];
    const acDir = path.join(root, ".github", "actions");
    if (fs.existsSync(acDir)) {
        for (const d of fs.readdirSync(acDir).sort()) {
            for (const name of ["action.yml", "action.yaml"]) {
                const file = path.join(acDir, d, name);
                if (!fs.existsSync(file)) continue;
                const text = fs.readFileSync(file, "utf8");
                actions.push({
                    dir: `./.github/actions/${d}`,
                    file: `.github/actions/${d}/${name}`,
                    text,
                    doc: parse(text) as Doc,
                });
            }
        }
    }
    return { workflows, actions };
}

export function triggersOf(wf: Workflow): string[] {
    const on = wf.doc.on;
    if (typeof on === "string") return [on];
    if (Array.isArray(on)) return on as string[];
    return Object.keys(on ?? {});
}

/**
 * Every job instance, following `uses: ./.github/workflows/x.yml` calls from
 * the workflows that have their own events. A reusable workflow's jobs are
 * instances per caller (with that caller's inputs and matrix).
 */
export function jobInstances(workflows: Workflow[]): JobInstance[] {
    const byFile = new Map(workflows.map((w) => [w.file, w]));
    const out: JobInstance[] = [];
    const visit = (
        wf: Workflow,
        triggers: string[],
        outer: JobInstance["groups"],
        bindings: Record<string, string[]>,
        via: string[],
    ) => {
        const wfGroups = [...outer];
        if (wf.doc.concurrency !== undefined)
            wfGroups.push(concurrencyOf(wf.doc.concurrency, bindings, `${wf.file} (workflow)`));
        for (const [id, job] of Object.entries((wf.doc.jobs ?? {}) as Record<string, Doc>)) {
            const jobBindings = { ...bindings, ...matrixBindings(job) };
            const groups = [...wfGroups];
            if (job.concurrency !== undefined)
                groups.push(concurrencyOf(job.concurrency, jobBindings, `${wf.file} job ${id}`));
            if (typeof job.uses === "string" && job.uses.startsWith("./.github/workflows/")) {
                const callee = byFile.get(job.uses.slice(2));
                if (!callee) throw new Error(`${wf.file} job ${id} calls ${job.uses}, which does not exist`);
                // One call per choice of the caller's values, so that inputs filled
                // from the same value (stack and environment, say) stay together.
                const declared = (((callee.doc.on ?? {}) as Doc).workflow_call?.inputs ?? {}) as Record<string, Doc>;
                for (const one of assignments(jobBindings)) {
                    const inputs: Record<string, string[]> = {};
                    for (const [name, spec] of Object.entries(declared)) {
                        const given = (job.with ?? {})[name];
                        inputs[`inputs.${name}`] =
                            given === undefined
                                ? spec.default === undefined
                                    ? [""]
                                    : [String(spec.default)]
                                : expand(String(given), one);
                    }
                    visit(callee, triggers, groups, inputs, [...via, `${wf.file} job ${id}`]);
                }
            } else {
                out.push({ workflow: wf, id, job, triggers, groups, bindings: jobBindings, via });
            }
        }
    };
    for (const wf of workflows) {
        const triggers = triggersOf(wf).filter((t) => t !== "workflow_call");
        if (triggers.length === 0) continue;
        visit(wf, triggers, [], dispatchBindings(wf), []);
    }
    return out;
}

/** Each single choice of bound values (e.g. teardown's stack is one stack at a time). */
export function assignments(bindings: Record<string, string[]>): Record<string, string[]>[] {
    let out: Record<string, string[]>[] = [{}];
    for (const [k, vs] of Object.entries(bindings)) out = out.flatMap((a) => vs.map((v) => ({ ...a, [k]: [v] })));
    return out;
}

function concurrencyOf(c: unknown, bindings: Record<string, string[]>, where: string): JobInstance["groups"][number] {
    if (typeof c === "string") return { pattern: expand(c, bindings).join("|"), cancelInProgress: false, where };
    const d = c as Doc;
    return {
        pattern: expand(String(d.group), bindings).join("|"),
        cancelInProgress: d["cancel-in-progress"] === true || String(d["cancel-in-progress"]).includes("${{"),
        where,
    };
}

function matrixBindings(job: Doc): Record<string, string[]> {
    const m = job.strategy?.matrix;
    const out: Record<string, string[]> = {};
    if (m && typeof m === "object") {
        for (const [k, v] of Object.entries(m as Doc)) if (Array.isArray(v)) out[`matrix.${k}`] = v.map(String);
    }
    return out;
}

/** workflow_dispatch choice inputs take one of their options; others anything. */
function dispatchBindings(wf: Workflow): Record<string, string[]> {
    const inputs = (((wf.doc.on ?? {}) as Doc).workflow_dispatch?.inputs ?? {}) as Record<string, Doc>;
    const out: Record<string, string[]> = {};
    for (const [name, spec] of Object.entries(inputs)) {
        if (spec.type === "choice" && Array.isArray(spec.options)) out[`inputs.${name}`] = spec.options.map(String);
        else if (spec.type === "boolean") out[`inputs.${name}`] = ["true", "false"];
    }
    return out;
}

/**
 * The strings a `${{ }}` template can become: a bare `inputs.x`/`matrix.x`
 * with known values expands to each; a string literal to itself; anything
 * else to "*". Several known names multiply out.
 */
export function expand(template: string, bindings: Record<string, string[]>): string[] {
    let results = [""];
    let rest = template;
    for (;;) {
        const i = rest.indexOf("${{");
        if (i < 0) break;
        const j = rest.indexOf("}}", i);
        if (j < 0) break;
        const lit = rest.slice(0, i);
        const expr = rest.slice(i + 3, j).trim();
        let values: string[];
        const str = /^'((?:[^']|'')*)'$/.exec(expr);
        if (str) values = [str[1].replace(/''/g, "'")];
        else if (bindings[expr]) values = bindings[expr];
        else values = ["*"];
        results = results.flatMap((r) => values.map((v) => r + lit + v));
        rest = rest.slice(j + 2);
    }
    return results.map((r) => r + rest);
}

/** Whether two patterns, where "*" matches any string, can name the same string. */
export function globsIntersect(p: string, q: string): boolean {
    const memo = new Map<string, boolean>();
    const f = (i: number, j: number): boolean => {
        const key = `${i},${j}`;
        const hit = memo.get(key);
        if (hit !== undefined) return hit;
        let r = false;
        if (i === p.length && j === q.length) r = true;
        else if (i < p.length && p[i] === "*") r = f(i + 1, j) || (j < q.length && f(i, j + 1));
        else if (j < q.length && q[j] === "*") r = f(i, j + 1) || (i < p.length && f(i + 1, j));
        else if (i < p.length && j < q.length && p[i] === q[j]) r = f(i + 1, j + 1);
        memo.set(key, r);
        return r;
    };
    return f(0, 0);
}

/** The local action a step uses, if any. */
export function localAction(step: Doc, actions: LocalAction[]): LocalAction | undefined {
    return typeof step.uses === "string" ? actions.find((a) => a.dir === step.uses.replace(/\/$/, "")) : undefined;
}

/** Everything a job instance executes, as text: its own YAML and the local actions it uses. */
export function jobText(inst: JobInstance, actions: LocalAction[]): string {
    const steps = (inst.job.steps ?? []) as Doc[];
    return [
        JSON.stringify(inst.job),
        ...steps
            .map((s) => localAction(s, actions))
            .filter((a): a is LocalAction => !!a)
            .map((a) => JSON.stringify(a.doc)),
    ].join("\n");
}

export interface PulumiRun {
    command: string;
    stacks: string[];
    /** Where the command is (step name or action). */
    where: string;
    /** The local action step that runs it, when it runs through one. */
    actionStep?: Doc;
    action?: LocalAction;
}

/**
 * The Pulumi commands a job instance runs, with the stacks they run on:
 * pulumi/actions steps, the project's local pulumi action, and
 * `cli/stack.sh up|destroy` run lines.
 */
export function pulumiRuns(inst: JobInstance, actions: LocalAction[]): PulumiRun[] {
    const out: PulumiRun[] = [];
    const steps = (inst.job.steps ?? []) as Doc[];
    for (const s of steps) {
        const w = (s.with ?? {}) as Doc;
        const a = localAction(s, actions);
        if (a && w.command !== undefined) {
            for (const command of expand(String(w.command), inst.bindings)) {
                out.push({
                    command,
                    stacks: expand(String(w.stack ?? ""), inst.bindings),
                    where: `${s.uses}`,
                    actionStep: s,
                    action: a,
                });
            }
        } else if (typeof s.uses === "string" && s.uses.startsWith("pulumi/actions@") && w.command !== undefined) {
            // The step's `if` narrows a reusable workflow's command input to one value.
            const guard = /inputs\.command == '(\w+)'/.exec(String(s.if ?? ""));
            for (const command of expand(String(w.command), inst.bindings)) {
                if (guard && !(inst.bindings["inputs.command"] ?? [guard[1]]).includes(guard[1])) continue;
                out.push({
                    command,
                    stacks: expand(String(w["stack-name"] ?? ""), { ...inst.bindings, ...envBindings(inst, s) }),
                    where: s.name ?? s.uses,
                });
            }
        } else if (typeof s.run === "string") {
            const m = /cli\/stack\.sh (up|destroy) "\$(\w+)"/.exec(s.run);
            const guard = /inputs\.command == '(\w+)'/.exec(String(s.if ?? ""));
            if (m && !(guard && !(inst.bindings["inputs.command"] ?? [guard[1]]).includes(guard[1]))) {
                const value = (s.env ?? {})[m[2]] ?? (inst.job.env ?? {})[m[2]] ?? "";
                out.push({ command: m[1], stacks: expand(String(value), inst.bindings), where: s.name ?? "run" });
            }
        }
    }
    return out;
}

function envBindings(inst: JobInstance, step: Doc): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [k, v] of Object.entries({ ...(inst.job.env ?? {}), ...(step.env ?? {}) }))
        out[`env.${k}`] = expand(String(v), inst.bindings);
    return out;
}

/** The environment name(s) a job instance runs in ([] for none). */
export function environmentOf(inst: JobInstance): string[] {
    const e = inst.job.environment;
    if (e === undefined || e === null) return [];
    const name = typeof e === "string" ? e : (e as Doc).name;
    if (name === undefined || name === null) return [];
    return expand(String(name), inst.bindings);
}

/** Every `run:` script in workflows and local actions, with where it is. */
export function runScripts(
    workflows: Workflow[],
    actions: LocalAction[],
): { where: string; script: string; shell?: string }[] {
    const out: { where: string; script: string; shell?: string }[] = [];
    for (const wf of workflows) {
        for (const [id, job] of Object.entries((wf.doc.jobs ?? {}) as Record<string, Doc>)) {
            ((job.steps ?? []) as Doc[]).forEach((s, i) => {
                if (typeof s.run === "string")
                    out.push({
                        where: `${wf.file} job ${id} step ${s.name ?? i + 1}`,
                        script: s.run,
                        shell: s.shell ?? job.defaults?.run?.shell,
                    });
            });
        }
    }
    for (const a of actions) {
        ((a.doc.runs?.steps ?? []) as Doc[]).forEach((s, i) => {
            if (typeof s.run === "string")
                out.push({ where: `${a.file} step ${s.name ?? i + 1}`, script: s.run, shell: s.shell });
        });
    }
    return out;
}
