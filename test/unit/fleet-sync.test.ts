// The fleet-sync provider against real git repositories in a temp folder: one
// commit per change, none without, shared paths survive an environment's destroy,
// and concurrent environments do not lose each other's commits.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fleetFilesProvider, FleetFilesState } from "../../components/fleet-sync/provider";
import { fleetOwnership } from "../../components/fleet-tree";

const token = "ghp_secret_token_for_redaction_test_0000";

function git(dir: string, ...args: string[]): string {
    return execFileSync("git", args, { cwd: dir, encoding: "utf8", env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } }).trim();
}

function state(url: string, environment: string, files: Record<string, string>): FleetFilesState {
    return {
        url,
        branch: "main",
        auth: { kind: "token", token },
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
        const { outs } = await fleetFilesProvider.create!(state(remote, "staging", tree("staging")));
        assert.strictEqual(commits(), 1);
        assert.deepStrictEqual(listed(), Object.keys(tree("staging")).sort());
        assert.strictEqual(outs!.commit, git(remote, "rev-parse", "main"));
    });

    it("pushes nothing when nothing changed, and reports no diff", async () => {
        const first = await fleetFilesProvider.create!(state(remote, "staging", tree("staging")));
        const diff = await fleetFilesProvider.diff!("id", first.outs!, state(remote, "staging", tree("staging")));
        assert.strictEqual(diff.changes, false);
        const again = await fleetFilesProvider.update!("id", first.outs!, state(remote, "staging", tree("staging")));
        assert.strictEqual(commits(), 1);
        assert.strictEqual(again.outs!.commit, first.outs!.commit);
    });

    it("applies a change and a removal as one commit, leaving files it never managed", async () => {
        const first = await fleetFilesProvider.create!(state(remote, "staging", tree("staging", { "apps/base/podinfo/old.yaml": "x\n" })));
        // Someone adds a file by hand.
        const clone = path.join(root, "clone");
        git(root, "clone", "--quiet", remote, clone);
        fs.writeFileSync(path.join(clone, "README.md"), "hand-written\n");
        git(clone, "add", "README.md");
        git(clone, "-c", "user.name=h", "-c", "user.email=h@x", "commit", "--quiet", "-m", "readme");
        git(clone, "push", "--quiet", "origin", "main");

        const next = tree("staging", { [`clusters/staging/apps.yaml`]: "path: changed\n" });
        const diff = await fleetFilesProvider.diff!("id", first.outs!, state(remote, "staging", next));
        assert.strictEqual(diff.changes, true);
        await fleetFilesProvider.update!("id", first.outs!, state(remote, "staging", next));
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
        const staging = await fleetFilesProvider.create!(state(remote, "staging", tree("staging")));
        await fleetFilesProvider.create!(state(remote, "production", tree("production")));
        await fleetFilesProvider.delete!("id", staging.outs!);
        assert.deepStrictEqual(listed(), [
            "apps/base/podinfo/deployment.yaml",
            "apps/production/kustomization.yaml",
            "clusters/production/apps.yaml",
            "infrastructure/configs/kustomization.yaml",
        ]);
    });

    it("keeps every environment's commit when they push at once", async () => {
        const envs = ["staging", "production", "qa", "dev"];
        await Promise.all(envs.map((env) => fleetFilesProvider.create!(state(remote, env, tree(env)))));
        for (const env of envs) assert.strictEqual(show(`clusters/${env}/apps.yaml`), `path: ./apps/${env}`);
        assert.strictEqual(commits(), envs.length, "one commit per environment");
    });

    it("reads what the branch holds now on refresh", async () => {
        const first = await fleetFilesProvider.create!(state(remote, "staging", tree("staging")));
        const clone = path.join(root, "clone");
        git(root, "clone", "--quiet", remote, clone);
        fs.writeFileSync(path.join(clone, "clusters/staging/apps.yaml"), "edited by hand\n");
        git(clone, "-c", "user.name=h", "-c", "user.email=h@x", "commit", "--quiet", "-am", "drift");
        git(clone, "push", "--quiet", "origin", "main");
        const read = await fleetFilesProvider.read!("id", first.outs!);
        assert.strictEqual(read.props!.files["clusters/staging/apps.yaml"], "edited by hand\n");
        const diff = await fleetFilesProvider.diff!("id", read.props!, state(remote, "staging", tree("staging")));
        assert.strictEqual(diff.changes, true);
    });

    it("rejects unsafe paths before touching the repository", async () => {
        const check = await fleetFilesProvider.check!(state(remote, "staging", {}), state(remote, "staging", { "../escape.yaml": "x", ".git/config": "x" }));
        assert.strictEqual(check.failures!.length, 1);
        assert.match(check.failures![0].reason, /\.\.\/escape\.yaml.*\.git\/config/);
    });

    it("never repeats the credential in an error", async () => {
        const bad = state(path.join(root, "missing.git"), "staging", tree("staging"));
        (bad.auth as { token: string }).token = token;
        await assert.rejects(fleetFilesProvider.create!(bad), (err: Error) => {
            assert.ok(!err.message.includes(token));
            assert.match(err.message, /git ls-remote/);
            return true;
        });
    });
});
