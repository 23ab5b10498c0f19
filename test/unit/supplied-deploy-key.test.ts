// A deploy key the stack supplies (deployKeyPrivateKey) instead of one the
// program generates: checked with the other settings before anything is
// created, its public half derived from it, and given to Flux, the check and
// the outputs as the generated one would be; the private half only as a secret.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigSource, loadSettings, SettingsError } from "../../stacks/settings";
import { dynamicType, installMocks, one, Registered, runProgram, sshGitConfig } from "../../harness/mocks";

function source(values: Record<string, string>, secrets: string[]): ConfigSource {
    return { get: (k) => values[k] || undefined, isSecret: (k) => secrets.includes(k), env: () => undefined };
}

function problems(values: Record<string, string>, secrets: string[]): string[] {
    try {
        loadSettings("staging", source(values, secrets));
    } catch (err) {
        assert.ok(err instanceof SettingsError, `expected a SettingsError, got ${err}`);
        return err.problems;
    }
    return [];
}

describe("a deploy key the stack supplies", () => {
    let dir: string;
    let key: string;
    let publicKey: string;
    const secrets = ["gitWriteKey", "deployKeyPrivateKey"];
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "supplied-deploy-key-"));
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "flux", "-f", path.join(dir, "id")]);
        key = fs.readFileSync(path.join(dir, "id"), "utf8");
        publicKey = fs.readFileSync(path.join(dir, "id.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is read with its public half and fingerprint; without it the program generates one", () => {
        const s = loadSettings("staging", source(sshGitConfig({ deployKeyPrivateKey: key }), secrets));
        assert.strictEqual(s.deployKey?.publicKey, publicKey);
        assert.match(s.deployKey?.fingerprint ?? "", /^SHA256:[A-Za-z0-9+/]{43}$/);
        assert.strictEqual(loadSettings("staging", source(sshGitConfig(), secrets)).deployKey, undefined);
    });

    it("is refused in plaintext, passphrase-protected or not a key, naming the setting and the command that stores the key file", () => {
        const store = "pulumi config set deployKeyPrivateKey --secret --stack staging < ~/.ssh/flux_deploy";
        const plain = problems(sshGitConfig({ deployKeyPrivateKey: key }), ["gitWriteKey"]);
        assert.deepStrictEqual(plain, [
            `gitops-kyverno:deployKeyPrivateKey is stored in plaintext in the stack's config file (store the key file encrypted). Fix: ${store}`,
        ]);

        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "a passphrase", "-f", path.join(dir, "protected")]);
        const protectedKey = fs.readFileSync(path.join(dir, "protected"), "utf8");
        for (const [bad, why] of [
            [
                protectedKey,
                /is protected by a passphrase \(cipher aes256-ctr\), which Flux cannot be given: .*ssh-keygen -p -N "" -f ~\/\.ssh\/flux_deploy/,
            ],
            [publicKey, /is not an OpenSSH or PEM private key: /],
        ] as const) {
            const found = problems(sshGitConfig({ deployKeyPrivateKey: bad }), secrets);
            assert.strictEqual(found.length, 1, found.join("\n"));
            assert.ok(found[0].startsWith("gitops-kyverno:deployKeyPrivateKey "), found[0]);
            assert.match(found[0], why);
            assert.ok(found[0].endsWith(`Fix: ${store}`), found[0]);
            assert.ok(!found[0].includes(bad.split("\n")[1] ?? bad), "the message repeats the key");
        }
    });

    describe("in the program", () => {
        let registered: Registered[];
        let outputs: Record<string, unknown>;
        before(async () => {
            registered = installMocks("staging", sshGitConfig({ deployKeyPrivateKey: key }), secrets);
            outputs = await runProgram();
        });

        it("generates no key, and exports the supplied key's public half and fingerprint", () => {
            assert.deepStrictEqual(
                registered.filter((r) => r.type.startsWith("tls:")).map((r) => r.type),
                [],
            );
            assert.strictEqual(outputs.deployKeyPublic, publicKey);
            assert.match(String(outputs.deployKeyFingerprint), /^SHA256:/);
        });

        it("gives Flux and the read-access check the supplied key, as a secret", () => {
            const secret = one(registered, "kubernetes:core/v1:Secret");
            assert.strictEqual(secret.inputs.stringData.identity, key);
            assert.strictEqual(secret.inputs.stringData["identity.pub"], publicKey);
            assert.ok(
                secret.secretPaths.some((p) => p.startsWith("stringData")),
                "the Secret's key is no secret input",
            );
            const check = one(registered, dynamicType("DeployKeyAccess"));
            assert.strictEqual(check.inputs.privateKey, key);
            assert.strictEqual(check.inputs.publicKey, publicKey);
            assert.ok(check.secretPaths.includes("privateKey"), "the check's private key is no secret input");
            assert.ok(!check.secretPaths.includes("publicKey"), "the public key is marked secret");
        });
    });
});
