// Certificates for a local control plane, made with the openssl CLI (Node's
// crypto can make keys but not X.509 certificates): a CA, the API server's
// serving certificate for 127.0.0.1, an admin client certificate in
// system:masters, and the service-account signing key pair.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Certs {
    caCert: string;
    caKey: string;
    serverCert: string;
    serverKey: string;
    adminCert: string;
    adminKey: string;
    saPrivate: string;
    saPublic: string;
}

export function writeCerts(dir: string, name: string): Certs {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const f = (n: string): string => path.join(dir, n);
    const ssl = (...args: string[]): void => {
        execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    };
    const c: Certs = {
        caCert: f("ca.crt"),
        caKey: f("ca.key"),
        serverCert: f("apiserver.crt"),
        serverKey: f("apiserver.key"),
        adminCert: f("admin.crt"),
        adminKey: f("admin.key"),
        saPrivate: f("sa.key"),
        saPublic: f("sa.pub"),
    };
    const days = "30";
    ssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        c.caKey,
        "-out",
        c.caCert,
        "-days",
        days,
        "-subj",
        `/CN=${name}-ca`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    );
    const leaf = (cert: string, key: string, subj: string, ext: string[]): void => {
        const csr = `${cert}.csr`;
        const extFile = `${cert}.ext`;
        fs.writeFileSync(extFile, ext.join("\n") + "\n");
        ssl(
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            subj,
        );
        ssl(
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            c.caCert,
            "-CAkey",
            c.caKey,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            days,
            "-extfile",
            extFile,
        );
        fs.rmSync(csr);
        fs.rmSync(extFile);
    };
    leaf(c.serverCert, c.serverKey, "/CN=kube-apiserver", [
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc",
    ]);
    leaf(c.adminCert, c.adminKey, "/O=system:masters/CN=admin", [
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
    ]);
    // Service-account tokens are signed with RS256 by default.
    ssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", c.saPrivate);
    ssl("pkey", "-in", c.saPrivate, "-pubout", "-out", c.saPublic);
    return c;
}
