#!/usr/bin/env node
// @ts-check
// A stand-in for the `tls` resource provider (v5.6.1) that serves only
// tls:index/privateKey:PrivateKey, written for this project because the real
// provider's Go module is not served by the module proxy here. Keys come from
// Node's crypto; the OpenSSH encodings are built here (RFC 4253 wire format and
// the openssh-key-v1 container). The engine starts this file as the plugin
// `pulumi-resource-tls`; @pulumi/pulumi is loaded from the program's folder.
"use strict";
const crypto = require("node:crypto");
const path = require("node:path");
const { createRequire } = require("node:module");

const fromProgram = createRequire(path.join(process.cwd(), "index.js"));
/** @type {typeof import("@pulumi/pulumi/provider")} */
const provider = fromProgram("@pulumi/pulumi/provider");

const VERSION = "5.6.1";
const TYPE = "tls:index/privateKey:PrivateKey";
const CURVES = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" };
const SSH_CURVES = { P256: "nistp256", P384: "nistp384", P521: "nistp521" };

/** @param {Buffer} b */
const sshString = (b) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
};
/** @param {string} s */
const sshText = (s) => sshString(Buffer.from(s));
/** mpint: big-endian two's complement, a leading zero when the top bit is set. @param {string} b64url */
const sshMpint = (b64url) => {
    let b = Buffer.from(b64url, "base64url");
    while (b.length > 1 && b[0] === 0 && (b[1] & 0x80) === 0) b = b.subarray(1);
    if (b[0] & 0x80) b = Buffer.concat([Buffer.alloc(1), b]);
    return sshString(b);
};
/** @param {number} n */
const u32 = (n) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
};

/**
 * The public key blob and the private key fields of the openssh-key-v1 format.
 * @param {string} algorithm @param {string} curve @param {crypto.KeyObject} priv
 */
function sshParts(algorithm, curve, priv) {
    const jwk = priv.export({ format: "jwk" });
    const j = /** @type {Record<string, string>} */ (/** @type {unknown} */ (jwk));
    if (algorithm === "ED25519") {
        const pub = Buffer.from(j.x, "base64url");
        const seed = Buffer.from(j.d, "base64url");
        const type = "ssh-ed25519";
        const blob = Buffer.concat([sshText(type), sshString(pub)]);
        const fields = Buffer.concat([sshText(type), sshString(pub), sshString(Buffer.concat([seed, pub]))]);
        return { type, blob, fields };
    }
    if (algorithm === "ECDSA") {
        const name = SSH_CURVES[/** @type {keyof typeof SSH_CURVES} */ (curve)];
        if (!name) return undefined; // OpenSSH has no P-224
        const point = Buffer.concat([Buffer.from([4]), Buffer.from(j.x, "base64url"), Buffer.from(j.y, "base64url")]);
        const type = `ecdsa-sha2-${name}`;
        const blob = Buffer.concat([sshText(type), sshText(name), sshString(point)]);
        const fields = Buffer.concat([sshText(type), sshText(name), sshString(point), sshMpint(j.d)]);
        return { type, blob, fields };
    }
    const type = "ssh-rsa";
    const blob = Buffer.concat([sshText(type), sshMpint(j.e), sshMpint(j.n)]);
    const fields = Buffer.concat([
        sshText(type),
        sshMpint(j.n),
        sshMpint(j.e),
        sshMpint(j.d),
        sshMpint(j.qi),
        sshMpint(j.p),
        sshMpint(j.q),
    ]);
    return { type, blob, fields };
}

