// Properties of .github/workflows and .github/actions that actionlint cannot
// see: what a pull request can reach, which concurrency groups can collide,
// which environment a job that changes a stack runs in, where secrets go, how
// actions are pinned; and shellcheck over every run: script.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    assignments,
    Doc,
    environmentOf,
    expand,
    globsIntersect,
    JobInstance,
    jobInstances,
    jobText,
    loadProject,
    pulumiRuns,
    runScripts,
} from "./model";

const root = path.resolve(__dirname, "..", "..");
const PR_EVENTS = ["pull_request", "pull_request_target"];
const SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository";
const FORK = "github.event.pull_request.head.repo.full_name != github.repository";

/** Secrets a job's text names, other than the workflow's own GITHUB_TOKEN. */
function secretNames(text: string): string[] {
    return [
        ...new Set(
            [...text.matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]).filter((n) => n !== "GITHUB_TOKEN"),
        ),
    ];
}

function name(i: JobInstance): string {
    return [...i.via, `${i.workflow.file} job ${i.id}`].join(" -> ");
}

describe("workflow policy (parsed .github/workflows and .github/actions)", () => {
    const { workflows, actions } = loadProject(root);
    const instances = jobInstances(workflows);
    const prJobs = instances.filter((i) => i.triggers.some((t) => PR_EVENTS.includes(t)));
    const changes = instances.flatMap((i) =>
        pulumiRuns(i, actions)
            .filter((r) => r.command === "up" || r.command === "destroy")
            .map((r) => ({ i, r })),
    );

    it("finds the jobs it reasons about (a model that sees nothing proves nothing)", () => {
        assert.ok(prJobs.length >= 3, `pull request jobs: ${prJobs.map(name).join(", ")}`);
        const runs = new Set(changes.flatMap(({ r }) => r.stacks.map((s) => `${r.command} ${s}`)));
        for (const want of ["up staging", "up production", "destroy staging", "destroy production"]) {
            assert.ok(runs.has(want), `no job runs ${want}: ${[...runs].join("; ")}`);
        }
    });

    describe("1. production's credentials never reach a pull request", () => {
        it("a job a pull request starts names no production secret, inherits none, and runs Pulumi only as a preview of a non-production stack", () => {
            const problems: string[] = [];
            for (const i of prJobs) {
                const text = jobText(i, actions);
                if (/secrets\s*\[/.test(text))
                    problems.push(`${name(i)} picks a secret by a computed name (secrets[...])`);
                for (const s of secretNames(text)) if (/PROD/i.test(s)) problems.push(`${name(i)} names secret ${s}`);
                for (const env of environmentOf(i)) {
                    if (!/^[a-z0-9-]+-preview$/.test(env))
                        problems.push(
                            `${name(i)} runs in environment "${env}" (a pull request may only use a *-preview environment)`,
                        );
                }
                for (const r of pulumiRuns(i, actions)) {
                    if (r.command !== "preview") problems.push(`${name(i)} runs pulumi ${r.command}`);
                    if (r.stacks.some((s) => s === "production" || s.includes("*")))
                        problems.push(`${name(i)} previews stack(s) ${r.stacks.join(", ")}`);
                }
            }
            // Callers on the way to a pull request's jobs hand over no secrets.
            const prWorkflows = new Set(
                prJobs.flatMap((i) => [i.workflow.file, ...i.via.map((v) => v.split(" job ")[0])]),
            );
            for (const wf of workflows.filter((w) => prWorkflows.has(w.file))) {
                for (const [id, job] of Object.entries((wf.doc.jobs ?? {}) as Record<string, Doc>)) {
                    if (job.secrets !== undefined)
                        problems.push(
                            `${wf.file} job ${id} passes secrets (${JSON.stringify(job.secrets)}) to ${job.uses}`,
                        );
                }
            }
            assert.deepEqual(problems, []);
        });

        it("every job that uses a credential runs in a GitHub environment, so its secrets are that environment's", () => {
            const problems: string[] = [];
            for (const i of instances) {
                const secrets = secretNames(jobText(i, actions));
                if (secrets.length === 0) continue;
                const envs = environmentOf(i);
                if (envs.length === 0 || envs.some((e) => e === "" || e.includes("*"))) {
                    problems.push(`${name(i)} uses ${secrets.join(", ")} in environment ${JSON.stringify(envs)}`);
                }
            }
            assert.deepEqual(problems, []);
        });
    });

    describe("2. a preview never cancels or delays an up or a destroy", () => {
        it("no concurrency group of a pull request's jobs can equal one of a job that changes a stack", () => {
            const problems: string[] = [];
            for (const { i, r } of changes) {
                const own = i.groups.filter((g) => g.where.includes(" job "));
                if (own.length === 0)
                    problems.push(`${name(i)} (${r.command}) has no job concurrency group: two could run on one stack`);
                for (const g of i.groups)
                    if (g.cancelInProgress)
                        problems.push(`${name(i)} (${r.command}) is in group ${g.pattern} with cancel-in-progress`);
                for (const p of prJobs) {
                    for (const pg of p.groups) {
                        for (const a of pg.pattern.split("|")) {
                            for (const b of i.groups.flatMap((g) => g.pattern.split("|"))) {
                                if (globsIntersect(a, b))
                                    problems.push(`${name(p)} group "${a}" (${pg.where}) can be ${name(i)}'s "${b}"`);
                            }
                        }
                    }
                }
            }
            assert.deepEqual([...new Set(problems)], []);
        });

        it("an up or a destroy is serialised per stack only: no workflow-wide group holds a merge behind production's approval", () => {
            const problems: string[] = [];
            for (const { i, r } of changes) {
                for (const g of i.groups.filter((g) => !g.where.includes(" job "))) {
                    problems.push(
                        `${name(i)} (${r.command}) is in the workflow-wide group ${g.pattern} (${g.where}): every later run waits behind it`,
                    );
                }
            }
            assert.deepEqual([...new Set(problems)], []);
        });

        it("the overlap check itself sees a shared group", () => {
            assert.ok(globsIntersect("pulumi-*", "pulumi-staging"));
            assert.ok(globsIntersect("preview-*-x", "preview-1-*"));
            assert.ok(!globsIntersect("preview-pr-*", "pulumi-staging"));
            assert.deepEqual(expand("pulumi-${{ inputs.stack }}", { "inputs.stack": ["staging", "production"] }), [
                "pulumi-staging",
                "pulumi-production",
            ]);
        });
    });

    describe("3. the approval gate fails closed", () => {
        it("every job that changes a stack runs in the environment named after that stack", () => {
            const problems: string[] = [];
            for (const { i, r } of changes) {
                for (const one of assignments(i.bindings)) {
                    const env = environmentOf({ ...i, bindings: one });
                    const stack = r.actionStep ? expand(String(r.actionStep.with?.stack ?? ""), one) : r.stacks;
                    if (
                        env.length !== 1 ||
                        stack.length !== 1 ||
                        env[0] !== stack[0] ||
                        env[0] === "" ||
                        env[0].includes("*")
                    ) {
                        problems.push(
                            `${name(i)}: ${r.command} of stack ${JSON.stringify(stack)} in environment ${JSON.stringify(env)} (with ${JSON.stringify(one)})`,
                        );
                    }
                }
            }
            assert.deepEqual(problems, []);
        });

        it("and checks it, before anything else runs, against the environment's own ENVIRONMENT_NAME variable", () => {
            const problems: string[] = [];
            for (const { i, r } of changes) {
                if (!r.action || !r.actionStep) {
                    problems.push(
                        `${name(i)}: ${r.command} runs without the guard of the project's pulumi-stack action`,
                    );
                    continue;
                }
                if (r.actionStep.with?.["environment-name"] !== "${{ vars.ENVIRONMENT_NAME }}") {
                    problems.push(
                        `${name(i)} gives environment-name ${JSON.stringify(r.actionStep.with?.["environment-name"])}, not the environment's own variable`,
                    );
                }
                const first = (r.action.doc.runs?.steps ?? [])[0] as Doc | undefined;
                if (
                    !first ||
                    !/scripts\/ci\/require-environment\.sh "\$COMMAND" "\$STACK" "\$ACTUAL"/.test(String(first.run))
                ) {
                    problems.push(`${r.action.file}: the first step is not the environment guard`);
                } else if (
                    first.env?.COMMAND !== "${{ inputs.command }}" ||
                    first.env?.STACK !== "${{ inputs.stack }}" ||
                    first.env?.ACTUAL !== "${{ inputs.environment-name }}"
                ) {
                    problems.push(
                        `${r.action.file}: the guard does not check the action's own command, stack and environment-name (${JSON.stringify(first.env)})`,
                    );
                }
            }
            assert.deepEqual([...new Set(problems)], []);
        });
    });

    describe("4. the shared repository is not deleted while another environment uses it", () => {
        it("a destroy with delete-repository runs scripts/ci/fleet-in-use.sh first", () => {
            const problems: string[] = [];
            for (const { i, r } of changes.filter((c) => c.r.command === "destroy")) {
                const steps = ((r.action ? r.action.doc.runs?.steps : i.job.steps) ?? []) as Doc[];
                const check = steps.findIndex((s) =>
                    /scripts\/ci\/fleet-in-use\.sh "\$STACK"/.test(String(s.run ?? "")),
                );
                const destroy = steps.findIndex((s) => /cli\/stack\.sh destroy/.test(String(s.run ?? "")));
                if (check < 0) {
                    problems.push(`${name(i)}: no fleet-in-use check before destroy`);
                    continue;
                }
                if (destroy >= 0 && check > destroy)
                    problems.push(`${name(i)}: the fleet-in-use check runs after the destroy`);
                const cond = String(steps[check].if ?? "");
                if (!/delete-repository == 'true'/.test(cond) || !/command == 'destroy'/.test(cond))
                    problems.push(`${name(i)}: the check's condition is ${JSON.stringify(cond)}`);
                if (steps[check]["continue-on-error"])
                    problems.push(`${name(i)}: the check may fail without stopping the destroy`);
            }
            assert.deepEqual(problems, []);
        });
    });

    describe("6. pull requests from forks", () => {
        it("skip the jobs that need secrets, and a job summary says why", () => {
            const problems: string[] = [];
            for (const i of prJobs) {
                if (secretNames(jobText(i, actions)).length === 0) continue;
                if (!String(i.job.if ?? "").includes(SAME_REPO))
                    problems.push(`${name(i)} needs secrets but runs for forks too (if: ${JSON.stringify(i.job.if)})`);
            }
            const notice = prJobs.find(
                (i) =>
                    String(i.job.if ?? "").includes(FORK) &&
                    ((i.job.steps ?? []) as Doc[]).some((s) => /GITHUB_STEP_SUMMARY/.test(String(s.run ?? ""))),
            );
            if (!notice) problems.push("no job writes a fork notice to the job summary");
            assert.deepEqual(problems, []);
        });
    });

    describe("7. permissions and secrets no wider than needed", () => {
        it("every workflow starts with permissions: {} and every job grants its own", () => {
            const problems: string[] = [];
            for (const wf of workflows) {
                if (JSON.stringify(wf.doc.permissions) !== "{}")
                    problems.push(`${wf.file}: top-level permissions ${JSON.stringify(wf.doc.permissions)}`);
                for (const [id, job] of Object.entries((wf.doc.jobs ?? {}) as Record<string, Doc>)) {
                    const p = job.permissions;
                    if (p === undefined || typeof p !== "object" || p === null)
                        problems.push(`${wf.file} job ${id}: permissions ${JSON.stringify(p)}`);
                    else
                        for (const [k, v] of Object.entries(p))
                            if (!["read", "write", "none"].includes(String(v)))
                                problems.push(`${wf.file} job ${id}: ${k}: ${v}`);
                }
            }
            assert.deepEqual(problems, []);
        });

        it("only jobs that comment or use OIDC get write or id-token grants", () => {
            const problems: string[] = [];
            for (const i of instances) {
                const p = (i.job.permissions ?? {}) as Doc;
                const text = jobText(i, actions);
                if (p["pull-requests"] === "write" && !/comment-on-pr|GH_TOKEN/.test(text))
                    problems.push(`${name(i)}: pull-requests: write without commenting`);
                if (p["id-token"] === "write" && !/auth-actions|configure-aws-credentials/.test(text))
                    problems.push(`${name(i)}: id-token: write without OIDC`);
                if (p.contents === "write") problems.push(`${name(i)}: contents: write`);
            }
            assert.deepEqual(problems, []);
        });

        it("no secret is in a workflow's or a job's env; a local action hands each secret input only to the steps that use it", () => {
            const problems: string[] = [];
            for (const wf of workflows) {
                if (/secrets\./.test(JSON.stringify(wf.doc.env ?? {})))
                    problems.push(`${wf.file}: secrets in the workflow env`);
                for (const [id, job] of Object.entries((wf.doc.jobs ?? {}) as Record<string, Doc>)) {
                    if (/secrets\./.test(JSON.stringify(job.env ?? {})))
                        problems.push(`${wf.file} job ${id}: secrets in the job env`);
                    for (const s of (job.steps ?? []) as Doc[]) {
                        const local = typeof s.uses === "string" && s.uses.startsWith("./");
                        if (!local && /secrets\./.test(JSON.stringify(s.with ?? {})))
                            problems.push(`${wf.file} job ${id}: a secret goes to ${s.uses} as an input`);
                    }
                }
            }
            // Inputs that callers fill from secrets are secret inputs of the action.
            for (const a of actions) {
                const secretInputs = new Set<string>();
                for (const wf of workflows) {
                    for (const job of Object.values((wf.doc.jobs ?? {}) as Record<string, Doc>)) {
                        for (const s of (job.steps ?? []) as Doc[]) {
                            if (s.uses !== a.dir) continue;
                            for (const [k, v] of Object.entries((s.with ?? {}) as Doc))
                                if (/secrets\./.test(String(v))) secretInputs.add(k);
                        }
                    }
                }
                assert.ok(
                    secretInputs.size > 0 || !/secrets\./.test(workflows.map((w) => w.text).join("\n")),
                    `${a.file}: no caller passes it a secret?`,
                );
                for (const s of (a.doc.runs?.steps ?? []) as Doc[]) {
                    const rest = { ...s, env: undefined };
                    for (const k of secretInputs) {
                        if (JSON.stringify(rest).includes(`inputs.${k}`))
                            problems.push(
                                `${a.file} step ${s.name ?? s.uses}: secret input ${k} outside the step's env`,
                            );
                    }
                    if (
                        /npm (ci|install)/.test(String(s.run ?? "")) &&
                        [...secretInputs].some((k) => JSON.stringify(s.env ?? {}).includes(`inputs.${k}`))
                    ) {
                        problems.push(`${a.file}: npm runs with a secret`);
                    }
                }
            }
            assert.deepEqual(problems, []);
        });

        it("checkouts leave no token in .git/config for later steps", () => {
            const problems: string[] = [];
            for (const wf of workflows) {
                for (const [id, job] of Object.entries((wf.doc.jobs ?? {}) as Record<string, Doc>)) {
                    for (const s of (job.steps ?? []) as Doc[]) {
                        if (
                            String(s.uses ?? "").startsWith("actions/checkout@") &&
                            s.with?.["persist-credentials"] !== false
                        )
                            problems.push(`${wf.file} job ${id}`);
                    }
                }
            }
            assert.deepEqual(problems, []);
        });
    });

    describe("8. actions pinned by commit, on a current runtime", () => {
        // The first release of each action that runs on Node 24 (each repository's
        // action.yml at that tag); Node 20 is retired from GitHub's runners.
        const node24: Record<string, string> = {
            "actions/checkout": "5.0.0",
            "actions/setup-node": "5.0.0",
            "actions/setup-go": "6.2.0",
            "actions/cache": "5.0.0",
            "pulumi/actions": "7.0.0",
            "pulumi/auth-actions": "2.0.0",
            "aws-actions/configure-aws-credentials": "6.0.0",
        };
        const newer = (a: string, b: string) => {
            const x = a.split(".").map(Number);
            const y = b.split(".").map(Number);
            for (let k = 0; k < 3; k++) if ((x[k] ?? 0) !== (y[k] ?? 0)) return (x[k] ?? 0) > (y[k] ?? 0);
            return true;
        };

        it("every uses: is owner/repo@<40-hex commit> # vX.Y.Z, at or after the action's first Node 24 release", () => {
            const problems: string[] = [];
            let seen = 0;
            for (const f of [...workflows, ...actions]) {
                f.text.split("\n").forEach((line, n) => {
                    const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
                    if (!m || m[1].startsWith("./") || m[1].startsWith("docker://")) return;
                    seen++;
                    const at = `${f.file}:${n + 1}`;
                    const ref = /^([\w.-]+\/[\w.-]+)(?:\/[\w./-]+)?@([0-9a-f]{40})$/.exec(m[1]);
                    const version = /^\s*#\s*v(\d+\.\d+\.\d+)\s*$/.exec(m[2]);
                    if (!ref) problems.push(`${at}: ${m[1]} is not pinned by a full commit SHA`);
                    if (!version) problems.push(`${at}: ${m[1]} has no "# vX.Y.Z" comment`);
                    if (ref && version) {
                        const first = node24[ref[1]];
                        if (!first)
                            problems.push(
                                `${at}: ${ref[1]} is not in this test's table of Node 24 releases (add it after checking its action.yml)`,
                            );
                        else if (!newer(version[1], first))
                            problems.push(`${at}: ${ref[1]} v${version[1]} predates its Node 24 release v${first}`);
                    }
                });
            }
            assert.ok(seen >= 5, `found only ${seen} uses: lines`);
            assert.deepEqual(problems, []);
        });
    });

    describe("9. setup the workflows do not assume", () => {
        it("the first up creates its stack, and a preview of a stack that does not exist yet says so", () => {
            const problems: string[] = [];
            for (const { i, r } of changes.filter((c) => c.r.command === "up")) {
                const steps = ((r.action ? r.action.doc.runs?.steps : i.job.steps) ?? []) as Doc[];
                const up = steps.find(
                    (s) => String(s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command === "up",
                );
                if (!up || up.with?.upsert !== true)
                    problems.push(`${name(i)}: pulumi/actions up without upsert: true`);
            }
            for (const i of prJobs) {
                for (const r of pulumiRuns(i, actions).filter((x) => x.command === "preview" && x.action)) {
                    const steps = (r.action!.doc.runs?.steps ?? []) as Doc[];
                    const preview = steps.find(
                        (s) => String(s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command === "preview",
                    );
                    const exists = steps.find((s) => s.id === "stack");
                    if (!preview || !/steps\.stack\.outputs\.exists == 'true'/.test(String(preview.if)))
                        problems.push(`${name(i)}: the preview does not wait for the stack check`);
                    if (!exists || !/GITHUB_STEP_SUMMARY/.test(String(exists.run)))
                        problems.push(`${name(i)}: a missing stack is not reported in the summary`);
                }
            }
            assert.deepEqual(problems, []);
        });

        it("every up and destroy first finishes an interrupted run of its stack, and cancels its lock only inside a per-stack group that never cancels a run", () => {
            const problems: string[] = [];
            for (const { i, r } of changes) {
                const steps = ((r.action ? r.action.doc.runs?.steps : i.job.steps) ?? []) as Doc[];
                const at = steps.findIndex((s) => /cli\/stack\.sh recover "\$STACK"/.test(String(s.run ?? "")));
                const recoverStep = steps[at];
                const runs = (s: Doc) =>
                    String(s.uses ?? "").startsWith("pulumi/actions@")
                        ? s.with?.command === r.command
                        : new RegExp(`stack\\.sh ${r.command} `).test(String(s.run ?? ""));
                const cmd = steps.findIndex(runs);
                if (!recoverStep) {
                    problems.push(`${name(i)}: ${r.command} without cli/stack.sh recover before it`);
                    continue;
                }
                if (cmd >= 0 && at > cmd) problems.push(`${name(i)}: recover runs after ${r.command}`);
                if (!String(recoverStep.if ?? "").includes(`inputs.command == '${r.command}'`))
                    problems.push(`${name(i)}: recover does not run for ${r.command}`);
                if (/--cancel-lock/.test(String(recoverStep.run))) {
                    const own = i.groups.filter(
                        (g) => r.stacks.every((st) => g.pattern.includes(st)) && !g.cancelInProgress,
                    );
                    if (own.length === 0)
                        problems.push(
                            `${name(i)}: --cancel-lock outside a per-stack concurrency group that never cancels in progress`,
                        );
                }
            }
            assert.ok(changes.length > 0);
            assert.deepEqual(problems, []);
        });

        it("the kubeconfig step checks the stack's kubeContext against the secret", () => {
            const steps = actions.flatMap((a) => (a.doc.runs?.steps ?? []) as Doc[]);
            const kube = steps.find((s) => /scripts\/ci\/kubeconfig\.sh "\$STACK"/.test(String(s.run ?? "")));
            assert.ok(kube, "no step runs scripts/ci/kubeconfig.sh");
            assert.equal(kube.env?.KUBECONFIG_DATA, "${{ inputs.kubeconfig }}");
        });
    });
});

describe("shellcheck over every run: script of the workflows and local actions", function () {
    this.timeout(120_000);
    let tmp: string;
    before(() => {
        const v = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
        assert.equal(
            v.status,
            0,
            "shellcheck is not installed: bash scripts/install-system-deps.sh (Debian package shellcheck)",
        );
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "run-shellcheck-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** shellcheck of one script as GitHub runs it (bash -e unless the step says sh). */
    function check(script: string, shell?: string): { status: number; out: string } {
        const file = path.join(tmp, `run-${Math.random().toString(36).slice(2)}.sh`);
        const sh = shell === "sh" ? "sh" : "bash";
        fs.writeFileSync(file, `#!/usr/bin/env ${sh}\nset -e\n${script}`);
        const r = spawnSync("shellcheck", ["-s", sh, "-x", "-P", root, "-f", "gcc", file], {
            cwd: root,
            encoding: "utf8",
        });
        return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    }

    const { workflows, actions } = loadProject(root);
    const scripts = runScripts(workflows, actions);

    it("finds the run: scripts", () => assert.ok(scripts.length >= 8, `${scripts.length}`));

    it("no run: script interpolates ${{ }} (values go through env, so they cannot inject shell)", () => {
        assert.deepEqual(
            scripts.filter((s) => s.script.includes("${{")).map((s) => s.where),
            [],
        );
    });

    it("every run: script passes shellcheck", () => {
        const problems = scripts.map((s) => ({ s, r: check(s.script, s.shell) })).filter(({ r }) => r.status !== 0);
        assert.deepEqual(
            problems.map(({ s, r }) => `${s.where}\n${r.out}`),
            [],
        );
    });

    it("the CI scripts the workflows call pass shellcheck", () => {
        const dir = path.join(root, "scripts", "ci");
        const files = fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".sh"))
            .map((f) => path.join(dir, f));
        assert.ok(files.length >= 3);
        const r = spawnSync("shellcheck", ["-x", "-P", root, "-f", "gcc", ...files], { cwd: root, encoding: "utf8" });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });

    it("and shellcheck does fail a run: script with an unquoted, word-splitting variable", () => {
        const r = check('cd $DIR\nfor f in $(ls); do echo "$f"; done');
        assert.notEqual(r.status, 0);
        assert.match(r.out, /SC2086/);
        assert.match(r.out, /SC2045/);
    });
});
