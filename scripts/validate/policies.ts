// Kyverno's own engine on the policies: every policy folder must carry a
// kyverno/policies-style test (.kyverno-test/kyverno-test.yaml), and
// `kyverno test` must pass on it. A folder whose files are byte for byte those
// of a folder already tested (the static tree's, rendered into each stack's
// tree) gets that run's result: the same input to the same engine.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { run, RunResult, tail, tool } from "./exec";
import { Report } from "./report";
import { Tree, describe, policyDirs, readObjects, yamlFiles } from "./trees";

export function kyvernoTests(tree: Tree, report: Report): void {
    const check = `kyverno test (${tree.label})`;
    // Both forms of the fleet's policies: kyverno.io ClusterPolicies and their policies.kyverno.io (CEL) twins.
    const dirs = [...policyDirs(tree.root), ...policyDirs(tree.root, "policies.kyverno.io/")];
    if (dirs.length === 0) {
        report.fail({ check, file: "infrastructure/", message: "no Kyverno policy found under infrastructure/" });
        return;
    }
    for (const dir of dirs) {
        const testFile = path.join(dir, ".kyverno-test", "kyverno-test.yaml");
        if (!fs.existsSync(path.join(tree.root, testFile))) {
            report.fail({ check, file: testFile, message: `the policy in ${dir} has no test beside it` });
            continue;
        }
        const r = testRun(tree.root, dir);
        const out = `${r.stdout}\n${r.stderr}`;
        // kyverno test exits 0 when it finds no test at all; the summary line proves it ran ours.
        const summary = /Test Summary: (\d+) tests? passed and (\d+) tests? failed/.exec(out);
        if (r.code !== 0 || !summary || summary[2] !== "0" || summary[1] === "0") {
            // The failing rows name policy, rule and resource; the CLI shows each diff with one more flag.
            const rows = out.split("\n").filter((l) => /│\s*Fail\s*│/.test(l) || /^Error|Test Summary/.test(l));
            const hint = `details: .tools/bin/kyverno test ${dir} --detailed-results`;
            report.fail({
                check,
                file: testFile,
                object: `(${policiesIn(tree.root, dir)})`,
                message: [...(rows.length ? rows : [tail(out, 30)]), hint].join("\n"),
            });
            continue;
        }
        report.pass(check, `${dir} (${summary[1]} results passed)`);
    }
}

const runs = new Map<string, RunResult>();

/** `kyverno test DIR`, once per distinct content of DIR. */
function testRun(root: string, dir: string): RunResult {
    const hash = createHash("sha256").update(`${dir}\0`);
    const abs = path.join(root, dir);
    const files = fs.readdirSync(abs, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const f of files.map((e) => path.join(e.parentPath, e.name)).sort())
        hash.update(`${path.relative(abs, f)}\0`)
            .update(fs.readFileSync(f))
            .update("\0");
    const key = hash.digest("hex");
    const cached = runs.get(key);
    if (cached) return cached;
    const r = run(tool("kyverno"), ["test", dir, "--remove-color"], { cwd: root });
    runs.set(key, r);
    return r;
}

/** "ClusterPolicy a, ..." for the policy files of dir: the culprit when its test fails. */
function policiesIn(root: string, dir: string): string {
    return yamlFiles(path.join(root, dir))
        .flatMap((f) => readObjects(path.join(root, dir, f)).map((o) => `${dir}/${f}: ${describe(o)}`))
        .join(", ");
}
