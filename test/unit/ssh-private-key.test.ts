// The public half of a user-supplied deploy key, read from the private key as
// ssh-keygen -y reads it, for every key type and file format ssh-keygen writes;
// passphrase-protected and non-keys refused with the reason.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SshKeyProblem, sshPublicKeyOf } from "../../components/ssh-private-key";

describe("the public half of a supplied SSH private key", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssh-private-key-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    function keygen(name: string, args: string[]): string {
        const file = path.join(dir, name);
        execFileSync("ssh-keygen", ["-q", "-C", "a comment", "-f", file, ...args]);
        return file;
    }
    const ssh = (args: string[]) => execFileSync("ssh-keygen", args, { encoding: "utf8" }).trim();

    for (const type of ["ed25519", "ecdsa", "rsa"]) {
        for (const format of ["OpenSSH", "PEM"]) {
            it(`reads an ${type} key in ${format} format as ssh-keygen does, with its SHA256 fingerprint`, () => {
                const file = keygen(`${type}-${format}`, [
                    "-t",
                    type,
                    "-N",
                    "",
                    ...(format === "PEM" ? ["-m", "PEM"] : []),
                ]);
                const key = sshPublicKeyOf(fs.readFileSync(file, "utf8"));
                assert.strictEqual(key.publicKey, ssh(["-y", "-f", file]).split(" ").slice(0, 2).join(" "));
                assert.strictEqual(key.fingerprint, ssh(["-l", "-f", file]).split(" ")[1]);
            });
        }
    }

    it("reads a PKCS#8 Ed25519 key (as openssl writes it)", () => {
        const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
        const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        const raw = publicKey.export({ format: "jwk" }).x!;
        const blob = Buffer.concat([
            Buffer.from([0, 0, 0, 11]),
            Buffer.from("ssh-ed25519"),
            Buffer.from([0, 0, 0, 32]),
            Buffer.from(raw, "base64url"),
        ]);
        assert.strictEqual(sshPublicKeyOf(pem).publicKey, `ssh-ed25519 ${blob.toString("base64")}`);
    });

    it("refuses a passphrase-protected key, in either format, saying so", () => {
        for (const format of [[], ["-m", "PEM"]]) {
            const file = keygen(`protected${format.length}`, [
                "-t",
                format.length ? "rsa" : "ed25519",
                "-N",
                "a passphrase",
                ...format,
            ]);
            assert.throws(
                () => sshPublicKeyOf(fs.readFileSync(file, "utf8")),
                (err: Error) => err instanceof SshKeyProblem && /protected by a passphrase/.test(err.message),
            );
        }
    });

    it("refuses a public key, a truncated key and text, never repeating the content", () => {
        const file = keygen("whole", ["-t", "ed25519", "-N", ""]);
        const whole = fs.readFileSync(file, "utf8");
        const lines = whole.trim().split("\n");
        const truncated = [...lines.slice(0, 2), lines[lines.length - 1]].join("\n");
        for (const bad of [fs.readFileSync(`${file}.pub`, "utf8"), truncated, "hunter2"]) {
            assert.throws(
                () => sshPublicKeyOf(bad),
                (err: Error) => err instanceof SshKeyProblem && !err.message.includes(bad.slice(0, 20)),
            );
        }
    });
});
