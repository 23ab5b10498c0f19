// Secrets stay secrets: the deploy key's private half reaches the engine only as
// a secret value, the GitHub token not at all (no provider or resource takes it:
// the dynamic providers read the current one at each operation), and nothing
// exported or committed holds any of them, in any form: as is, base64-encoded or
// JSON-escaped.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { secretForms, secretsIn } from "../support/secret-forms";
import {
    byType,
    dynamicType,
    githubConfig,
    installMocks,
    isSecretOutput,
    one,
    valueOf,
    Registered,
    settle,
    sshGitConfig,
    sshWriteKey,
} from "../../harness/mocks";

const token = "ghp_unit_test_token_not_real_000000000000";
const deployKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nmock-private-key-material\n-----END OPENSSH PRIVATE KEY-----\n";
const secrets = { "the GitHub token": token, "the deploy key": deployKey, "the write key": sshWriteKey };

/** "type name path" of every registered string input that holds a secret in some form, with whether that input is secret. */
function holders(registered: Registered[]): { at: string; secret: boolean; found: string[] }[] {
    const out: { at: string; secret: boolean; found: string[] }[] = [];
    const walk = (value: unknown, at: string, r: Registered) => {
        if (typeof value === "string") {
            const found = secretsIn(value, secrets);
            const secret = r.secretPaths.some(
                (p) => p === "" || at === p || at.startsWith(`${p}.`) || at.startsWith(`${p}[`),
            );
            if (found.length > 0) out.push({ at: `${r.type} ${r.name} ${at}`, secret, found });
        } else if (value && typeof value === "object") {
            for (const [k, v] of Object.entries(value)) walk(v, at ? `${at}.${k}` : k, r);
        }
    };
    for (const r of registered) walk(r.inputs, "", r);
    return out;
}

describe("secret forms", () => {
    it("find a secret as is, base64-encoded at any offset, and JSON-escaped once or twice", () => {
        const found = (text: string) => secretsIn(text, { key: deployKey });
        assert.deepStrictEqual(found(`data: ${Buffer.from(`x${deployKey}`).toString("base64")}`), ["key"]);
        assert.deepStrictEqual(found(`data: ${Buffer.from(`xy${deployKey}`).toString("base64")}`), ["key"]);
        assert.deepStrictEqual(found(JSON.stringify({ v: deployKey })), ["key"]);
        assert.deepStrictEqual(found(JSON.stringify({ v: JSON.stringify({ v: deployKey }) })), ["key"]);
        assert.deepStrictEqual(
            found(`Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`),
            [],
        );
        assert.deepStrictEqual(
            secretsIn(`Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`, { token }),
            ["token"],
        );
        assert.deepStrictEqual(found("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockPublicKey"), []);
        assert.ok(secretForms(token).every((f) => f.length >= 12));
    });
});

for (const [label, config, secretKeys] of [
    ["a GitHub stack", githubConfig(), ["github:token"]],
    ["a stack on an SSH Git server", sshGitConfig(), ["gitWriteKey"]],
] as const) {
    describe(`secrets of ${label}`, () => {
        let registered: Registered[];
        let exported: Record<string, unknown>;
        before(async () => {
            registered = installMocks("staging", config, [...secretKeys]);
            const entry = require.resolve("../../index");
            delete require.cache[entry];
            exported = await import(entry);
            await settle();
        });

        it("the Flux deploy key secret's data is a secret", () => {
            const secret = one(registered, "kubernetes:core/v1:Secret");
            assert.ok(secret.secretPaths.includes("stringData"), `secret paths: ${secret.secretPaths}`);
            assert.ok(secret.inputs.stringData.identity.includes("mock-private-key-material"));
        });

        it("the dynamic providers hold no credential in any form, secret or not: they read the current one at each operation", () => {
            const dynamic = registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
            assert.ok(dynamic.length > 0);
            // One exception: the read-access check is given Flux's own key (the program's, kept in the
            // state already), as a secret input; never a credential of the user's.
            const checkKey = `${dynamicType("DeployKeyAccess")} flux-staging-read-access privateKey`;
            const held = holders(dynamic).filter(
                (h) => !(h.at === checkKey && h.secret && h.found.join() === "the deploy key"),
            );
            assert.deepStrictEqual(held, []);
        });

        it("every other input that holds a secret, in any form, is marked secret", () => {
            const leaks = holders(registered).filter((h) => !h.secret);
            assert.deepStrictEqual(leaks, []);
        });

        it("no provider takes the GitHub token, and no resource's inputs or outputs hold it in any form, secret or not", () => {
            const github = registered.filter(
                (r) => r.type === "pulumi:providers:github" || r.type.startsWith("github:"),
            );
            assert.deepStrictEqual(
                github.map((r) => `${r.type} ${r.name}`),
                [],
            );
            const holding = registered.flatMap((r) =>
                (["inputs", "outputs"] as const)
                    .filter((side) => secretsIn(JSON.stringify(r[side]), { token }).length > 0)
                    .map((side) => `${r.type} ${r.name} ${side}`),
            );
            assert.deepStrictEqual(holding, []);
        });

        it("no stack output holds a secret in plaintext, in any form", async () => {
            for (const [name, output] of Object.entries(exported)) {
                const value = await valueOf(output as pulumi.Input<unknown>);
                const found = secretsIn(JSON.stringify(value) ?? "", secrets);
                if (found.length > 0) {
                    assert.ok(await isSecretOutput(output), `output ${name} holds ${found.join(", ")} in plaintext`);
                    assert.fail(`output ${name} exports ${found.join(", ")}`);
                }
            }
        });

        it("no committed file holds a token or a private key, in any form", () => {
            const files = one(registered, dynamicType("FleetFiles")).inputs.files as Record<string, string>;
            for (const [p, content] of Object.entries(files)) {
                assert.deepStrictEqual(secretsIn(content, secrets), [], `${p} holds a secret`);
                assert.doesNotMatch(content, /PRIVATE KEY-----|ghp_[A-Za-z0-9]{20,}/, `${p} holds a secret`);
            }
            assert.ok(byType(registered, dynamicType("FleetFiles")).length === 1);
        });
    });
}
