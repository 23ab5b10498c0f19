// A small HTTP server on 127.0.0.1 that answers as GitHub's REST API does for the
// routes the dynamic providers call (repositories, topics, contents, deploy keys),
// with the token it accepts now, and faults a test can put in front of the routes.
import * as http from "http";
import { AddressInfo } from "net";

export interface Call {
    method: string;
    url: string;
    auth?: string;
    body?: any;
}

export interface FakeKey {
    id: number;
    key: string;
    title: string;
    read_only: boolean;
}

export interface FakeRepo {
    private: boolean;
    description: string;
    topics: string[];
    /** Folders under clusters/ on the default branch. */
    clusters: string[];
    keys: FakeKey[];
}

/** An answer put in front of the routes; `hang` never answers (a stalled connection). */
export interface Reply {
    status: number;
    json?: unknown;
    headers?: Record<string, string>;
    hang?: boolean;
}

/** GitHub's 422 bodies, as its API sends them. */
export const unprocessable = {
    nameExists: {
        message: "Repository creation failed.",
        errors: [
            { resource: "Repository", code: "custom", field: "name", message: "name already exists on this account" },
        ],
    },
    keyInUse: {
        message: "Validation Failed",
        errors: [{ resource: "PublicKey", code: "custom", field: "key", message: "key is already in use" }],
    },
    keyInvalid: {
        message: "Validation Failed",
        errors: [
            {
                resource: "PublicKey",
                code: "custom",
                field: "key",
                message: "key is invalid. You must supply a key in OpenSSH public key format",
            },
        ],
    },
};

export const writes = (calls: Call[]) => calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.url}`);

export class GitHubFake {
    url = "";
    calls: Call[] = [];
    repos = new Map<string, FakeRepo>();
    orgs = new Set<string>();
    /** The token GitHub accepts now, and whose account it is. */
    validToken = "ghp_local_test";
    tokenLogin = "someone";
    /** Asked before the routes, in order: the first that returns a reply answers the call. */
    ahead: ((call: Call) => Reply | undefined)[] = [];
    private server?: http.Server;
    private keyIds = 1;

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                const call = {
                    method: req.method!,
                    url: req.url!,
                    auth: req.headers.authorization,
                    body: raw ? JSON.parse(raw) : undefined,
                };
                this.calls.push(call);
                const reply = this.interposed(call) ?? this.route(call);
                if (reply.hang) return;
                res.writeHead(reply.status, { "Content-Type": "application/json", ...reply.headers });
                res.end(reply.json === undefined ? "" : JSON.stringify(reply.json));
            });
        });
        await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise((r) => this.server?.close(r));
    }

    reset(): void {
        this.calls = [];
        this.repos = new Map();
        this.orgs = new Set(["acme-platform"]);
        this.validToken = "ghp_local_test";
        this.tokenLogin = "someone";
        this.ahead = [];
    }

    /** A repository that exists already. */
    repo(id: string, r: Partial<FakeRepo> = {}): FakeRepo {
        this.repos.set(id, { private: true, description: "fleet", topics: [], clusters: [], keys: [], ...r });
        return this.repos.get(id)!;
    }

    /** Answers the next `times` calls (those `match` picks) with `reply`, then routes them again. */
    fail(reply: Reply, times = 1, match: (c: Call) => boolean = () => true): void {
        let left = times;
        this.ahead.push((c) => (left > 0 && match(c) ? (left--, reply) : undefined));
    }

    private interposed(call: Call): Reply | undefined {
        for (const a of this.ahead) {
            const reply = a(call);
            if (reply) return reply;
        }
        return undefined;
    }

    private route(call: Call): Reply {
        const send = (status: number, json?: unknown): Reply => ({ status, json });
        if (call.auth !== `Bearer ${this.validToken}`) return send(401, { message: "Bad credentials" });
        const { method, body } = call;
        const [route, query] = call.url.split("?");
        if (route === "/user" && method === "GET") return send(200, { login: this.tokenLogin, type: "User" });
        const user = route.match(/^\/users\/([^/]+)$/);
        if (user) return send(200, { login: user[1], type: this.orgs.has(user[1]) ? "Organization" : "User" });
        const repo = route.match(/^\/repos\/([^/]+\/[^/]+)(\/.*)?$/);
        if (repo) {
            const [, id, rest] = repo;
            const r = this.repos.get(id);
            if (!r) return send(404, { message: "Not Found" });
            if (!rest && method === "GET") return send(200, repoJson(id, r));
            if (!rest && method === "PATCH") return (Object.assign(r, body), send(200, repoJson(id, r)));
            if (!rest && method === "DELETE") return (this.repos.delete(id), send(204));
            if (rest === "/topics" && method === "PUT")
                return ((r.topics = body.names), send(200, { names: r.topics }));
            if (rest === "/contents/clusters" && method === "GET") {
                if (query !== "ref=main")
                    return send(400, { message: `the fake serves branch main only, not ${query}` });
                if (r.clusters.length === 0) return send(404, { message: "Not Found" });
                return send(
                    200,
                    r.clusters.map((name) => ({ name, path: `clusters/${name}`, type: "dir" })),
                );
            }
            if (rest?.startsWith("/keys")) return this.keys(r, method, rest, new URLSearchParams(query), body);
        }
        const create = route === "/user/repos" ? this.tokenLogin : route.match(/^\/orgs\/([^/]+)\/repos$/)?.[1];
        if (create && method === "POST") {
            const id = `${create}/${body.name}`;
            if (this.repos.has(id)) return send(422, unprocessable.nameExists);
            return send(201, repoJson(id, this.repo(id, { private: body.private, description: body.description })));
        }
        return send(404, { message: "no route" });
    }

    private keys(r: FakeRepo, method: string, rest: string, query: URLSearchParams, body: any): Reply {
        const send = (status: number, json?: unknown): Reply => ({ status, json });
        if (rest === "/keys" && method === "POST") {
            if (!/^ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+$/.test(body.key)) return send(422, unprocessable.keyInvalid);
            // A key is unique across GitHub: on any repository, as any user's key.
            if ([...this.repos.values()].some((o) => o.keys.some((k) => k.key === body.key)))
                return send(422, unprocessable.keyInUse);
            const key = { id: this.keyIds++, key: body.key, title: body.title, read_only: body.read_only };
            r.keys.push(key);
            return send(201, key);
        }
        if (rest === "/keys" && method === "GET") {
            const perPage = Number(query.get("per_page") ?? 30);
            const page = Number(query.get("page") ?? 1);
            return send(200, r.keys.slice((page - 1) * perPage, page * perPage));
        }
        const one = rest.match(/^\/keys\/(\d+)$/);
        const at = one ? r.keys.findIndex((k) => k.id === Number(one[1])) : -1;
        if (at < 0) return send(404, { message: "Not Found" });
        if (method === "GET") return send(200, r.keys[at]);
        if (method === "DELETE") return (r.keys.splice(at, 1), send(204));
        return send(404, { message: "no route" });
    }
}

function repoJson(id: string, r: FakeRepo) {
    const [owner, name] = id.split("/");
    return {
        html_url: `https://github.com/${owner}/${name}`,
        ssh_url: `git@github.com:${owner}/${name}.git`,
        clone_url: `https://github.com/${owner}/${name}.git`,
        default_branch: "main",
        private: r.private,
        description: r.description,
        topics: r.topics,
    };
}