/** @param {Buffer} blob @param {Buffer} fields */
function opensshPrivateKey(blob, fields) {
    const check = crypto.randomBytes(4);
    let body = Buffer.concat([check, check, fields, sshText("")]);
    for (let pad = 1; body.length % 8 !== 0; pad++) body = Buffer.concat([body, Buffer.from([pad])]);
    const all = Buffer.concat([
        Buffer.from("openssh-key-v1\0"),
        sshText("none"),
        sshText("none"),
        sshText(""),
        u32(1),
        sshString(blob),
        sshString(body),
    ]);
    const lines = all.toString("base64").match(/.{1,70}/g) ?? [];
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** @param {{algorithm: string, ecdsaCurve?: string, rsaBits?: number}} inputs */
function generate(inputs) {
    const { algorithm } = inputs;
    const curve = inputs.ecdsaCurve ?? "P224";
    /** @type {crypto.KeyPairKeyObjectResult} */
    let pair;
    if (algorithm === "ED25519") pair = crypto.generateKeyPairSync("ed25519");
    else if (algorithm === "ECDSA")
        pair = crypto.generateKeyPairSync("ec", { namedCurve: CURVES[/** @type {keyof typeof CURVES} */ (curve)] });
    else pair = crypto.generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 });
    const { privateKey, publicKey } = pair;
    const pemType = algorithm === "RSA" ? "pkcs1" : algorithm === "ECDSA" ? "sec1" : "pkcs8";
    const publicKeyPem = /** @type {string} */ (publicKey.export({ type: "spki", format: "pem" }));
    const outs = {
        ...inputs,
        privateKeyPem: /** @type {string} */ (
            privateKey.export({ type: /** @type {"pkcs8"} */ (pemType), format: "pem" })
        ),
        privateKeyPemPkcs8: /** @type {string} */ (privateKey.export({ type: "pkcs8", format: "pem" })),
        publicKeyPem,
        privateKeyOpenssh: "",
        publicKeyOpenssh: "",
        publicKeyFingerprintMd5: "",
        publicKeyFingerprintSha256: "",
    };
    const ssh = sshParts(algorithm, curve, privateKey);
    if (ssh) {
        outs.privateKeyOpenssh = opensshPrivateKey(ssh.blob, ssh.fields);
        outs.publicKeyOpenssh = `${ssh.type} ${ssh.blob.toString("base64")}\n`;
        outs.publicKeyFingerprintMd5 = (
            crypto.createHash("md5").update(ssh.blob).digest("hex").match(/../g) ?? []
        ).join(":");
        outs.publicKeyFingerprintSha256 = `SHA256:${crypto.createHash("sha256").update(ssh.blob).digest("base64").replace(/=+$/, "")}`;
    }
    const id = crypto.createHash("sha1").update(publicKeyPem).digest("hex");
    return { id, outs };
}

const REPLACE_ON = ["algorithm", "ecdsaCurve", "rsaBits"];

/** @type {import("@pulumi/pulumi/provider").Provider} */
const tls = {
    version: VERSION,
    async check(urn, _olds, news) {
        if (!urn.includes(TYPE)) {
            return { failures: [{ property: "", reason: `this tls stand-in serves only ${TYPE}` }] };
        }
        const inputs = { ...news };
        /** @type {{property: string, reason: string}[]} */
        const failures = [];
        if (!["RSA", "ECDSA", "ED25519"].includes(inputs.algorithm)) {
            failures.push({ property: "algorithm", reason: "algorithm must be one of RSA, ECDSA, ED25519" });
        }
        if (inputs.algorithm === "ECDSA") {
            inputs.ecdsaCurve = inputs.ecdsaCurve ?? "P224";
            if (!(inputs.ecdsaCurve in CURVES))
                failures.push({ property: "ecdsaCurve", reason: "ecdsaCurve must be one of P224, P256, P384, P521" });
        }
        if (inputs.algorithm === "RSA") inputs.rsaBits = inputs.rsaBits ?? 2048;
        return failures.length ? { failures } : { inputs };
    },
    async diff(_id, _urn, olds, news) {
        const replaces = REPLACE_ON.filter((k) => (olds[k] ?? null) !== (news[k] ?? null));
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
    async create(_urn, inputs) {
        return generate(inputs);
    },
    async read(id, _urn, props) {
        return { id, props };
    },
    async delete() {},
};

provider.main(tls, process.argv.slice(2));
