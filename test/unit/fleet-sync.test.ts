// The fleet-sync provider against real git repositories in a temp folder: one
// commit per change, none without, shared paths survive an environment's destroy,
// concurrent environments do not lose each other's commits, and an environment
// deployed from an older checkout does not revert what another one pushed.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CurrentCredentials } from "../../components/github/credentials";
import { FleetFilesProvider, FleetFilesState } from "../../components/fleet-sync/provider";
import { fleetOwnership } from "../../components/fleet-tree";
import { startGitHttpServer } from "../support/git-http-server";

const token = "ghp_secret_token_for_redaction_test_0000";

/** The provider as the engine runs it, with the stack's config holding this token. */
function providerWith(githubToken: string): FleetFilesProvider {
    const p = new FleetFilesProvider(new CurrentCredentials({}));
    void p.configure({
        config: { get: (k: string) => (k === "github:token" ? githubToken : undefined), require: () => githubToken },
    });
    return p;
}
const fleetFilesProvider = providerWith(token);

function git(dir: string, ...args: string[]): string {
    return execFileSync("git", args, {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    }).trim();
}

function state(url: string, environment: string, files: Record<string, string>): FleetFilesState {
    return {
        url,
        branch: "main",
        access: { kind: "token" },
        environment,
        files,
        ownedPrefixes: fleetOwnership(environment).owned,
        author: { name: "test", email: "test@example.invalid" },
    };
}

function tree(environment: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        "apps/base/podinfo/deployment.yaml": "kind: Deployment\n",
        "infrastructure/configs/kustomization.yaml": "resources: []\n",
        [`apps/${environment}/kustomization.yaml`]: `# ${environment}\n`,
        [`clusters/${environment}/apps.yaml`]: `path: ./apps/${environment}\n`,
        ...extra,
    };
}

