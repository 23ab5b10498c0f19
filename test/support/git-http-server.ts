// A Git server over HTTP on 127.0.0.1 that authenticates like GitHub does for
// git: an `Authorization: Basic x-access-token:<token>` header. Behind it runs
// git's own `git http-backend`. The token it accepts can be changed (a rotation).
// On a wrong token it answers as a careless server might: with a protocol error
// that repeats the credentials it received, so a test can see whether the client
// ever prints them.
//
//   const server = await startGitHttpServer("ghp_one");
//   const url = server.createRepository("fleet");   // http://127.0.0.1:PORT/fleet.git
//   server.token = "ghp_two";
//   await server.stop();
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface GitHttpServer {
    /** The token the server accepts now. */
    token: string;
    /** The tokens clients sent, in order. */
    readonly seen: string[];
    createRepository(name: string): string;
    /** Runs git in a bare repository on the server's disk. */
    gitIn(name: string, args: string[]): string;
    stop(): Promise<void>;
}

export async function startGitHttpServer(token: string): Promise<GitHttpServer> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "git-http-"));
    const seen: string[] = [];
    const state = { token };
    const server = http.createServer((req, res) => {
        const header = req.headers.authorization ?? "";
        const sent = header.startsWith("Basic ")
            ? Buffer.from(header.slice(6), "base64")
                  .toString()
                  .replace(/^x-access-token:/, "")
            : "";
        seen.push(sent);
        if (sent !== state.token) {
            const line = `ERR access denied for credentials ${sent || "(none)"}\n`;
            res.writeHead(200, { "Content-Type": "application/x-git-upload-pack-advertisement" });
            res.end(`${(line.length + 4).toString(16).padStart(4, "0")}${line}`);
            return;
        }
        const [pathInfo, query = ""] = (req.url ?? "/").split("?");
        const cgi = spawn("git", ["http-backend"], {
            env: {
                PATH: process.env.PATH,
                GIT_PROJECT_ROOT: root,
                GIT_HTTP_EXPORT_ALL: "1",
                GIT_CONFIG_NOSYSTEM: "1",
                GIT_CONFIG_GLOBAL: "/dev/null",
                REMOTE_USER: "x-access-token",
                REMOTE_ADDR: "127.0.0.1",
                REQUEST_METHOD: req.method,
                PATH_INFO: pathInfo,
                QUERY_STRING: query,
                CONTENT_TYPE: req.headers["content-type"] ?? "",
                HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
                GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
            },
        });
        req.pipe(cgi.stdin);
        let head = Buffer.alloc(0);
        let headersDone = false;
        cgi.stdout.on("data", (chunk: Buffer) => {
            if (headersDone) return void res.write(chunk);
            head = Buffer.concat([head, chunk]);
            const end = head.indexOf("\r\n\r\n");
            if (end < 0) return;
            headersDone = true;
            let status = 200;
            const headers: Record<string, string> = {};
            for (const line of head.subarray(0, end).toString().split("\r\n")) {
                const [k, ...v] = line.split(":");
                if (k.toLowerCase() === "status") status = Number.parseInt(v.join(":").trim(), 10);
                else headers[k] = v.join(":").trim();
            }
            res.writeHead(status, headers);
            res.write(head.subarray(end + 4));
        });
        cgi.on("close", () => res.end());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const gitIn = (name: string, args: string[]) =>
        execFileSync("git", args, {
            cwd: path.join(root, `${name}.git`),
            encoding: "utf8",
            env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
        }).trim();
    return {
        get token() {
            return state.token;
        },
        set token(t: string) {
            state.token = t;
        },
        seen,
        createRepository(name) {
            execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", path.join(root, `${name}.git`)]);
            return `http://127.0.0.1:${port}/${name}.git`;
        },
        gitIn,
        async stop() {
            server.closeAllConnections();
            await new Promise<void>((r) => server.close(() => r()));
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}
