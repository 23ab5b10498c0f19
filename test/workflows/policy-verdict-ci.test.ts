// The policy pack in the workflows: the pulumi-stack action runs the pack in every
// preview and up, the preview's verdict leaves its job as an output, and the fleet-diff
// job's comment shows one verdict per previewed environment (scripts/pr-comment/policy-verdict.ts,
// scripts/pr-comment/comment.sh, run as the runner runs them).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { policyVerdictSection } from "../../scripts/pr-comment/policy-verdict";

const root = path.resolve(__dirname, "..", "..");
const load = (file: string) => YAML.parse(fs.readFileSync(path.join(root, file), "utf8"));
type Step = {
    id?: string;
    name?: string;
    if?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
};

/** What `pulumi preview --policy-pack policy` prints for a stack with one mandatory and one advisory violation. */
const failedPreview = [
    "Previewing update (staging):",
    " +  pulumi:pulumi:Stack gitops-kyverno-staging create error: preview failed",
    "Policies:",
    "    ❌ gitops-kyverno@v0.1.0 (local: policy)",
    "        - [mandatory]  chart-versions-pinned  (kubernetes:helm.sh/v3:Release: kyverno)",
    "          Every Helm release or chart names an exact chart version (x.y.z), so an unchanged stack installs the same chart.",
    '          chart kyverno of kyverno has version "^3.9.0": pin an exact version (stacks/defaults.ts, or the stack\'s ...ChartVersion setting)',
    "        - [advisory]  repository-deleted-on-destroy  (pulumi-nodejs:dynamic/gitops-kyverno:GitHubRepository: fleet)",
    "          Advisory: the shared fleet repository is deleted when this stack is destroyed (deleteRepositoryOnDestroy).",
    "          destroying stack staging deletes the shared fleet repository fleet (deleteRepositoryOnDestroy: true)",
    "",
    "Diagnostics:",
    "  pulumi:pulumi:Stack (gitops-kyverno-staging):",
    "    error: preview failed",
].join("\n");

describe("the policy pack in the workflows", function () {
    this.timeout(120_000);

    it("the pulumi-stack action gives the pack to preview and up, and reads the verdict even when the preview failed", () => {
        const steps = load(".github/actions/pulumi-stack/action.yml").runs.steps as Step[];
        for (const command of ["preview", "up"]) {
            const step = steps.find((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === command);
            assert.equal(step?.with?.policyPacks, "policy", `pulumi ${command} runs without the policy pack`);
        }
        const verdict = steps.find((s) => s.id === "verdict");
        assert.ok(verdict, "no verdict step");
        assert.match(verdict.if ?? "", /!cancelled\(\)/, "the verdict step is skipped when the pack fails the preview");
        assert.equal(verdict.env?.PREVIEW_OUTPUT, "${{ steps.preview.outputs.output }}");
        assert.equal(
            load(".github/actions/pulumi-stack/action.yml").outputs["policy-verdict"].value,
            "${{ steps.verdict.outputs.section }}",
        );
    });

    it("preview.yml carries each previewed environment's verdict into the fleet-diff comment", () => {
        const jobs = load(".github/workflows/preview.yml").jobs;
        const previews = Object.keys(jobs).filter((j) => j.startsWith("preview-"));
        assert.ok(previews.length > 0);
        for (const job of previews) {
            const env = job.slice("preview-".length).toUpperCase();
            assert.match(
                jobs[job].outputs?.["policy-verdict"] ?? "",
                /steps\.preview\.outputs\.policy-verdict/,
                `${job} does not output its verdict`,
            );
            assert.ok(jobs["fleet-diff"].needs.includes(job), `fleet-diff does not wait for ${job}`);
            const step = (jobs["fleet-diff"].steps as Step[]).find((s) =>
                s.run?.includes("scripts/pr-comment/comment.sh"),
            );
            assert.equal(step?.env?.[`POLICY_VERDICT_${env}`], `\${{ needs.${job}.outputs.policy-verdict }}`);
        }
        assert.match(
            jobs["fleet-diff"].if,
            /!cancelled\(\)/,
            "a failed preview (a mandatory violation) would drop the comment",
        );
    });

    it("the verdict names the failing rule; the comment shows it after the Flux diff", () => {
        const section = policyVerdictSection("staging", failedPreview, "failure");
        assert.match(section, /#### Policy pack on `staging`\n:x: \*\*Fails\*\*: 1 mandatory violation/);
        assert.match(
            section,
            /\| mandatory \| `chart-versions-pinned` \| kubernetes:helm.sh\/v3:Release: kyverno \| chart kyverno of kyverno has version "\^3\.9\.0"/,
        );
        assert.match(section, /\| advisory \| `repository-deleted-on-destroy` \|/);
        assert.match(
            policyVerdictSection("staging", "Previewing update (staging):\nResources:\n    12 unchanged\n", "failure"),
            /No verdict: the preview ended with failure/,
        );

        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-verdict-ci-"));
        try {
            const git = (args: string[]) =>
                spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], {
                    cwd: dir,
                    encoding: "utf8",
                });
            git(["init", "-q"]);
            fs.mkdirSync(path.join(dir, "fleet"));
            fs.writeFileSync(path.join(dir, "fleet", "a.yaml"), "a: 1\n");
            git(["add", "-A"]);
            git(["commit", "-qm", "base"]);
            git(["commit", "-q", "--allow-empty", "-m", "merge"]);
            const run = (env: Record<string, string>) =>
                spawnSync("bash", [path.join(root, "scripts", "pr-comment", "comment.sh")], {
                    cwd: dir,
                    encoding: "utf8",
                    env: { ...process.env, GITHUB_STEP_SUMMARY: "", PR: "", REPO: "", ...env },
                });
            const r = run({
                FLUX_DIFF_STAGING: "#### What Flux would change in staging\n",
                POLICY_VERDICT_STAGING: section,
            });
            assert.equal(r.status, 0, r.stderr);
            assert.ok(
                r.stdout.indexOf("### Policy pack verdict") > r.stdout.indexOf("What Flux would change in staging"),
                r.stdout,
            );
            assert.ok(r.stdout.includes(section), r.stdout);
            const none = run({ POLICY_VERDICT_STAGING: "" });
            assert.match(none.stdout, /No policy verdict on this pull request/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("scripts/pr-comment/policy-verdict.ts writes the section as a step output", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-verdict-out-"));
        try {
            const out = path.join(dir, "github-output");
            const r = spawnSync(
                path.join(root, "node_modules", ".bin", "ts-node"),
                ["--transpile-only", path.join(root, "scripts", "pr-comment", "policy-verdict.ts")],
                {
                    encoding: "utf8",
                    env: {
                        ...process.env,
                        STACK: "staging",
                        PREVIEW_OUTPUT: failedPreview,
                        OUTCOME: "failure",
                        GITHUB_OUTPUT: out,
                    },
                },
            );
            assert.equal(r.status, 0, r.stderr);
            const written = fs.readFileSync(out, "utf8");
            assert.match(written, /^section<<POLICY_VERDICT_EOF\n#### Policy pack on `staging`\n:x: \*\*Fails\*\*/);
            assert.match(written, /\nPOLICY_VERDICT_EOF\n$/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
