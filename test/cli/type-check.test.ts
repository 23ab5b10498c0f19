// The real Pulumi CLI runs the program transpile-only (Pulumi.yaml's tsconfig
// option), and the program's first import type-checks it: a program that does
// not type-check stops before it registers anything, and an unchanged program
// finds its clean check remembered instead of paying for it again.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PulumiWorkspace, repoRoot } from "../../harness/pulumi-cli";

describe("the program's type check under the real engine", function () {
    this.timeout(600000);
    let ws: PulumiWorkspace;

    before(async function () {
        assert.ok(
            fs.existsSync(path.join(repoRoot, ".tools", "bin", "pulumi")),
            "the Pulumi CLI is not built: run npm run tools",
        );
        ws = new PulumiWorkspace();
        ws.env.GITOPS_KYVERNO_TYPE_CHECK_REPORT = "1";
        await ws.initStack("staging");
    });
    after(() => ws?.remove());

    const flux = () => path.join(ws.projectDir, "components", "flux.ts");

    it("stops a program with a type error before it registers anything, on preview and on up", async () => {
        const original = fs.readFileSync(flux(), "utf8");
        const lines = original.split("\n").length;
        fs.writeFileSync(flux(), `${original}\nexport const replicas: number = "three";\n`);
        try {
            for (const args of [
                ["preview", "--stack", "staging"],
                ["up", "--yes", "--skip-preview", "--stack", "staging"],
            ]) {
                const r = await ws.run(args, { allowFailure: true });
                const out = r.stdout + r.stderr;
                assert.notStrictEqual(r.code, 0, out);
                assert.match(out, /The program does not type-check; nothing was created or changed/);
                assert.match(
                    out,
                    new RegExp(
                        `components/flux\\.ts\\(${lines + 1},14\\): Type 'string' is not assignable to type 'number'`,
                    ),
                );
                // It stopped before the settings were even read.
                assert.doesNotMatch(out, /The stack's settings have/);
            }
            const state = JSON.parse((await ws.run(["stack", "export", "--stack", "staging"])).stdout) as {
                deployment?: { resources?: { type: string }[] };
            };
            assert.deepStrictEqual(
                (state.deployment?.resources ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack"),
                [],
            );
        } finally {
            fs.writeFileSync(flux(), original);
        }
    });

    it("runs transpile-only and remembers a clean check while nothing changes", async () => {
        // No settings: the program gets past its type check and stops at the settings.
        const first = await ws.run(["preview", "--stack", "staging"], { allowFailure: true });
        assert.match(first.stdout + first.stderr, /\[type-check\] (checked|cached)/);
        assert.match(first.stdout + first.stderr, /The stack's settings have/);
        const second = await ws.run(["preview", "--stack", "staging"], { allowFailure: true });
        assert.match(second.stdout + second.stderr, /\[type-check\] cached/, second.stdout + second.stderr);
    });
});
