// The pull-request comment's "what Flux would change" section, made by
// scripts/pr-comment/flux-diff.ts with the pinned flux CLI against staging's live
// cluster once its loop has converged (steps of loop.test.ts: real
// kube-apiserver, Flux and Kyverno's admission webhook): an unchanged tree
// shows no change, a tag change shows the digest Kyverno pins (so the
// server-side dry run went through Kyverno), a diff holding code fences stays
// inside its own fence, and an unreachable cluster is reported in the section
// with exit 0.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { renderFleetTree } from "../../components/fleet-tree";
import { freePort } from "../../local-cluster/util";
import { repoRoot } from "../../harness/pulumi-cli";
import { nextPodinfoTag } from "../../harness/live-world";
import type { LoopEnvironment } from "./loop-steps";

const minutes = (n: number) => n * 60_000;
const KUSTOMIZATIONS = ["infra-configs", "apps"];

/** The lines of the section that belong to one Kustomization: from its bullet to the next bullet. */
function part(section: string, name: string): string[] {
    const lines = section.split("\n");
    const start = lines.findIndex((l) => l.startsWith(`- **${name}**`));
    assert.ok(start >= 0, `no bullet for ${name} in:\n${section}`);
    const next = lines.findIndex((l, i) => i > start && /^- \*\*/.test(l));
    return lines.slice(start, next < 0 ? undefined : next);
}

/**
 * The first fenced block in `lines`: its opening fence, body and whether it
 * closes. Strict on purpose: any line that is only backticks (at any indent)
 * at least as long as the opening fence counts as closing it.
 */
