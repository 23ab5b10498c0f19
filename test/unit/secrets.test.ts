// Secrets stay secrets: the deploy key's private half and the tokens reach the
// engine only as secret values, and nothing exported or committed holds them.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { byType, dynamicType, githubConfig, installMocks, isSecretOutput, one, Registered, settle, valueOf } from "./support/mocks";

const token = "ghp_unit_test_token_not_real_000000000000";
const privateKeyMarker = "mock-private-key-material";

describe("secrets", () => {
    let registered: Registered[];
    let exported: Record<string, unknown>;
    before(async () => {
        registered = installMocks("staging", githubConfig(), ["github:token"]);
        const entry = require.resolve("../../index");
        delete require.cache[entry];
        exported = await import(entry);
        await settle();
    });

    it("the Flux deploy key secret's data is a secret", () => {
        const secret = one(registered, "kubernetes:core/v1:Secret");
        assert.ok(secret.secretPaths.includes("stringData"), `secret paths: ${secret.secretPaths}`);
        assert.ok(secret.inputs.stringData.identity.includes(privateKeyMarker));
    });

    it("the push credentials and the GitHub token reach every resource as secrets", () => {
        const files = one(registered, dynamicType("FleetFiles"));
        assert.ok(files.secretPaths.includes("auth"), `FleetFiles secret paths: ${files.secretPaths}`);
        const repo = one(registered, dynamicType("GitHubRepository"));
        assert.ok(repo.secretPaths.includes("token"), `GitHubRepository secret paths: ${repo.secretPaths}`);
        const provider = one(registered, "pulumi:providers:github");
        assert.ok(provider.secretPaths.includes("token"));
    });

    it("every input that holds the token or the private key is marked secret", () => {
        const leaks: string[] = [];
        const walk = (value: unknown, at: string, r: Registered) => {
            if (typeof value === "string") {
                const secret = r.secretPaths.some((p) => at === p || at.startsWith(`${p}.`) || at.startsWith(`${p}[`));
                if ((value.includes(token) || value.includes(privateKeyMarker)) && !secret) leaks.push(`${r.type} ${r.name} ${at}`);
            } else if (value && typeof value === "object") {
                for (const [k, v] of Object.entries(value)) walk(v, at ? `${at}.${k}` : k, r);
            }
        };
        for (const r of registered) walk(r.inputs, "", r);
        assert.deepStrictEqual(leaks, []);
    });

    it("no stack output holds a secret in plaintext", async () => {
        for (const [name, output] of Object.entries(exported)) {
            const value = JSON.stringify(await valueOf(output as pulumi.Input<unknown>));
            if (value?.includes(token) || value?.includes(privateKeyMarker)) {
                assert.ok(await isSecretOutput(output), `output ${name} holds a secret in plaintext`);
                assert.fail(`output ${name} exports a secret`);
            }
        }
    });

    it("no committed file holds a token or a private key", () => {
        const files = one(registered, dynamicType("FleetFiles")).inputs.files as Record<string, string>;
        for (const [p, content] of Object.entries(files)) {
            assert.ok(!content.includes(token), `${p} holds the token`);
            assert.doesNotMatch(content, /PRIVATE KEY-----|ghp_[A-Za-z0-9]{20,}/, `${p} holds a secret`);
        }
        assert.ok(byType(registered, dynamicType("FleetFiles")).length === 1);
    });
});
