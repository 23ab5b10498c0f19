// The shared-repository provider's contract with GitHub's REST API, against a
// small HTTP server on 127.0.0.1 that answers as GitHub does for these routes.
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { CurrentCredentials } from "../../components/credentials";
import { GitHubRepositoryProvider, GitHubRepositoryState, ownershipTopic } from "../../components/github/repository-provider";

interface Call {
    method: string;
    url: string;
    auth?: string;
    body?: any;
}

interface FakeRepo {
    private: boolean;
    description: string;
    topics: string[];
    /** Folders under clusters/ on the default branch. */
    clusters: string[];
}

const writes = (calls: Call[]) => calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.url}`);

describe("the GitHub repository provider", () => {
    let server: http.Server;
    let api: string;
    let calls: Call[];
    let repos: Map<string, FakeRepo>;
    let orgs: Set<string>;
    /** The token GitHub accepts now, and whose account it is. */
    let validToken: string;
    let tokenLogin: string;
    /** Answer the next repository creations with 422 (another environment won the race), creating nothing. */
    let createdElsewhere: (() => void) | undefined;

    const repoJson = (id: string, r: FakeRepo) => {
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
    };

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
                if (req.headers.authorization !== `Bearer ${validToken}`) return send(401, { message: "Bad credentials" });
                const [route, query] = req.url!.split("?");
                if (route === "/user" && req.method === "GET") return send(200, { login: tokenLogin, type: "User" });
                const user = route.match(/^\/users\/([^/]+)$/);
                if (user) return send(200, { login: user[1], type: orgs.has(user[1]) ? "Organization" : "User" });
                const repo = route.match(/^\/repos\/([^/]+\/[^/]+)(\/.*)?$/);
                if (repo) {
                    const [, id, rest] = repo;
                    const r = repos.get(id);
                    if (!r) return send(404, { message: "Not Found" });
                    if (!rest && req.method === "GET") return send(200, repoJson(id, r));
                    if (!rest && req.method === "PATCH") return (Object.assign(r, body), send(200, repoJson(id, r)));
                    if (!rest && req.method === "DELETE") return (repos.delete(id), send(204));
                    if (rest === "/topics" && req.method === "PUT") return ((r.topics = body.names), send(200, { names: r.topics }));
                    if (rest === "/contents/clusters" && req.method === "GET") {
                        assert.strictEqual(query, "ref=main");
                        if (r.clusters.length === 0) return send(404, { message: "Not Found" });
                        return send(
                            200,
                            r.clusters.map((name) => ({ name, path: `clusters/${name}`, type: "dir" })),
                        );
                    }
                }
                const create = route === "/user/repos" ? tokenLogin : route.match(/^\/orgs\/([^/]+)\/repos$/)?.[1];
                if (create && req.method === "POST") {
                    const id = `${create}/${body.name}`;
                    if (createdElsewhere) {
                        createdElsewhere();
                        return send(422, { message: "Repository creation failed: name already exists on this account" });
                    }
                    if (repos.has(id)) return send(422, { message: "Repository creation failed: name already exists on this account" });
                    repos.set(id, { private: body.private, description: body.description, topics: [], clusters: [] });
                    return send(201, repoJson(id, repos.get(id)!));
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
        repos = new Map();
        orgs = new Set(["acme-platform"]);
        validToken = "ghp_local_test";
        tokenLogin = "someone";
        createdElsewhere = undefined;
    });

    /** A provider as the engine runs it: configured with the stack's config, the environment left empty. */
    const provider = (config: Record<string, string> = { "github:token": validToken }) => {
        const p = new GitHubRepositoryProvider(new CurrentCredentials({}));
        void p.configure({ config: { get: (k: string) => config[k], require: (k: string) => config[k] } });
        return p;
    };

    const inputs = (extra: Partial<GitHubRepositoryState> = {}): GitHubRepositoryState => ({
        owner: "acme-platform",
        name: "fleet-infra",
        private: true,
        description: "fleet",
        deleteOnDestroy: false,
        adoptExisting: false,
        environment: "staging",
        branch: "main",
        apiUrl: api,
        ...extra,
    });

    const existing = (id: string, r: Partial<FakeRepo> = {}) => repos.set(id, { private: true, description: "fleet", topics: [], clusters: [], ...r });

    it("creates a missing repository, private and auto-initialised, in the organization, and marks it as the program's", async () => {
        const { id, outs } = await provider().create(inputs());
        assert.strictEqual(id, "acme-platform/fleet-infra");
        assert.strictEqual(outs.created, true);
        const post = calls.find((c) => c.method === "POST")!;
        assert.strictEqual(post.url, "/orgs/acme-platform/repos");
        assert.deepStrictEqual({ ...post.body, description: undefined }, { name: "fleet-infra", private: true, auto_init: true, description: undefined });
        assert.strictEqual(post.auth, "Bearer ghp_local_test");
        assert.deepStrictEqual(repos.get("acme-platform/fleet-infra")!.topics, [ownershipTopic]);
    });

    it("adopts a repository the program marked, writing nothing", async () => {
        existing("acme-platform/fleet-infra", { topics: ["gitops", ownershipTopic] });
        const { outs } = await provider().create(inputs());
        assert.strictEqual(outs.created, false);
        assert.strictEqual(outs.htmlUrl, "https://github.com/acme-platform/fleet-infra");
        assert.deepStrictEqual(writes(calls), []);
    });

    it("refuses a repository it did not create, naming it and the setting, in preview and in up, writing nothing", async () => {
        existing("acme-platform/fleet-infra", { topics: ["flux"] });
        const check = await provider().check({} as GitHubRepositoryState, inputs());
        assert.strictEqual(check.failures.length, 1);
        assert.match(check.failures[0].reason, /acme-platform\/fleet-infra already exists and this program did not create it/);
        assert.match(check.failures[0].reason, /pulumi config set adoptExistingRepository true/);
        await assert.rejects(provider().create(inputs()), /acme-platform\/fleet-infra already exists .*adoptExistingRepository/);
        assert.deepStrictEqual(writes(calls), []);
        assert.deepStrictEqual(repos.get("acme-platform/fleet-infra")!.topics, ["flux"]);
    });

    it("does not look the repository up again in preview once the stack holds it", async () => {
        const check = await provider().check(inputs(), inputs({ description: "changed" }));
        assert.deepStrictEqual(check.failures, []);
        assert.deepStrictEqual(calls, []);
    });

    it("adopts a repository it did not create when the stack allows it, marking it and keeping its topics", async () => {
        existing("acme-platform/fleet-infra", { topics: ["flux"] });
        assert.deepStrictEqual((await provider().check({} as GitHubRepositoryState, inputs({ adoptExisting: true }))).failures, []);
        const { outs } = await provider().create(inputs({ adoptExisting: true }));
        assert.strictEqual(outs.created, false);
        assert.deepStrictEqual(writes(calls), ["PUT /repos/acme-platform/fleet-infra/topics"]);
        assert.deepStrictEqual(repos.get("acme-platform/fleet-infra")!.topics, ["flux", ownershipTopic]);
    });

    it("adopts the repository another environment is creating at the same moment, once it carries the mark", async () => {
        const p = provider();
        p.markWaitMs = 5_000;
        createdElsewhere = () => {
            createdElsewhere = undefined;
            existing("acme-platform/fleet-infra");
            setTimeout(() => (repos.get("acme-platform/fleet-infra")!.topics = [ownershipTopic]), 700);
        };
        const { outs } = await p.create(inputs());
        assert.strictEqual(outs.created, false);
        assert.deepStrictEqual(writes(calls), ["POST /orgs/acme-platform/repos"]);
    });

    it("reports the repository's real visibility, so a public repository is drift when repositoryPrivate is true", async () => {
        existing("acme-platform/fleet-infra", { topics: [ownershipTopic] });
        const p = provider();
        const { outs } = await p.create(inputs());
        repos.get("acme-platform/fleet-infra")!.private = false; // made public by hand
        const refreshed = await p.read("acme-platform/fleet-infra", outs);
        assert.strictEqual(refreshed.props.private, false);
        const diff = await p.diff("acme-platform/fleet-infra", refreshed.props, inputs());
        assert.strictEqual(diff.changes, true);
        const updated = await p.update("acme-platform/fleet-infra", refreshed.props, inputs());
        assert.strictEqual(updated.outs.private, true);
        assert.strictEqual(repos.get("acme-platform/fleet-infra")!.private, true);
    });

    it("creates in the token's own account when githubOwner is that user", async () => {
        tokenLogin = "jane";
        const { outs } = await provider().create(inputs({ owner: "jane" }));
        assert.strictEqual(outs.created, true);
        assert.deepStrictEqual(writes(calls), ["POST /user/repos", "PUT /repos/jane/fleet-infra/topics"]);
    });

    it("refuses a githubOwner that is a user other than the token's, before creating anything", async () => {
        tokenLogin = "jane";
        const check = await provider().check({} as GitHubRepositoryState, inputs({ owner: "bob" }));
        assert.match(check.failures[0]?.reason ?? "", /githubOwner bob is a GitHub user, and the token belongs to jane/);
        await assert.rejects(provider().create(inputs({ owner: "bob" })), /bob\/fleet-infra would be created as jane\/fleet-infra/);
        assert.deepStrictEqual(writes(calls), []);
        assert.deepStrictEqual([...repos.keys()], []);
    });

    it("keeps the repository on destroy unless the stack opted in", async () => {
        existing("acme-platform/fleet-infra");
        await provider().delete("acme-platform/fleet-infra", inputs());
        assert.deepStrictEqual(calls, []);
        assert.ok(repos.has("acme-platform/fleet-infra"));
        await provider().delete("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true }));
        assert.ok(!repos.has("acme-platform/fleet-infra"));
    });

    it("refuses to delete the repository while another environment's clusters/<env>/ is in it, naming it", async () => {
        existing("acme-platform/fleet-infra", { clusters: ["production", "staging"] });
        await assert.rejects(
            provider().delete("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true })),
            /refusing to delete acme-platform\/fleet-infra: clusters\/production\/ is still on branch main, so production still syncs from it/,
        );
        assert.deepStrictEqual(writes(calls), []);
        repos.get("acme-platform/fleet-infra")!.clusters = ["staging"]; // production destroyed; only our own folder left
        await provider().delete("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true }));
        assert.ok(!repos.has("acme-platform/fleet-infra"));
    });

    it("keeps no token in its inputs or outputs, and rewrites a state an older version stored one in", async () => {
        const p = provider();
        const { outs } = await p.create(inputs());
        assert.ok(!JSON.stringify(outs).includes(validToken), "the token is in the outputs");
        assert.strictEqual((await p.diff("acme-platform/fleet-infra", outs, inputs())).changes, false);
        const legacy = { ...outs, token: "ghp_old_stored" } as GitHubRepositoryState;
        assert.strictEqual((await p.diff("acme-platform/fleet-infra", legacy, inputs())).changes, true);
        const updated = await p.update("acme-platform/fleet-infra", legacy, inputs());
        assert.ok(!("token" in updated.outs), "the update kept the stored token");
    });

    it("acts with the token the user has now: after a rotation, destroy works and the old token is never sent", async () => {
        const { outs } = await provider({ "github:token": "ghp_local_test" }).create(inputs({ deleteOnDestroy: true }));
        validToken = "ghp_rotated"; // the old token is revoked
        calls = [];
        await provider({ "github:token": "ghp_rotated" }).delete("acme-platform/fleet-infra", outs);
        assert.ok(!repos.has("acme-platform/fleet-infra"));
        assert.ok(
            calls.every((c) => c.auth === "Bearer ghp_rotated"),
            calls.map((c) => c.auth).join(", "),
        );
    });

    it("takes the token from GITHUB_TOKEN when the stack's config has none", async () => {
        const p = new GitHubRepositoryProvider(new CurrentCredentials({ GITHUB_TOKEN: validToken }));
        await p.configure({ config: { get: () => undefined, require: () => "" } });
        assert.strictEqual((await p.create(inputs())).outs.created, true);
    });

    it("says what a refused token means, and what to do when there is none", async () => {
        await assert.rejects(
            provider({ "github:token": "ghp_expired" }).create(inputs()),
            /GitHub answered 401 \(the token is invalid or expired\): Bad credentials/,
        );
        await assert.rejects(
            provider({}).create(inputs()),
            /no GitHub token for this operation: export GITHUB_TOKEN=<token>, or pulumi config set github:token <token> --secret/,
        );
    });
});
