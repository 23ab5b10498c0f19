// The public half of an SSH private key the user supplies as Flux's deploy key,
// derived without running ssh-keygen: the OpenSSH format carries the public key
// blob in its unencrypted header; a PEM key (RSA, EC, PKCS#8) is read by Node's
// crypto and its public numbers written out as an OpenSSH blob. A key Flux
// cannot use (passphrase-protected, not a key) is refused with the reason.
//
// Plain Node, no Pulumi: stacks/settings.ts calls it while checking the settings.
import * as crypto from "crypto";

export interface SshPublicKey {
    /** One authorized_keys line without a comment: "ssh-ed25519 AAAA...". */
    publicKey: string;
    /** As ssh-keygen -l prints it: "SHA256:..." without base64 padding. */
    fingerprint: string;
}

/** Why a supplied key cannot be used; the message says what the key is, never its content. */
export class SshKeyProblem extends Error {}

const opensshMagic = Buffer.from("openssh-key-v1\0", "latin1");
const curveNames: Record<string, string> = { "P-256": "nistp256", "P-384": "nistp384", "P-521": "nistp521" };

/** Reads the public half of an unencrypted OpenSSH or PEM private key; throws SshKeyProblem otherwise. */
export function sshPublicKeyOf(privateKey: string): SshPublicKey {
    const text = privateKey.trim();
    const openssh =
        /^-----BEGIN OPENSSH PRIVATE KEY-----\s+([A-Za-z0-9+/=\s]+?)\s*-----END OPENSSH PRIVATE KEY-----$/.exec(text);
    const blob = openssh
        ? opensshPublicBlob(Buffer.from(openssh[1].replace(/\s+/g, ""), "base64"))
        : pemPublicBlob(text);
    const type = new SshReader(blob).string().toString("latin1");
    const fingerprint = `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
    return { publicKey: `${type} ${blob.toString("base64")}`, fingerprint };
}

function opensshPublicBlob(bytes: Buffer): Buffer {
    if (!bytes.subarray(0, opensshMagic.length).equals(opensshMagic))
        throw new SshKeyProblem("is not an OpenSSH private key (its header is damaged)");
    const r = new SshReader(bytes, opensshMagic.length);
    const cipher = r.string().toString("latin1");
    r.string(); // kdf name
    r.string(); // kdf options
    if (cipher !== "none")
        throw new SshKeyProblem(`is protected by a passphrase (cipher ${cipher}), which Flux cannot be given`);
    const keys = r.uint32();
    if (keys !== 1) throw new SshKeyProblem(`holds ${keys} keys; give one`);
    return r.string();
}

function pemPublicBlob(text: string): Buffer {
    if (!/^-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(text))
        throw new SshKeyProblem("is not an OpenSSH or PEM private key");
    if (/^-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/m.test(text)) {
        throw new SshKeyProblem("is protected by a passphrase, which Flux cannot be given");
    }
    let jwk: crypto.JsonWebKey;
    try {
        jwk = crypto.createPrivateKey({ key: text, format: "pem" }).export({ format: "jwk" });
    } catch {
        throw new SshKeyProblem("is not a readable PEM private key");
    }
    const b = (v: string | undefined) => Buffer.from(v ?? "", "base64url");
    if (jwk.kty === "RSA") return sshBlob(["ssh-rsa", mpint(b(jwk.e)), mpint(b(jwk.n))]);
    if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return sshBlob(["ssh-ed25519", b(jwk.x)]);
    const curve = jwk.kty === "EC" ? curveNames[jwk.crv ?? ""] : undefined;
    if (curve) return sshBlob([`ecdsa-sha2-${curve}`, curve, Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)])]);
    throw new SshKeyProblem(
        `is a ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ""} key, which SSH does not use (give an Ed25519, ECDSA or RSA key)`,
    );
}

/** SSH wire strings, each a uint32 length and its bytes. */
function sshBlob(parts: (string | Buffer)[]): Buffer {
    return Buffer.concat(
        parts.flatMap((p) => {
            const bytes = typeof p === "string" ? Buffer.from(p, "latin1") : p;
            const length = Buffer.alloc(4);
            length.writeUInt32BE(bytes.length);
            return [length, bytes];
        }),
    );
}

/** A positive big-endian integer as an SSH mpint: no leading zeros, one 0 byte when the top bit is set. */
function mpint(bytes: Buffer): Buffer {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    return trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

class SshReader {
    constructor(
        private readonly bytes: Buffer,
        private at = 0,
    ) {}

    uint32(): number {
        if (this.at + 4 > this.bytes.length) throw new SshKeyProblem("is truncated");
        const v = this.bytes.readUInt32BE(this.at);
        this.at += 4;
        return v;
    }

    string(): Buffer {
        const length = this.uint32();
        if (this.at + length > this.bytes.length) throw new SshKeyProblem("is truncated");
        const v = this.bytes.subarray(this.at, this.at + length);
        this.at += length;
        return v;
    }
}