function firstFence(lines: string[]): { fence: string; body: string[]; closedAt: number } | undefined {
    const open = lines.findIndex((l) => /^`{3,}\S*$/.test(l));
    if (open < 0) return undefined;
    const fence = /^`+/.exec(lines[open])![0];
    const close = lines.findIndex((l, i) => i > open && /^\s*`+\s*$/.test(l) && l.trim().length >= fence.length);
    return { fence, body: lines.slice(open + 1, close < 0 ? undefined : close), closedAt: close };
}

/** The section's steps against staging, numbered from `first`; staging's loop has converged at its committed tag. */
export function fluxDiffSteps(e: LoopEnvironment, first: number): void {
    const world = e.world;
    const dirs: string[] = [];
    const tmp = (prefix: string) => {
        const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
        dirs.push(d);
        return d;
    };
    /** The tree the PR would commit for staging: the workspace's fleet/ plus the generated clusters/staging/. */
    const renderTree = () => {
        const out = tmp("flux-diff-tree-");
        for (const [rel, content] of Object.entries(
            renderFleetTree(path.join(world.pulumi.projectDir, "fleet"), "staging"),
        )) {
            fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
            fs.writeFileSync(path.join(out, rel), content);
        }
        return out;
    };
    /** The script as CI runs it: exit code and the section it wrote. */
    const comment = (tree: string, kube: { kubeconfig: string; context: string }, extra: string[] = []) => {
        const out = path.join(tmp("flux-diff-out-"), "section.md");
        const r = spawnSync(
            path.join(repoRoot, "node_modules", ".bin", "ts-node"),
            [
                "scripts/pr-comment/flux-diff.ts",
                "--tree",
                tree,
                "--env",
                "staging",
                "--kubeconfig",
                kube.kubeconfig,
                "--context",
                kube.context,
                "--out",
                out,
                ...extra,
            ],
            {
                cwd: repoRoot,
                encoding: "utf8",
                env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
                timeout: minutes(6),
            },
        );
        const section = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
        return { code: r.status, section, log: `${r.stdout}${r.stderr}` };
    };
    const staging = () => ({ kubeconfig: world.env.cluster.kubeconfig, context: world.env.cluster.context });
    let unchanged = "";

    after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    it(`${first}. staging: the Flux diff section of the unchanged tree says no change for every Kustomization of clusters/staging, exit 0`, () => {
        unchanged = renderTree();
        const r = comment(unchanged, staging());
        assert.equal(r.code, 0, r.log);
        for (const name of KUSTOMIZATIONS) assert.match(part(r.section, name)[0], /: no change$/, r.section);
        assert.doesNotMatch(r.section, /error|changes/, r.section);
    });

    it(`${first + 1}. staging: the Flux diff section of a tag change shows the image moving to the new tag's digest: Kyverno's mutation is in the dry run`, () => {
        world.setPodinfoImage("staging", nextPodinfoTag);
        const r = comment(renderTree(), staging());
        assert.equal(r.code, 0, r.log);
        assert.match(part(r.section, "infra-configs")[0], /: no change$/, r.section);
        const apps = part(r.section, "apps");
        assert.match(apps[0], /: changes$/, r.section);
        const block = firstFence(apps);
        assert.ok(block && block.closedAt > 0, r.section);
        const diff = block.body.join("\n");
        assert.ok(
            diff.includes(`@${world.digest("staging", nextPodinfoTag)}`),
            `the diff does not show ${nextPodinfoTag}'s digest ${world.digest("staging", nextPodinfoTag)}:\n${diff}`,
        );
        assert.ok(
            diff.includes(`@${world.digest("staging", "6.9.2")}`),
            `the diff does not show the live digest being replaced:\n${diff}`,
        );
    });

    it(`${first + 2}. staging: a Flux diff holding code fences stays inside a longer fence, also when truncated to fit`, () => {
        const tree = tmp("flux-diff-fence-");
        fs.cpSync(unchanged, tree, { recursive: true });
        const file = path.join(tree, "apps", "base", "podinfo", "deployment.yaml");
        const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS());
        const deployment = docs.find((d) => d?.kind === "Deployment");
        const notes = [
            "```",
            "not the end of the diff",
            "```",
            "````md",
            "nor this",
            "````",
            ...Array.from({ length: 200 }, (_, i) => `padding line ${i}`),
        ].join("\n");
        deployment.metadata.annotations = { "example.com/notes": notes };
        fs.writeFileSync(file, docs.map((d) => YAML.stringify(d)).join("---\n"));

        for (const extra of [[], ["--max-chars", "2600"]]) {
            const r = comment(tree, staging(), extra);
            assert.equal(r.code, 0, r.log);
            const apps = part(r.section, "apps");
            assert.match(apps[0], /: changes$/, r.section);
            const block = firstFence(apps);
            assert.ok(block, r.section);
            assert.ok(block.fence.length >= 5, `fence ${block.fence} is not longer than the diff's \`\`\`\` runs`);
            assert.ok(
                block.body.some((l) => l.trim() === "```"),
                `the diff has no line a shorter fence would end at:\n${block.body.join("\n")}`,
            );
            // The fence that opens the diff closes only at its end: what follows is the section's own text.
            assert.ok(block.closedAt > 0, `the diff's fence never closes:\n${r.section}`);
            const after = apps.slice(block.closedAt + 1).filter((l) => l.trim() !== "");
            assert.ok(
                after.every((l) => l.startsWith("_Diff truncated")),
                `text after the fence that is not the section's own:\n${after.join("\n")}`,
            );
            if (extra.length > 0) {
                assert.ok(r.section.length <= 2600, `section of ${r.section.length} characters over --max-chars 2600`);
                assert.equal(after.length, 1, `no truncation note:\n${r.section}`);
            } else {
                assert.ok(block.body.join("\n").includes("padding line 199"), "the full diff was cut without a limit");
            }
        }
    });

    it(`${first + 3}. the Flux diff section against an unreachable cluster: an error line per Kustomization, not a diff, and exit 0`, async () => {
        const dir = tmp("flux-diff-unreachable-");
        const kubeconfig = path.join(dir, "kubeconfig");
        const port = await freePort();
        fs.writeFileSync(
            kubeconfig,
            YAML.stringify({
                apiVersion: "v1",
                kind: "Config",
                clusters: [
                    {
                        name: "gone",
                        cluster: { server: `https://127.0.0.1:${port}`, "insecure-skip-tls-verify": true },
                    },
                ],
                users: [{ name: "reader", user: { token: "not-a-token" } }],
                contexts: [{ name: "gone", context: { cluster: "gone", user: "reader" } }],
                "current-context": "gone",
            }),
        );
        const r = comment(unchanged, { kubeconfig, context: "gone" });
        assert.equal(r.code, 0, r.log);
        for (const name of KUSTOMIZATIONS) {
            const lines = part(r.section, name);
            assert.match(lines[0], /: error: flux diff failed, so this is not a diff$/, r.section);
            assert.match(lines.join("\n"), new RegExp(`127\\.0\\.0\\.1:${port}`), r.section);
        }
        assert.doesNotMatch(r.section, /no change|: changes$/m, r.section);
    });
}
