// The shared-repository provider's contract with GitHub's REST API, against a
// small HTTP server on 127.0.0.1 that answers as GitHub does for these routes.
import * as assert from "assert";
import { CurrentCredentials } from "../../components/github/credentials";
import {
    GitHubRepositoryProvider,
    GitHubRepositoryState,
    ownershipTopic,
} from "../../components/github/repository-provider";
import { GitHubFake, unprocessable, writes } from "./support/github-fake";

describe("the GitHub repository provider", () => {
    const gh = new GitHubFake();
    before(() => gh.start());
    after(() => gh.stop());
    beforeEach(() => gh.reset());

    /** A provider as the engine runs it: configured with the stack's config, the environment left empty. */
    const provider = (config: Record<string, string> = { "github:token": gh.validToken }) => {
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
        apiUrl: gh.url,
        ...extra,
    });

    it("creates a missing repository, private and auto-initialised, in the organization, and marks it as the program's", async () => {
        const { id, outs } = await provider().create(inputs());
        assert.strictEqual(id, "acme-platform/fleet-infra");
        assert.strictEqual(outs.created, true);
        const post = gh.calls.find((c) => c.method === "POST")!;
        assert.strictEqual(post.url, "/orgs/acme-platform/repos");
        assert.deepStrictEqual(
            { ...post.body, description: undefined },
            { name: "fleet-infra", private: true, auto_init: true, description: undefined },
        );
        assert.strictEqual(post.auth, "Bearer ghp_local_test");
        assert.deepStrictEqual(gh.repos.get("acme-platform/fleet-infra")!.topics, [ownershipTopic]);
    });

    it("adopts a repository the program marked, writing nothing", async () => {
        gh.repo("acme-platform/fleet-infra", { topics: ["gitops", ownershipTopic] });
        const { outs } = await provider().create(inputs());
        assert.strictEqual(outs.created, false);
        assert.strictEqual(outs.htmlUrl, "https://github.com/acme-platform/fleet-infra");
        assert.deepStrictEqual(writes(gh.calls), []);
    });

    it("refuses a repository it did not create, naming it and the setting, in preview and in up, writing nothing", async () => {
        gh.repo("acme-platform/fleet-infra", { topics: ["flux"] });
        const check = await provider().check({} as GitHubRepositoryState, inputs());
        assert.strictEqual(check.failures.length, 1);
        assert.match(
            check.failures[0].reason,
            /acme-platform\/fleet-infra already exists and this program did not create it/,
        );
        assert.match(check.failures[0].reason, /pulumi config set adoptExistingRepository true/);
        await assert.rejects(
            provider().create(inputs()),
            /acme-platform\/fleet-infra already exists .*adoptExistingRepository/,
        );
        assert.deepStrictEqual(writes(gh.calls), []);
        assert.deepStrictEqual(gh.repos.get("acme-platform/fleet-infra")!.topics, ["flux"]);
    });

    it("does not look the repository up again in preview once the stack holds it", async () => {
        const check = await provider().check(inputs(), inputs({ description: "changed" }));
        assert.deepStrictEqual(check.failures, []);
        assert.deepStrictEqual(gh.calls, []);
    });

    it("adopts a repository it did not create when the stack allows it, marking it and keeping its topics", async () => {
        gh.repo("acme-platform/fleet-infra", { topics: ["flux"] });
        assert.deepStrictEqual(
            (await provider().check({} as GitHubRepositoryState, inputs({ adoptExisting: true }))).failures,
            [],
        );
        const { outs } = await provider().create(inputs({ adoptExisting: true }));
        assert.strictEqual(outs.created, false);
        assert.deepStrictEqual(writes(gh.calls), ["PUT /repos/acme-platform/fleet-infra/topics"]);
        assert.deepStrictEqual(gh.repos.get("acme-platform/fleet-infra")!.topics, ["flux", ownershipTopic]);
    });

    it("adopts the repository another environment is creating at the same moment, once it carries the mark", async () => {
        const p = provider();
        p.markWaitMs = 5_000;
        // Another environment wins the race: its repository exists now, its mark a moment later.
        gh.ahead.push((c) => {
            if (c.method !== "POST" || gh.repos.has("acme-platform/fleet-infra")) return undefined;
            gh.repo("acme-platform/fleet-infra");
            setTimeout(() => (gh.repos.get("acme-platform/fleet-infra")!.topics = [ownershipTopic]), 700);
            return { status: 422, json: unprocessable.nameExists };
        });
        const { outs } = await p.create(inputs());
        assert.strictEqual(outs.created, false);
        assert.deepStrictEqual(writes(gh.calls), ["POST /orgs/acme-platform/repos"]);
    });

    it("reports a 422 other than a taken name with GitHub's field errors, without waiting for another environment", async () => {
        const p = provider();
        p.markWaitMs = 300;
        const invalid = {
            resource: "Repository",
            code: "custom",
            field: "name",
            message: "name may only contain alphanumerics",
        };
        gh.fail(
            { status: 422, json: { message: "Repository creation failed.", errors: [invalid] } },
            1,
            (c) => c.method === "POST",
        );
        await assert.rejects(
            p.create(inputs()),
            /^Error: creating acme-platform\/fleet-infra: GitHub answered 422: Repository creation failed\.; name: name may only contain/,
        );
        assert.deepStrictEqual(writes(gh.calls), ["POST /orgs/acme-platform/repos"]);
    });

    it("calls GitHub through the retrying client: a 502 on the look-up is tried again", async () => {
        gh.fail({ status: 502, json: { message: "Server Error" } }, 2);
        const p = new GitHubRepositoryProvider(new CurrentCredentials({ GITHUB_TOKEN: gh.validToken }), {
            backoffMs: 1,
        });
        assert.strictEqual((await p.create(inputs())).outs.created, true);
        assert.deepStrictEqual(
            gh.calls.slice(0, 3).map((c) => `${c.method} ${c.url}`),
            Array(3).fill("GET /repos/acme-platform/fleet-infra"),
        );
    });

    it("reports the repository's real visibility, so a public repository is drift when repositoryPrivate is true", async () => {
        gh.repo("acme-platform/fleet-infra", { topics: [ownershipTopic] });
        const p = provider();
        const { outs } = await p.create(inputs());
        gh.repos.get("acme-platform/fleet-infra")!.private = false; // made public by hand
        const refreshed = await p.read("acme-platform/fleet-infra", outs);
        assert.strictEqual(refreshed.props.private, false);
        const diff = await p.diff("acme-platform/fleet-infra", refreshed.props, inputs());
        assert.strictEqual(diff.changes, true);
        const updated = await p.update("acme-platform/fleet-infra", refreshed.props, inputs());
        assert.strictEqual(updated.outs.private, true);
        assert.strictEqual(gh.repos.get("acme-platform/fleet-infra")!.private, true);
    });

    it("creates in the token's own account when githubOwner is that user", async () => {
        gh.tokenLogin = "jane";
        const { outs } = await provider().create(inputs({ owner: "jane" }));
        assert.strictEqual(outs.created, true);
        assert.deepStrictEqual(writes(gh.calls), ["POST /user/repos", "PUT /repos/jane/fleet-infra/topics"]);
    });

    it("refuses a githubOwner that is a user other than the token's, before creating anything", async () => {
        gh.tokenLogin = "jane";
        const check = await provider().check({} as GitHubRepositoryState, inputs({ owner: "bob" }));
        assert.match(
            check.failures[0]?.reason ?? "",
            /githubOwner bob is a GitHub user, and the token belongs to jane/,
        );
        await assert.rejects(
            provider().create(inputs({ owner: "bob" })),
            /bob\/fleet-infra would be created as jane\/fleet-infra/,
        );
        assert.deepStrictEqual(writes(gh.calls), []);
        assert.deepStrictEqual([...gh.repos.keys()], []);
    });

    it("keeps the repository on destroy unless the stack opted in", async () => {
        gh.repo("acme-platform/fleet-infra");
        await provider().delete("acme-platform/fleet-infra", inputs());
        assert.deepStrictEqual(gh.calls, []);
        assert.ok(gh.repos.has("acme-platform/fleet-infra"));
        await provider().delete("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true }));
        assert.ok(!gh.repos.has("acme-platform/fleet-infra"));
    });

    it("refuses to delete the repository while another environment's clusters/<env>/ is in it, naming it", async () => {
        gh.repo("acme-platform/fleet-infra", { clusters: ["production", "staging"] });
        await assert.rejects(
            provider().delete("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true })),
            /refusing to delete acme-platform\/fleet-infra: clusters\/production\/ is still on branch main, so production still syncs from it/,
        );
        assert.deepStrictEqual(writes(gh.calls), []);
        gh.repos.get("acme-platform/fleet-infra")!.clusters = ["staging"]; // production destroyed; only our own folder left
        await provider().delete("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true }));
        assert.ok(!gh.repos.has("acme-platform/fleet-infra"));
    });

    it("says that deleting the repository needs the delete_repo scope when GitHub refuses it", async () => {
        gh.repo("acme-platform/fleet-infra");
        gh.fail(
            { status: 403, json: { message: "Must have admin rights to Repository." } },
            1,
            (c) => c.method === "DELETE",
        );
        await assert.rejects(
            provider().delete("acme-platform/fleet-infra", inputs({ deleteOnDestroy: true })),
            /GitHub answered 403 \(deleting a repository needs the delete_repo scope \(classic token\) or Administration write \(fine-grained\)/,
        );
        assert.ok(gh.repos.has("acme-platform/fleet-infra"));
    });

    it("keeps no token in its inputs or outputs, and rewrites a state an older version stored one in", async () => {
        const p = provider();
        const { outs } = await p.create(inputs());
        assert.ok(!JSON.stringify(outs).includes(gh.validToken), "the token is in the outputs");
        assert.strictEqual((await p.diff("acme-platform/fleet-infra", outs, inputs())).changes, false);
        const legacy = { ...outs, token: "ghp_old_stored" } as GitHubRepositoryState;
        assert.strictEqual((await p.diff("acme-platform/fleet-infra", legacy, inputs())).changes, true);
        const updated = await p.update("acme-platform/fleet-infra", legacy, inputs());
        assert.ok(!("token" in updated.outs), "the update kept the stored token");
    });

    it("acts with the token the user has now: after a rotation, destroy works and the old token is never sent", async () => {
        const { outs } = await provider({ "github:token": "ghp_local_test" }).create(inputs({ deleteOnDestroy: true }));
        gh.validToken = "ghp_rotated"; // the old token is revoked
        gh.calls = [];
        await provider({ "github:token": "ghp_rotated" }).delete("acme-platform/fleet-infra", outs);
        assert.ok(!gh.repos.has("acme-platform/fleet-infra"));
        assert.ok(
            gh.calls.every((c) => c.auth === "Bearer ghp_rotated"),
            gh.calls.map((c) => c.auth).join(", "),
        );
    });

    it("takes the token from GITHUB_TOKEN when the stack's config has none", async () => {
        const p = new GitHubRepositoryProvider(new CurrentCredentials({ GITHUB_TOKEN: gh.validToken }));
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
            /no GitHub token for this operation: export GITHUB_TOKEN=<token>, or pulumi config set github:token --secret, which asks for it \(the token in use now/,
        );
    });
});
