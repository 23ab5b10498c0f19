// The shared-repository provider's contract with GitHub's REST API, against a
// small HTTP server on 127.0.0.1 that answers as GitHub does for these routes.
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { gitHubRepositoryProvider, GitHubRepositoryState } from "../../components/github/repository-provider";

interface Call {
    method: string;
    url: string;
    auth?: string;
    body?: any;
}

function repoJson(owner: string, name: string) {
    return {
        html_url: `https://github.com/${owner}/${name}`,
        ssh_url: `git@github.com:${owner}/${name}.git`,
        clone_url: `https://github.com/${owner}/${name}.git`,
        default_branch: "main",
        private: true,
    };
}

describe("the GitHub repository provider", () => {
    let server: http.Server;
    let api: string;
    let calls: Call[];
    let repos: Set<string>;
    let orgs: Set<string>;

    before(async () => {
        server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                const body = raw ? JSON.parse(raw) : undefined;
                calls.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
                const send = (status: number, json?: unknown) => {
                    res.writeHead(status, { "Content-Type": "application/json" });
                    res.end(json === undefined ? "" : JSON.stringify(json));
                };
                if (req.headers.authorization !== "Bearer ghp_local_test") return send(401, { message: "Bad credentials" });
                const repo = req.url!.match(/^\/repos\/([^/]+)\/([^/]+)$/);
                if (repo && req.method === "GET") return repos.has(`${repo[1]}/${repo[2]}`) ? send(200, repoJson(repo[1], repo[2])) : send(404, { message: "Not Found" });
                if (repo && req.method === "DELETE") return repos.delete(`${repo[1]}/${repo[2]}`) ? send(204) : send(404, { message: "Not Found" });
                const user = req.url!.match(/^\/users\/([^/]+)$/);
                if (user) return send(200, { login: user[1], type: orgs.has(user[1]) ? "Organization" : "User" });
                const create = req.url === "/user/repos" ? "me" : req.url!.match(/^\/orgs\/([^/]+)\/repos$/)?.[1];
                if (create && req.method === "POST") {
                    const owner = create === "me" ? "someone" : create;
                    repos.add(`${owner}/${body.name}`);
                    return send(201, repoJson(owner, body.name));
                }
                send(404, { message: "no route" });
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());
    beforeEach(() => {
        calls = [];
        repos = new Set();
        orgs = new Set(["acme-platform"]);
    });

    const inputs = (extra: Partial<GitHubRepositoryState> = {}): GitHubRepositoryState => ({
        owner: "acme-platform",
        name: "fleet-infra",
        private: true,
        description: "fleet",
        deleteOnDestroy: false,
        token: "ghp_local_test",
        apiUrl: api,
        ...extra,
    });

    it("creates a missing repository, private and auto-initialised, in the organization", async () => {
        const { id, outs } = await gitHubRepositoryProvider.create!(inputs());
        assert.strictEqual(id, "acme-platform/fleet-infra");
        assert.strictEqual(outs!.created, true);
        const post = calls.find((c) => c.method === "POST")!;
        assert.strictEqual(post.url, "/orgs/acme-platform/repos");
        assert.deepStrictEqual({ ...post.body, description: undefined }, { name: "fleet-infra", private: true, auto_init: true, description: undefined });
        assert.strictEqual(post.auth, "Bearer ghp_local_test");
    });

    it("adopts a repository another environment created, without creating anything", async () => {
        repos.add("acme-platform/fleet-infra");
        const { outs } = await gitHubRepositoryProvider.create!(inputs());
        assert.strictEqual(outs!.created, false);
        assert.strictEqual(outs!.htmlUrl, "https://github.com/acme-platform/fleet-infra");
        assert.deepStrictEqual(calls.map((c) => c.method), ["GET"]);
    });

    it("keeps the repository on destroy unless the stack opted in", async () => {
        repos.add("acme-platform/fleet-infra");
        await gitHubRepositoryProvider.delete!("acme-platform/fleet-infra", inputs());
        assert.deepStrictEqual(calls, []);
        assert.ok(repos.has("acme-platform/fleet-infra"));
        await gitHubRepositoryProvider.delete!("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true }));
        assert.ok(!repos.has("acme-platform/fleet-infra"));
    });

    it("says what a refused token means", async () => {
        await assert.rejects(gitHubRepositoryProvider.create!(inputs({ token: "ghp_expired" })), /GitHub answered 401 \(the token is invalid or expired\): Bad credentials/);
    });
});
