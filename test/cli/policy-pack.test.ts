// The policy pack under the real engine: `pulumi preview --policy-pack policy` of a
// small program (test/policy/program) on a file backend, once as it should be (no violation)
// and once per rule with that rule broken, which must stop the preview naming it.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { policyVerdictSection } from "../../scripts/pr-comment/policy-verdict";
import { startHelmRepo, type HelmRepo } from "../../local-cluster/helm-repo";
import { PulumiWorkspace, repoRoot, type RunResult } from "../../harness/pulumi-cli";

const pack = path.join(repoRoot, "policy");
const unreachableKubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]',
    "users: [{name: u, user: {token: fixture}}]",
    "contexts: [{name: c, context: {cluster: c, user: u}}]",
    "current-context: c",
].join("\n");

/** The rule names (once each) listed as violated at each level in a preview's output. */
function violations(result: RunResult): { mandatory: string[]; advisory: string[] } {
    const out = `${result.stdout}\n${result.stderr}`;
    const names = (level: string) => [
        ...new Set([...out.matchAll(new RegExp(`\\[${level}\\]\\s+(\\S+)`, "g"))].map((m) => m[1])),
    ];
    return { mandatory: names("mandatory"), advisory: names("advisory") };
}

describe("policy pack (pulumi preview --policy-pack policy, real engine)", function () {
    let ws: PulumiWorkspace;
    let repo: HelmRepo;

    before(async function () {
        const files = { "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" };
        repo = await startHelmRepo([
            { name: "kyverno", version: "3.9.1", files },
            { name: "cert-manager", version: "v1.21.2", files },
        ]);
        ws = new PulumiWorkspace({
            source: path.join(__dirname, "..", "policy", "program"),
            projectEntries: ["Pulumi.yaml", "package.json", "index.js"],
        });
        for (const stack of ["production", "staging"]) {
            await ws.initStack(stack);
            await ws.setConfig(stack, {
                "fixture:helmRepo": repo.url,
                "fixture:kubeconfig": unreachableKubeconfig,
                "fixture:fleetDir": path.join(repoRoot, "fleet"),
            });
        }
    });
    after(async function () {
        ws?.remove();
        await repo?.stop();
    });

    async function preview(stack: string, broken: string[]): Promise<RunResult> {
        await ws.setConfig(stack, { "fixture:break": broken.join(",") });
        return ws.run(["preview", "--stack", stack, "--policy-pack", pack], { allowFailure: true });
    }

    // chart-versions-pinned is not broken here: the kubernetes provider's check turns a
    // Release's range into the version it resolved before the pack sees it (policy/rules/chart-versions.ts).
    it("passes a stack that keeps every rule", async function () {
        const result = await preview("production", []);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.deepEqual(violations(result), { mandatory: [], advisory: [] });
        assert.match(
            policyVerdictSection("production", result.stdout, "success"),
            /:white_check_mark: \*\*Passes\*\*: no mandatory violation\./,
        );
    });

    const cases: { rule: string; broken: string; stack?: string; message: RegExp }[] = [
        {
            rule: "kyverno-ha-in-production",
            broken: "kyverno-ha-in-production",
            message: /production stack production runs 1 admission controller/,
        },
        {
            rule: "deploy-key-read-only",
            broken: "deploy-key-read-only",
            message: /deploy key flux-deploy-key is registered with readOnly false/,
        },
        {
            rule: "credentials-are-secrets",
            broken: "credentials-are-secrets",
            message: /input privateKey is a plaintext credential/,
        },
        {
            rule: "digest-policy-fails-closed",
            broken: "digest-policy-fails-closed",
            message:
                /ClusterPolicy resolve-image-digest .* fails open: spec\.webhookConfiguration\.failurePolicy is "Ignore"/,
        },
        {
            rule: "digest-policy-fails-closed",
            broken: "digest-policy-fails-closed:kyverno",
            message: /sets features\.forceFailurePolicyIgnore\.enabled/,
        },
    ];
    for (const c of cases) {
        it(`stops the preview when ${c.broken} is broken`, async function () {
            const result = await preview(c.stack ?? "production", [c.broken]);
            assert.notEqual(result.code, 0, "the preview passed");
            assert.deepEqual(violations(result).mandatory, [c.rule]);
            assert.match(result.stdout + result.stderr, c.message);
            // The PR comment's verdict, read from this real output.
            assert.match(
                policyVerdictSection("production", result.stdout, "failure"),
                new RegExp(`:x: \\*\\*Fails\\*\\*[^]*\\| mandatory \\| \`${c.rule}\``),
            );
        });
    }

    it("holds staging to every rule but production's HA", async function () {
        const ha = await preview("staging", ["kyverno-ha-in-production"]);
        assert.equal(ha.code, 0, ha.stdout + ha.stderr);
        const key = await preview("staging", ["deploy-key-read-only"]);
        assert.deepEqual(violations(key).mandatory, ["deploy-key-read-only"]);
    });

    it("lists an advisory rule without stopping the preview", async function () {
        const result = await preview("production", ["advisory"]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        const { mandatory, advisory } = violations(result);
        assert.deepEqual(mandatory, []);
        assert.deepEqual(advisory.sort(), ["cert-manager-crds-kept", "repository-deleted-on-destroy"]);
        assert.match(result.stdout, /cert-manager cert-manager keeps its CRDs on destroy/);
        assert.match(result.stdout, /deletes the shared fleet repository fleet-infra/);
    });
});
