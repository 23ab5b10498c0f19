// Small helpers for kube-cluster.ts: free ports, binary lookup, HTTPS probes.
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..");

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}

/** The project's pinned build in .tools/bin first, then PATH. */
export function findBinary(name: string): string {
    const dirs = [path.join(repoRoot, ".tools", "bin"), ...(process.env.PATH ?? "").split(path.delimiter)];
    for (const d of dirs) {
        const p = path.join(d, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            return p;
        } catch {
            // not here
        }
    }
    throw new Error(
        `${name} not found in .tools/bin or PATH (run: npm run tools -- ${name}, or scripts/install-system-deps.sh for etcd)`,
    );
}

export interface TlsFiles {
    ca: string;
    cert: string;
    key: string;
}

/** GET with client-certificate auth; connection errors count as status 0. */
export function httpsGet(url: string, tls: TlsFiles): Promise<{ status: number; body: string }> {
    return new Promise((resolve) => {
        const req = https.get(
            url,
            {
                ca: fs.readFileSync(tls.ca),
                cert: fs.readFileSync(tls.cert),
                key: fs.readFileSync(tls.key),
                timeout: 5000,
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (d: string) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => resolve({ status: 0, body: "" }));
    });
}

/**
 * Polls `check` until it is true. `failure` may report a fatal reason early
 * (a daemon that exited), which stops the wait with that message.
 */
export async function waitFor(
    what: string,
    check: () => Promise<boolean>,
    timeoutMs: number,
    failure: () => string | undefined,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const fatal = failure();
        if (fatal) throw new Error(`waiting for ${what}: ${fatal}`);
        if (await check()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}
