// The workflows in .github/workflows pass actionlint, and actionlint really
// rejects broken ones (so a broken workflow fails CI here).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const lint = path.join(root, "scripts", "lint-workflows.sh");

function run(cmd: string, args: string[], cwd = root): { status: number; out: string } {
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 600_000 });
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe("workflow lint (actionlint)", function () {
    this.timeout(600_000);
    let tmp: string;

    before(() => {
        // Builds the pinned actionlint on first use (about half a minute).
        const built = run("bash", [path.join(root, "scripts", "tools.sh"), "actionlint"]);
        assert.equal(built.status, 0, built.out);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("passes on the project's workflows", () => {
        const r = run("bash", [lint]);
        assert.equal(r.status, 0, r.out);
    });

    it("fails on a workflow with an unknown job, a bad expression and an unversioned action", () => {
        const file = path.join(tmp, "broken.yml");
        fs.writeFileSync(
            file,
            [
                "name: broken",
                "on: push",
                "jobs:",
                "  build:",
                "    needs: [setup]", // no such job
                "    runs-on: ubuntu-latest",
                "    steps:",
                "      - run: echo ${{ github.evnt.name }}", // typo in a context property
                "      - uses: actions/checkout", // no version
                "",
            ].join("\n"),
        );
        const r = run("bash", [lint, file]);
        assert.notEqual(r.status, 0, `actionlint accepted a broken workflow:\n${r.out}`);
        assert.match(r.out, /job "build" needs job "setup" which does not exist/);
        assert.match(r.out, /property "evnt" is not defined/);
        assert.match(r.out, /specifying action "actions\/checkout" in invalid format/);
    });

    it("fails when a copy of our preview workflow gives the project's pulumi-stack action a misspelled input", () => {
        const project = path.join(tmp, "project");
        // actionlint resolves ./.github/... actions and workflows from the repository root.
        assert.equal(run("git", ["init", "-q", project]).status, 0);
        fs.cpSync(path.join(root, ".github"), path.join(project, ".github"), { recursive: true });
        const preview = path.join(project, ".github", "workflows", "preview.yml");
        const text = fs.readFileSync(preview, "utf8");
        assert.ok(text.includes("command: preview"));
        fs.writeFileSync(preview, text.replace("command: preview", "comand: preview"));
        const r = run(path.join(root, ".tools", "bin", "actionlint"), ["-shellcheck=", "-pyflakes="], project);
        assert.notEqual(r.status, 0, r.out);
        assert.match(
            r.out,
            /input "comand" is not defined in action "pulumi-stack" defined at "\.\/\.github\/actions\/pulumi-stack"/,
        );
        assert.match(r.out, /missing input "command" which is required by action "pulumi-stack"/);
    });
});