describe("the fleet-sync provider on a real git repository", function () {
    this.timeout(120_000);
    let root: string;
    let remote: string;
    const commits = () => Number(git(remote, "rev-list", "--count", "main"));
    const show = (p: string) => git(remote, "show", `main:${p}`);
    const listed = () => git(remote, "ls-tree", "-r", "--name-only", "main").split("\n").filter(Boolean).sort();

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-sync-test-"));
        remote = path.join(root, "fleet.git");
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", remote);
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("creates the branch in an empty repository with one commit holding the whole tree", async () => {
        const { outs } = await fleetFilesProvider.create(state(remote, "staging", tree("staging")));
        assert.strictEqual(commits(), 1);
        assert.deepStrictEqual(listed(), Object.keys(tree("staging")).sort());
        assert.strictEqual(outs!.commit, git(remote, "rev-parse", "main"));
    });

    it("pushes nothing when nothing changed, and reports no diff", async () => {
        const first = await fleetFilesProvider.create(state(remote, "staging", tree("staging")));
        const diff = await fleetFilesProvider.diff("id", first.outs!, state(remote, "staging", tree("staging")));
        assert.strictEqual(diff.changes, false);
        const again = await fleetFilesProvider.update("id", first.outs!, state(remote, "staging", tree("staging")));
        assert.strictEqual(commits(), 1);
        assert.strictEqual(again.outs!.commit, first.outs!.commit);
    });

    it("applies a change and a removal as one commit, leaving files it never managed", async () => {
        const first = await fleetFilesProvider.create(
            state(remote, "staging", tree("staging", { "apps/base/podinfo/old.yaml": "x\n" })),
        );
        // Someone adds a file by hand.
        const clone = path.join(root, "clone");
        git(root, "clone", "--quiet", remote, clone);
        fs.writeFileSync(path.join(clone, "README.md"), "hand-written\n");
        git(clone, "add", "README.md");
        git(clone, "-c", "user.name=h", "-c", "user.email=h@x", "commit", "--quiet", "-m", "readme");
        git(clone, "push", "--quiet", "origin", "main");

        const next = tree("staging", { [`clusters/staging/apps.yaml`]: "path: changed\n" });
        const diff = await fleetFilesProvider.diff("id", first.outs!, state(remote, "staging", next));
        assert.strictEqual(diff.changes, true);
        await fleetFilesProvider.update("id", first.outs!, state(remote, "staging", next));
        assert.strictEqual(commits(), 3);
        assert.strictEqual(show("clusters/staging/apps.yaml"), "path: changed");
        assert.ok(!listed().includes("apps/base/podinfo/old.yaml"), "the dropped file is still there");
        assert.strictEqual(show("README.md"), "hand-written");
        const message = git(remote, "log", "-1", "--format=%B", "main");
        assert.match(message, /^fleet\(staging\): sync the GitOps tree/);
        assert.match(message, /^M clusters\/staging\/apps\.yaml$/m);
        assert.match(message, /^D apps\/base\/podinfo\/old\.yaml$/m);
    });

    it("destroys only the environment's own paths", async () => {
        const staging = await fleetFilesProvider.create(state(remote, "staging", tree("staging")));
        await fleetFilesProvider.create(state(remote, "production", tree("production")));
        await fleetFilesProvider.delete("id", staging.outs!);
        assert.deepStrictEqual(listed(), [
            "apps/base/podinfo/deployment.yaml",
            "apps/production/kustomization.yaml",
            "clusters/production/apps.yaml",
            "infrastructure/configs/kustomization.yaml",
        ]);
    });

    it("keeps every environment's commit when they push at once", async () => {
        const envs = ["staging", "production", "qa", "dev"];
        await Promise.all(envs.map((env) => fleetFilesProvider.create(state(remote, env, tree(env)))));
        for (const env of envs) assert.strictEqual(show(`clusters/${env}/apps.yaml`), `path: ./apps/${env}`);
        assert.strictEqual(commits(), envs.length, "one commit per environment");
    });

    it("reads what the branch holds now on refresh", async () => {
        const first = await fleetFilesProvider.create(state(remote, "staging", tree("staging")));
        const clone = path.join(root, "clone");
        git(root, "clone", "--quiet", remote, clone);
        fs.writeFileSync(path.join(clone, "clusters/staging/apps.yaml"), "edited by hand\n");
        git(clone, "-c", "user.name=h", "-c", "user.email=h@x", "commit", "--quiet", "-am", "drift");
        git(clone, "push", "--quiet", "origin", "main");
        const read = await fleetFilesProvider.read("id", first.outs!);
        assert.strictEqual(read.props!.files["clusters/staging/apps.yaml"], "edited by hand\n");
        const diff = await fleetFilesProvider.diff("id", read.props!, state(remote, "staging", tree("staging")));
        assert.strictEqual(diff.changes, true);
    });

    it("rejects unsafe paths before touching the repository", async () => {
        const check = await fleetFilesProvider.check(
            state(remote, "staging", {}),
            state(remote, "staging", { "../escape.yaml": "x", ".git/config": "x" }),
        );
        assert.strictEqual(check.failures!.length, 1);
        assert.match(check.failures![0].reason, /\.\.\/escape\.yaml.*\.git\/config/);
    });

    it("never repeats the credential in an error, even when the server echoes it", async () => {
        const server = await startGitHttpServer("ghp_the_token_the_server_wants");
        try {
            const url = server.createRepository("fleet");
            await assert.rejects(fleetFilesProvider.create(state(url, "staging", tree("staging"))), (err: Error) => {
                assert.deepStrictEqual(server.seen, [token], "the token did not reach the server");
                assert.ok(!err.message.includes(token), `the error repeats the token: ${err.message}`);
                // The server did send it back: git printed its answer, with the token redacted.
                assert.match(err.message, /git ls-remote .*access denied for credentials \[secret\]/s);
                return true;
            });
        } finally {
            await server.stop();
        }
    });

    describe("two environments deployed from two checkouts", () => {
        const policy = "infrastructure/configs/kustomization.yaml";
        const older = (env: string) => tree(env);
        const newer = (env: string) => tree(env, { [policy]: "resources: [policies/new-policy]\n" });

        it("an update from an older checkout does not revert a shared change another environment pushed", async () => {
            const staging = await fleetFilesProvider.create(state(remote, "staging", older("staging")));
            const production = await fleetFilesProvider.create(state(remote, "production", older("production")));
            // Staging's checkout changes a shared policy and pushes it.
            await fleetFilesProvider.update("id", staging.outs, state(remote, "staging", newer("staging")));
            assert.strictEqual(show(policy), "resources: [policies/new-policy]");
            // Production's checkout predates that change; it changes only its own overlay.
            const overlay = "apps/production/kustomization.yaml";
            const before = commits();
            await fleetFilesProvider.update(
                "id",
                production.outs,
                state(remote, "production", { ...older("production"), [overlay]: "# production, more replicas\n" }),
            );
            assert.strictEqual(commits(), before + 1);
            assert.strictEqual(
                show(policy),
                "resources: [policies/new-policy]",
                "production's update reverted staging's policy change",
            );
            assert.strictEqual(show(overlay), "# production, more replicas");
            assert.deepStrictEqual(
                git(remote, "diff-tree", "--no-commit-id", "--name-only", "-r", "main").split("\n"),
                [overlay],
            );
        });

        it("a new environment from an older checkout adds its own paths and only the shared files the branch lacks", async () => {
            await fleetFilesProvider.create(state(remote, "staging", newer("staging")));
            const extra = "apps/base/podinfo/hpa.yaml";
            await fleetFilesProvider.create(
                state(remote, "production", { ...older("production"), [extra]: "kind: HorizontalPodAutoscaler\n" }),
            );
            assert.strictEqual(
                show(policy),
                "resources: [policies/new-policy]",
                "production's create reverted staging's policy change",
            );
            assert.strictEqual(show(extra), "kind: HorizontalPodAutoscaler");
            const added = git(remote, "diff-tree", "--no-commit-id", "--name-only", "-r", "main").split("\n").sort();
            assert.deepStrictEqual(added, [
                extra,
                "apps/production/kustomization.yaml",
                "clusters/production/apps.yaml",
            ]);
            assert.match(git(remote, "log", "-1", "--format=%B", "main"), /^A apps\/base\/podinfo\/hpa\.yaml$/m);
            assert.doesNotMatch(git(remote, "log", "-1", "--format=%B", "main"), /infrastructure\/configs/);
        });
    });

    describe("credentials", () => {
        it("are no input: a rotated token changes nothing, and every operation uses the one the user has now", async () => {
            const server = await startGitHttpServer("ghp_first_token_000000000000000000000000");
            try {
                const url = server.createRepository("fleet");
                const first = await providerWith("ghp_first_token_000000000000000000000000").create(
                    state(url, "staging", tree("staging")),
                );
                assert.ok(!JSON.stringify(first.outs).includes("ghp_first_token"), "the token is in the state");
                // Rotation: the first token is revoked, the stack's config holds the second.
                server.token = "ghp_second_token_00000000000000000000000";
                server.seen.length = 0;
                const rotated = providerWith("ghp_second_token_00000000000000000000000");
                const diff = await rotated.diff("id", first.outs, state(url, "staging", tree("staging")));
                assert.strictEqual(diff.changes, false, "the rotation alone produced an update");
                const changed = tree("staging", { "clusters/staging/apps.yaml": "path: after rotation\n" });
                const next = await rotated.update("id", first.outs, state(url, "staging", changed));
                assert.strictEqual(
                    server.gitIn("fleet", ["show", "main:clusters/staging/apps.yaml"]),
                    "path: after rotation",
                );
                await rotated.read("id", next.outs);
                await rotated.delete("id", next.outs);
                assert.ok(
                    !server.gitIn("fleet", ["ls-tree", "-r", "--name-only", "main"]).includes("clusters/staging/"),
                    "destroy left staging's paths",
                );
                assert.ok(
                    server.seen.length > 0 &&
                        server.seen.every((t) => t === "ghp_second_token_00000000000000000000000"),
                    server.seen.join(", "),
                );
            } finally {
                await server.stop();
            }
        });

        it("rewrites a state an older version stored a credential in, without it", async () => {
            const first = await fleetFilesProvider.create(state(remote, "staging", tree("staging")));
            const legacy = { ...first.outs, auth: { kind: "token", token: "ghp_stored_long_ago" } } as FleetFilesState;
            assert.strictEqual(
                (await fleetFilesProvider.diff("id", legacy, state(remote, "staging", tree("staging")))).changes,
                true,
            );
            const updated = await fleetFilesProvider.update("id", legacy, state(remote, "staging", tree("staging")));
            assert.ok(!("auth" in updated.outs), "the update kept the stored credential");
            assert.strictEqual(commits(), 1, "rewriting the state pushed a commit");
        });
    });
});
