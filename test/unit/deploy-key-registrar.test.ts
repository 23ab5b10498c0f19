// The local harness's stand-in for the admin who authorizes a generated deploy
// key: it reads the key's public half from the stack's saved state (where the
// engine puts it before the program checks the key) and authorizes each key
// once, read-only.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generatedPublicKeys, registerDeployKeys, stackStateFiles } from "../../local-cluster/deploy-key-registrar";
import type { GitSshServer } from "../../local-cluster/git-server";

function writeState(file: string, publicKeys: string[]): void {
    const resources = [
        { type: "pulumi:pulumi:Stack", outputs: {} },
        ...publicKeys.map((k) => ({
            type: "tls:index/privateKey:PrivateKey",
            outputs: { publicKeyOpenssh: `${k}\n`, privateKeyOpenssh: { ciphertext: "x" } },
        })),
    ];
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ version: 3, checkpoint: { latest: { resources } } }));
    fs.renameSync(`${file}.tmp`, file);
}

describe("the local harness's deploy key registrar", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "registrar-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads generated keys from the project-scoped state file, and nothing before it exists", () => {
        const [projectScoped] = stackStateFiles(dir, "staging");
        assert.strictEqual(projectScoped, path.join(dir, ".pulumi", "stacks", "gitops-kyverno", "staging.json"));
        assert.deepStrictEqual(generatedPublicKeys(stackStateFiles(dir, "staging")), []);
        writeState(projectScoped, ["ssh-ed25519 AAAAone"]);
        assert.deepStrictEqual(generatedPublicKeys(stackStateFiles(dir, "staging")), ["ssh-ed25519 AAAAone"]);
        assert.deepStrictEqual(generatedPublicKeys(stackStateFiles(dir, "production")), []);
    });

    it("authorizes each new key once, read-only, soon after the state holds it, and stops", async () => {
        const authorized: string[] = [];
        const git = {
            authorize: (key: string, access: string) => authorized.push(`${access} ${key}`),
        } as unknown as GitSshServer;
        const files = stackStateFiles(dir, "staging");
        const registrar = registerDeployKeys(git, files, 20);
        try {
            writeState(files[0], ["ssh-ed25519 AAAAone"]);
            await new Promise((r) => setTimeout(r, 150));
            writeState(files[0], ["ssh-ed25519 AAAAone", "ssh-ed25519 AAAAtwo"]);
            await new Promise((r) => setTimeout(r, 150));
            assert.deepStrictEqual(authorized, ["read ssh-ed25519 AAAAone", "read ssh-ed25519 AAAAtwo"]);
        } finally {
            registrar.stop();
        }
        writeState(files[0], ["ssh-ed25519 AAAAthree"]);
        await new Promise((r) => setTimeout(r, 100));
        assert.strictEqual(authorized.length, 2, "the registrar kept running after stop()");
    });
});
