// The pull request's comment as the preview workflow's jobs build it:
// scripts/ci/flux-diff.sh (the flux-diff-staging job) and
// scripts/pr-comment/comment.sh (the fleet-diff job, which joins the Flux
// sections to the fleet tree's git diff), run as the runner runs them.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../../local-cluster/util";

const root = path.resolve(__dirname, "..", "..");
const PATH = [path.join(root, ".tools", "bin"), path.join(root, "node_modules", ".bin"), process.env.PATH].join(
    path.delimiter,
);

function bash(script: string, args: string[], env: Record<string, string>, cwd = root) {
    const r = spawnSync("bash", [path.join(root, "scripts", script), ...args], {
        cwd,
        encoding: "utf8",
        timeout: 300_000,
        env: { ...process.env, PATH, GITHUB_STEP_SUMMARY: "", PR: "", REPO: "", ...env },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("the preview workflow's Flux diff, as its jobs run it", function () {
    this.timeout(300_000);
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flux-diff-ci-"))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    describe("scripts/ci/flux-diff.sh", () => {
        it("without the environment's KUBECONFIG secret: no section, a notice, exit 0", () => {
            const output = path.join(tmp, "output-none");
            fs.writeFileSync(output, "");
            const r = bash("ci/flux-diff.sh", ["staging", path.join(tmp, "no-tree")], {
                KUBECONFIG_DATA: "",
                GITHUB_OUTPUT: output,
            });
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /::notice::no KUBECONFIG secret/);
            assert.equal(fs.readFileSync(output, "utf8"), "");
        });

        it("with a kubeconfig whose cluster is unreachable: the section reports the error and goes to the step output; exit 0", async () => {
            const tree = path.join(tmp, "tree");
            const render = spawnSync(
                path.join(root, "node_modules", ".bin", "ts-node"),
                ["scripts/render-fleet.ts", "--env", "staging", "--out", tree],
                {
                    cwd: root,
                    encoding: "utf8",
                    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
                },
            );
            assert.equal(render.status, 0, render.stderr);
            const port = await freePort();
            // Pulumi.staging.yaml names kubeContext kind-staging.
            const kubeconfig = [
                "apiVersion: v1",
                "kind: Config",
                `clusters: [{name: c, cluster: {server: 'https://127.0.0.1:${port}'}}]`,
                "users: [{name: u, user: {token: not-a-real-token}}]",
                "contexts: [{name: kind-staging, context: {cluster: c, user: u}}]",
                "current-context: kind-staging",
                "",
            ].join("\n");
            const output = path.join(tmp, "output-unreachable");
            fs.writeFileSync(output, "");
            const r = bash("ci/flux-diff.sh", ["staging", tree], {
                KUBECONFIG_DATA: kubeconfig,
                GITHUB_OUTPUT: output,
                TS_NODE_TRANSPILE_ONLY: "true",
            });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            const out = fs.readFileSync(output, "utf8");
            const m = /^section<<(flux-diff-[0-9a-f]{32})\n([\s\S]*)\n\1\n$/.exec(out);
            assert.ok(m, `not one multi-line step output named section:\n${out}`);
            for (const name of ["infra-configs", "apps"])
                assert.match(m[2], new RegExp(`^- \\*\\*${name}\\*\\* .*: error: flux diff failed`, "m"));
            assert.match(m[2], new RegExp(`127\\.0\\.0\\.1:${port}`));
        });
    });

    describe("scripts/pr-comment/comment.sh", () => {
        /** A merge commit stand-in: HEAD^1 has fleet/notes.yaml, HEAD changes it to hold code fences. */
        function repo(): string {
            const dir = fs.mkdtempSync(path.join(tmp, "repo-"));
            const git = (args: string[]) => {
                const r = spawnSync(
                    "git",
                    [
                        "-c",
                        "user.name=t",
                        "-c",
                        "user.email=t@example.invalid",
                        "-c",
                        "init.defaultBranch=main",
                        ...args,
                    ],
                    {
                        cwd: dir,
                        encoding: "utf8",
                    },
                );
                assert.equal(r.status, 0, r.stderr);
            };
            git(["init", "-q"]);
            fs.mkdirSync(path.join(dir, "fleet"));
            fs.writeFileSync(path.join(dir, "fleet", "notes.yaml"), "notes: none\n");
            git(["add", "-A"]);
            git(["commit", "-qm", "base"]);
            fs.writeFileSync(path.join(dir, "fleet", "notes.yaml"), "notes: |\n  ```\n  not the end\n  ````\n");
            git(["commit", "-qam", "change"]);
            return dir;
        }

        it("fences the git diff longer than its backtick runs, then adds each environment's Flux section", () => {
            const section = "#### What Flux would change in staging\n- **apps** (`./apps/staging`): no change\n";
            const r = bash("pr-comment/comment.sh", [], { FLUX_DIFF_STAGING: section }, repo());
            assert.equal(r.status, 0, r.stderr);
            const lines = r.stdout.split("\n");
            const open = lines.indexOf("`````diff");
            assert.ok(open > 0, `the git diff is not in a five-backtick fence:\n${r.stdout}`);
            const close = lines.findIndex((l, i) => i > open && /^\s*`+\s*$/.test(l) && l.trim().length >= 5);
            assert.ok(
                lines.slice(open + 1, close).some((l) => l.includes("+  ````")),
                r.stdout,
            );
            assert.ok(r.stdout.indexOf(section) > r.stdout.indexOf("### What Flux would change"), r.stdout);
            assert.ok(
                r.stdout.indexOf("### What Flux would change") > lines.slice(0, close + 1).join("\n").length,
                "the Flux section is not after the git diff",
            );
        });

        it("a plain diff gets a plain fence; one over the limit is cut at a line and its fence still closes", () => {
            const dir = repo();
            for (const notes of ["plain", "x".repeat(40000)]) {
                fs.writeFileSync(path.join(dir, "fleet", "notes.yaml"), `notes: ${notes}\n`);
                spawnSync(
                    "git",
                    ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qam", notes.slice(0, 5)],
                    { cwd: dir },
                );
            }
            const r = bash("pr-comment/comment.sh", [], {}, dir);
            assert.equal(r.status, 0, r.stderr);
            const lines = r.stdout.split("\n");
            const open = lines.indexOf("```diff");
            assert.ok(open > 0, r.stdout.slice(0, 2000));
            const close = lines.indexOf("```", open + 1);
            assert.ok(close > open, "the fence of a cut diff does not close on a line of its own");
            assert.match(lines[close + 1], /^_Diff truncated to 30000 of \d+ characters/);
        });

        it("says why there is no Flux diff when no environment produced one", () => {
            const r = bash("pr-comment/comment.sh", [], { FLUX_DIFF_STAGING: "" }, repo());
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /No Flux diff on this pull request: only environments with preview credentials/);
        });
    });
});
