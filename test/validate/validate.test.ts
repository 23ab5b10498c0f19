// npm run validate must fail, naming the culprit, when the fleet tree breaks
// the way a pull request could break it. Each case copies fleet/ to a temp
// dir, applies one break and runs scripts/validate.sh on the copy; a clean
// copy must pass, so the failures are caused by the breaks.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");

interface Result {
    code: number;
    out: string;
}

/** At most this many validate runs at once: each runs its tools one after another, so two fill two cores. */
const PARALLEL_RUNS = 2;
let running = 0;
const waiting: (() => void)[] = [];

/** scripts/validate.sh with args, once a slot of PARALLEL_RUNS is free. */
async function validate(args: string[]): Promise<Result> {
    if (running < PARALLEL_RUNS) running++;
    else await new Promise<void>((r) => waiting.push(r)); // the slot is handed over by a run that ends
    try {
        return await validateNow(args);
    } finally {
        const next = waiting.shift();
        if (next) next();
        else running--;
    }
}

function validateNow(args: string[]): Promise<Result> {
    return new Promise((resolve, reject) => {
        const p = spawn("bash", [path.join(repoRoot, "scripts", "validate.sh"), ...args], {
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        p.stdout.on("data", (d: Buffer) => (out += d.toString()));
        p.stderr.on("data", (d: Buffer) => (out += d.toString()));
        p.on("error", reject);
        p.on("close", (code) => resolve({ code: code ?? 1, out }));
    });
}

/** Applies edit to the file at rel under dir, asserting that it changes something. */
function applyBreak(dir: string, rel: string, edit: (text: string) => string): void {
    const file = path.join(dir, rel);
    const before = fs.readFileSync(file, "utf8");
    const after = edit(before);
    assert.notEqual(after, before, `the break did not change ${rel}`);
    fs.writeFileSync(file, after);
}

/** A fresh copy of fleet/ with edit applied to the file at rel. */
function brokenFleet(rel?: string, edit?: (text: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-break-"));
    fs.cpSync(path.join(repoRoot, "fleet"), dir, { recursive: true });
    if (rel && edit) applyBreak(dir, rel, edit);
    return dir;
}

/** A copy of the Pulumi program (index.ts, components/, stacks/, fleet/) with edit applied to the file at rel. */
function brokenProgram(rel: string, edit: (text: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "program-break-"));
    for (const entry of ["index.ts", "package.json", "tsconfig.json", "boot", "components", "stacks", "fleet"]) {
        fs.cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
    applyBreak(dir, rel, edit);
    return dir;
}

/** The N of validate's closing "validate: N passed, M failed" line (-1 when missing). */
function passedChecks(out: string): number {
    const m = /^validate: (\d+) passed, \d+ failed$/m.exec(out);
    return m ? Number(m[1]) : -1;
}

/** The FAIL lines validate printed: the closing summary names each failed check. */
function failedChecks(out: string): string {
    return out.split("failed checks:")[1] ?? "";
}

describe("npm run validate", function () {
    // Each run starts a kube-apiserver and runs every tool over three trees.
    this.timeout(10 * 60 * 1000);
    const temps: string[] = [];
    after(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const tmp = (d: string): string => (temps.push(d), d);
    // Every case's run starts before the first check: the pool runs PARALLEL_RUNS at a time.
    const cases: {
        title: string;
        start: () => Promise<Result>;
        check: (r: Result) => void;
        result?: Promise<Result>;
    }[] = [];
    const validateCase = (title: string, start: () => Promise<Result>, check: (r: Result) => void) =>
        cases.push({ title, start, check });
    before(() => {
        for (const c of cases) {
            c.result = c.start();
            c.result.catch(() => undefined); // reported by its own test
        }
    });

    validateCase(
        "passes on an unchanged copy of the fleet tree, having run every kind of check on every tree",
        async () => {
            return validate(["--fleet", tmp(brokenFleet())]);
        },
        (r) => {
            assert.equal(r.code, 0, r.out);
            assert.ok(passedChecks(r.out) > 0, `validate ran no check:\n${r.out}`);
            assert.match(r.out, /^validate: [1-9]\d* passed, 0 failed$/m);
            for (const tree of ["static", "stack staging", "stack production"]) {
                for (const check of ["kustomize build", "kyverno test", "kyverno apply"]) {
                    assert.match(
                        r.out,
                        new RegExp(`^ok   ${check} \\(${tree}\\): `, "m"),
                        `no passing ${check} of the ${tree} tree`,
                    );
                }
            }
            for (const tree of ["stack staging", "stack production"])
                assert.match(r.out, new RegExp(`^ok   flux build \\(${tree}\\): `, "m"));
            assert.match(r.out, /^ok {3}schema \(strict, server-side\): Deployment podinfo\/podinfo from /m);
            // The program's own custom resource meets the Flux Operator's real CRD.
            assert.match(
                r.out,
                /ok {3}schema \(strict, server-side\): FluxInstance flux-system\/flux from stack staging: the Pulumi program/,
            );
            // The API server's backstop refuses podinfo as Git holds it and admits it as Kyverno mutated it.
            for (const tree of ["static", "stack staging", "stack production"]) {
                assert.match(
                    r.out,
                    new RegExp(
                        `^ok   admission backstop \\(${tree}\\): Deployment podinfo/podinfo from .* \\(not mutated\\): refused by ValidatingAdmissionPolicy require-kyverno-mutation: .*not pinned by digest`,
                        "m",
                    ),
                );
                assert.match(
                    r.out,
                    new RegExp(
                        `^ok   admission backstop \\(${tree}\\): Deployment podinfo/podinfo from .*, as admitted by Kyverno: admitted`,
                        "m",
                    ),
                );
            }
        },
    );

    validateCase(
        "fails when the tree has no admission backstop, so an unmutated Deployment could run",
        async () => {
            const configs = "infrastructure/configs/kustomization.yaml";
            const fleet = tmp(
                brokenFleet(configs, (t) => t.replace(/^ *- admission\/require-kyverno-mutation-binding\.yaml\n/m, "")),
            );
            return validate(["--env", "staging", "--fleet", fleet]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            assert.match(failedChecks(r.out), /admission backstop \(stack staging\)/);
            assert.match(r.out, /no ValidatingAdmissionPolicy with a ValidatingAdmissionPolicyBinding in the tree/);
        },
    );

    validateCase(
        "fails naming the Deployment when the backstop no longer checks image digests",
        async () => {
            const vap = "infrastructure/configs/admission/require-kyverno-mutation.yaml";
            const fleet = tmp(
                brokenFleet(vap, (t) =>
                    t
                        .replace(`c.image.contains('@sha256:'))"`, `true)"`)
                        .replace(/has\(variables\.pod\.securityContext\) &&/, "true ||"),
                ),
            );
            return validate(["--env", "staging", "--fleet", fleet]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            assert.match(failedChecks(r.out), /admission backstop \(stack staging\): .* Deployment podinfo\/podinfo/);
            assert.match(r.out, /admitted as Git holds it \(no digest, no securityContext\)/);
        },
    );

    let noWorkloadFleet = "";
    validateCase(
        "fails naming the tree when its builds yield no workload for the policies to admit",
        async () => {
            // podinfo's Deployment gone from the base: the policies would be applied to nothing.
            const base = "apps/base/podinfo/kustomization.yaml";
            const fleet = tmp(brokenFleet(base, (t) => t.replace(/^ *- deployment\.yaml\n/m, "")));
            noWorkloadFleet = fleet;
            fs.rmSync(path.join(fleet, "apps/base/podinfo/deployment.yaml"));
            return validate(["--env", "staging", "--fleet", fleet]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            assert.match(
                failedChecks(r.out),
                new RegExp(`kyverno apply \\(static\\): ${noWorkloadFleet.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`),
            );
            assert.match(r.out, /no workload \(Deployment, .*\) came out of this tree's builds/);
        },
    );

    validateCase(
        "fails naming the FluxInstance and the field when the program misspells a FluxInstance field",
        async () => {
            // The Flux Operator would reject this object at `pulumi up`; nothing else in the tests applies it to its CRD.
            const program = tmp(
                brokenProgram("components/flux.ts", (t) => t.replace("networkPolicy: true", "netwrkPolicy: true")),
            );
            return validate(["--env", "staging", "--program", program]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            assert.match(
                failedChecks(r.out),
                /schema \(strict, server-side\): stack staging: the Pulumi program \(.*index\.ts\) FluxInstance flux-system\/flux/,
            );
            assert.match(
                r.out,
                /\.spec\.cluster\.netwrkPolicy: field not declared in schema|unknown field "spec\.cluster\.netwrkPolicy"/,
            );
        },
    );

    validateCase(
        "fails naming the Kustomization and the field when a clusters/<env> Kustomization has an unknown field",
        async () => {
            // The committed tree of the staging stack, as the fleet repo holds it, with a typo in apps.yaml.
            const tree = tmp(fs.mkdtempSync(path.join(os.tmpdir(), "fleet-tree-")));
            const render = await new Promise<number>((resolve) => {
                const p = spawn(path.join(repoRoot, "node_modules", ".bin", "ts-node"), [
                    "--transpile-only",
                    path.join(repoRoot, "scripts", "render-fleet.ts"),
                    "--env",
                    "staging",
                    "--out",
                    tree,
                ]);
                p.on("close", (c) => resolve(c ?? 1));
            });
            assert.equal(render, 0);
            const apps = path.join(tree, "clusters", "staging", "apps.yaml");
            fs.writeFileSync(
                apps,
                fs.readFileSync(apps, "utf8").replace("  prune: true", "  prune: true\n  prunne: true"),
            );
            return validate(["--env", "staging", "--tree", tree]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            const failed = failedChecks(r.out);
            assert.match(failed, /clusters\/staging\/apps\.yaml Kustomization flux-system\/apps/);
            assert.match(r.out, /unknown field "spec\.prunne"|field not declared in schema/);
        },
    );

    validateCase(
        "fails naming the overlay and the field when a kustomization.yaml has an unknown field",
        async () => {
            // Flux's own build drops unknown kustomization.yaml fields silently; kustomize does not.
            const overlay = "apps/production/kustomization.yaml";
            const fleet = tmp(brokenFleet(overlay, (t) => t.replace("patches:", "patchez:")));
            return validate(["--env", "production", "--fleet", fleet]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            assert.match(
                failedChecks(r.out),
                /kustomize build \(stack production\): apps\/production\/kustomization\.yaml/,
            );
            assert.match(r.out, /unknown field "patchez"/);
        },
    );

    validateCase(
        "fails naming the policy's test when the securityContext policy no longer drops ALL capabilities",
        async () => {
            const policy =
                "infrastructure/configs/policies/add-restricted-security-context/add-restricted-security-context.yaml";
            const fleet = tmp(brokenFleet(policy, (t) => t.replace(/drop:\n(\s+)- ALL/, "drop:\n$1- NET_RAW")));
            return validate(["--env", "staging", "--fleet", fleet]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            assert.match(
                failedChecks(r.out),
                /kyverno test \(static\): infrastructure\/configs\/policies\/add-restricted-security-context\/\.kyverno-test\/kyverno-test\.yaml/,
            );
            assert.match(
                failedChecks(r.out),
                /add-restricted-security-context\.yaml: ClusterPolicy add-restricted-security-context/,
            );
            assert.match(r.out, /add-container-security-context .*Fail/);
            // The real podinfo as admitted no longer meets the restricted standard either.
            assert.match(
                failedChecks(r.out),
                /PodSecurity restricted \(admitted\): stack staging: flux build clusters\/staging\/apps\.yaml, as admitted by Kyverno Deployment podinfo\/podinfo/,
            );
            assert.match(r.out, /must set securityContext\.capabilities\.drop=\["ALL"\]/);
        },
    );

    validateCase(
        "fails naming the Deployment when an app keeps a field that breaks the restricted standard",
        async () => {
            // The policy leaves fields an app sets alone; PodSecurity on the admitted object still catches this one.
            const deployment = "apps/base/podinfo/deployment.yaml";
            const fleet = tmp(
                brokenFleet(deployment, (t) =>
                    t.replace(
                        "          imagePullPolicy: IfNotPresent\n",
                        "          imagePullPolicy: IfNotPresent\n          securityContext:\n            allowPrivilegeEscalation: true\n",
                    ),
                ),
            );
            return validate(["--env", "staging", "--fleet", fleet]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            assert.match(
                failedChecks(r.out),
                /PodSecurity restricted \(admitted\): stack staging: flux build clusters\/staging\/apps\.yaml, as admitted by Kyverno Deployment podinfo\/podinfo/,
            );
            assert.match(r.out, /defined in apps\/base\/podinfo\/deployment\.yaml/);
            assert.match(r.out, /allowPrivilegeEscalation != false/);
        },
    );

    validateCase(
        "fails naming the overlay when it points at a missing file",
        async () => {
            const overlay = "apps/staging/kustomization.yaml";
            const fleet = tmp(
                brokenFleet(overlay, (t) => t.replace("resources:\n", "resources:\n  - podinfo-hpa.yaml\n")),
            );
            return validate(["--env", "staging", "--fleet", fleet]);
        },
        (r) => {
            assert.equal(r.code, 1, r.out);
            const failed = failedChecks(r.out);
            assert.match(failed, /kustomize build \(static\): apps\/staging\/kustomization\.yaml/);
            assert.match(
                failed,
                /flux build \(stack staging\): clusters\/staging\/apps\.yaml Kustomization flux-system\/apps/,
            );
            assert.match(r.out, /podinfo-hpa\.yaml/);
        },
    );

    for (const c of cases) it(c.title, async () => c.check(await c.result!));
});
