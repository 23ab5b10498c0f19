// A stack brought up by the version that registered the deploy key with
// @pulumi/github: before its first `up`, `npm run up` removes the old key and the
// github provider from the state (never from GitHub), so the up does not delete
// the key its new resource took over. Real CLI, on a state imported as that
// version left it.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { legacyDeployKeyType, legacyGithubUrns, githubProviderType } from "../../cli/recover/legacy-github";
import { PulumiWorkspace, repoRoot } from "../../harness/pulumi-cli";

const stack = "staging";
const urn = (type: string, name: string, parentType = "") =>
    `urn:pulumi:${stack}::gitops-kyverno::${parentType}${type}::${name}`;
const stackUrn = urn("pulumi:pulumi:Stack", `gitops-kyverno-${stack}`);
const providerUrn = urn(githubProviderType, "github");
const keyUrn = urn(legacyDeployKeyType, "flux-staging");

describe("the deploy key's old @pulumi/github resources in a stack's state", function () {
    this.timeout(300_000);

    it("go key first, then the provider, which stays while another resource uses it", () => {
        const provider = { urn: providerUrn, type: githubProviderType, id: "p1" };
        const key = { urn: keyUrn, type: legacyDeployKeyType, provider: `${providerUrn}::p1` };
        assert.deepStrictEqual(legacyGithubUrns([{ urn: stackUrn, type: "pulumi:pulumi:Stack" }, provider, key]), [
            keyUrn,
            providerUrn,
        ]);
        const user = {
            urn: urn("github:index/branchProtection:BranchProtection", "main"),
            type: "github:index/branchProtection:BranchProtection",
            provider: `${providerUrn}::p1`,
        };
        assert.deepStrictEqual(legacyGithubUrns([provider, key, user]), [keyUrn]);
        assert.deepStrictEqual(
            legacyGithubUrns([provider]),
            [],
            "a provider without the old key is not this migration's",
        );
    });

    it("leave the state of a real stack through the script `npm run up` runs, and nothing else does", async () => {
        const pulumi = new PulumiWorkspace();
        try {
            await pulumi.initStack(stack);
            const exported = JSON.parse((await pulumi.run(["stack", "export", "--stack", stack])).stdout);
            const tls = {
                urn: urn("tls:index/privateKey:PrivateKey", "flux-staging"),
                custom: true,
                type: "tls:index/privateKey:PrivateKey",
                id: "k1",
                parent: stackUrn,
                provider: `${urn("pulumi:providers:tls", "default")}::t1`,
            };
            exported.deployment.resources = [
                { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack" },
                {
                    urn: providerUrn,
                    custom: true,
                    id: "p1",
                    type: githubProviderType,
                    parent: stackUrn,
                    inputs: { owner: "acme" },
                    outputs: { owner: "acme" },
                },
                {
                    urn: urn("pulumi:providers:tls", "default"),
                    custom: true,
                    id: "t1",
                    type: "pulumi:providers:tls",
                    parent: stackUrn,
                },
                tls,
                {
                    urn: keyUrn,
                    custom: true,
                    id: "fleet-infra:123",
                    type: legacyDeployKeyType,
                    parent: stackUrn,
                    provider: `${providerUrn}::p1`,
                    dependencies: [tls.urn],
                },
            ];
            const file = path.join(pulumi.dir, "old-state.json");
            fs.writeFileSync(file, JSON.stringify(exported));
            await pulumi.run(["stack", "import", "--stack", stack, "--file", file]);
            const script = path.join(repoRoot, "cli", "recover", "legacy-github.ts");
            const ts = path.join(repoRoot, "node_modules", ".bin", "ts-node");
            const r = spawnSync(ts, ["--transpile-only", script, stack], {
                cwd: pulumi.projectDir,
                env: pulumi.env,
                encoding: "utf8",
            });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(
                r.stderr,
                new RegExp(
                    `pulumi state delete '${keyUrn.replace(/[$]/g, "\\$")}'\\n {2}pulumi state delete '${providerUrn}'`,
                ),
            );
            const after = JSON.parse((await pulumi.run(["stack", "export", "--stack", stack])).stdout);
            assert.deepStrictEqual(
                after.deployment.resources.map((x: { type: string }) => x.type),
                ["pulumi:pulumi:Stack", "pulumi:providers:tls", "tls:index/privateKey:PrivateKey"],
            );
            const again = spawnSync(ts, ["--transpile-only", script, stack], {
                cwd: pulumi.projectDir,
                env: pulumi.env,
                encoding: "utf8",
            });
            assert.strictEqual(again.status, 0, again.stderr);
            assert.strictEqual(again.stderr, "", "a migrated stack was migrated again");
        } finally {
            pulumi.remove();
        }
    });
});
