// Kyverno's own engine on the policies: every policy folder must carry a
// kyverno/policies-style test (.kyverno-test/kyverno-test.yaml), and
// `kyverno test` must pass on it.
import * as fs from "node:fs";
import * as path from "node:path";
import { run, tail, tool } from "./exec";
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
        const r = run(tool("kyverno"), ["test", dir, "--remove-color"], { cwd: tree.root });
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

/** "ClusterPolicy a, ..." for the policy files of dir: the culprit when its test fails. */
function policiesIn(root: string, dir: string): string {
    return yamlFiles(path.join(root, dir))
        .flatMap((f) => readObjects(path.join(root, dir, f)).map((o) => `${dir}/${f}: ${describe(o)}`))
        .join(", ");
}
