// The dynamic providers as the engine runs them: closure-serialized by the SDK
// (the text stored in the state as __provider), then loaded from that text in
// another module. Serialization rewrites classes, so what holds for the class
// in-process (an error's message, `instanceof`) must be proven on this form:
// a serialized `class GitError extends Error` once lost its message, and two
// environments pushing at once then failed with `error: undefined`.
import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { FleetFilesProvider, FleetFilesState } from "../../components/fleet-sync/provider";
import { fleetOwnership } from "../../components/fleet-tree";
import { GitHubDeployKeyProvider } from "../../components/github/deploy-key-provider";
import { GitHubRepositoryProvider, GitHubRepositoryState } from "../../components/github/repository-provider";
import { GitHttpServer, startGitHttpServer } from "../support/git-http-server";
import { GitHubFake } from "./support/github-fake";
import { rejection } from "./support/rejection";

const token = "ghp_serialized_provider_test_token_0000";

/** The provider after a round trip through the SDK's closure serialization, configured as the engine does. */
async function asTheEngineRunsIt<T extends object>(provider: T, dir: string): Promise<T> {
    const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    const file = path.join(dir, `provider-${Math.random().toString(36).slice(2)}.js`);
    fs.writeFileSync(file, text);
    const loaded = (require(file) as { handler: () => T }).handler();
    const config = { get: (k: string) => (k === "github:token" ? token : undefined), require: () => token };
    await (loaded as { configure?: (req: unknown) => Promise<void> }).configure?.({ config });
    return loaded;
}

function fleetState(url: string, environment: string): FleetFilesState {
    return {
        url,
        branch: "main",
        access: { kind: "token" },
        environment,
        files: {
            [`clusters/${environment}/apps.yaml`]: `path: ./apps/${environment}\n`,
            "apps/base/podinfo/deployment.yaml": "kind: Deployment\n",
        },
        ownedPrefixes: fleetOwnership(environment).owned,
        author: { name: "test", email: "test@example.invalid" },
    };
}

describe("the dynamic providers, serialized as the engine runs them", function () {
    this.timeout(60_000);
    let dir: string;
    let server: GitHttpServer;

    before(async () => {
        // Inside the project, so the serialized text's require() of npm packages resolves.
        dir = fs.mkdtempSync(path.join(__dirname, ".serialized-"));
        server = await startGitHttpServer(token);
    });
    after(async () => {
        await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a git failure reaches the engine as an Error with git's own words and what to do", async () => {
        const provider = await asTheEngineRunsIt(new FleetFilesProvider(), dir);
        const url = `http://127.0.0.1:${await closedPort()}/fleet.git`;
        const err = await rejection(provider.create(fleetState(url, "staging")));
        assert.ok(err instanceof Error, `not an Error: ${String(err)}`);
        assert.ok(typeof err.stack === "string", "no stack: the engine would log `[object Object]: undefined`");
        assert.ok(err.message.startsWith(`git ls-remote --heads origin failed against ${url}: `), err.message);
        assert.match(err.message, /Failed to connect|Connection refused|Couldn't connect/);
        assert.match(err.message, /cannot be reached: start it .* then run the same command again; nothing was pushed/);
        const destroyErr = await rejection(provider.delete("id", fleetState(url, "staging")));
        assert.ok(destroyErr.message.includes(`failed against ${url}`), destroyErr.message);
    });

    it("two environments pushing at once both land, each as one commit, when one push is rejected", async () => {
        const url = server.createRepository("race");
        // Each push waits in the server's pre-receive hook, so both are in flight at once
        // and the second ref update is refused: the provider must retry on the new head.
        const hook = path.join(bareDir(server, "race"), "hooks", "pre-receive");
        fs.writeFileSync(hook, "#!/bin/sh\ncat >/dev/null\nsleep 1\n", { mode: 0o755 });
        const [staging, production] = await Promise.all([
            asTheEngineRunsIt(new FleetFilesProvider(), dir),
            asTheEngineRunsIt(new FleetFilesProvider(), dir),
        ]);
        const results = await Promise.allSettled([
            staging.create(fleetState(url, "staging")),
            production.create(fleetState(url, "production")),
        ]);
        for (const r of results)
            assert.strictEqual(r.status, "fulfilled", r.status === "rejected" ? (r.reason as Error).message : "");
        const log = server.gitIn("race", ["log", "--format=%s", "main"]).trim().split("\n").sort();
        assert.deepStrictEqual(log, [
            "fleet(production): sync the GitOps tree",
            "fleet(staging): sync the GitOps tree",
        ]);
        const files = server.gitIn("race", ["ls-tree", "-r", "--name-only", "main"]).trim().split("\n");
        assert.ok(
            files.includes("clusters/staging/apps.yaml") && files.includes("clusters/production/apps.yaml"),
            files.join(", "),
        );
    });

    it("a GitHub API that cannot be reached is named with the reason, not `fetch failed`", async () => {
        const provider = await asTheEngineRunsIt(new GitHubRepositoryProvider(), dir);
        const inputs: GitHubRepositoryState = {
            owner: "acme",
            name: "fleet-infra",
            private: true,
            description: "",
            deleteOnDestroy: false,
            adoptExisting: false,
            environment: "staging",
            branch: "main",
            apiUrl: `http://127.0.0.1:${await closedPort()}`,
        };
        const err = await rejection(provider.create(inputs));
        assert.ok(err instanceof Error && typeof err.stack === "string");
        assert.ok(
            err.message.startsWith(`GET ${inputs.apiUrl}/repos/acme/fleet-infra failed: ECONNREFUSED`),
            err.message,
        );
        assert.doesNotMatch(err.message, new RegExp(token));
    });

    it("the deploy key provider registers, reads and deletes a key with the token from the stack's config, and fails with GitHub's words", async () => {
        const gh = new GitHubFake();
        await gh.start();
        try {
            gh.reset();
            gh.validToken = token;
            gh.repo("acme/fleet-infra");
            const provider = await asTheEngineRunsIt(new GitHubDeployKeyProvider(undefined, { timeoutMs: 300 }), dir);
            const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISerialized";
            const inputs = {
                owner: "acme",
                repository: "fleet-infra",
                title: "flux-staging",
                key,
                readOnly: true,
                apiUrl: gh.url,
            };
            const { id, outs } = await provider.create(inputs);
            assert.strictEqual((await provider.read(id, outs)).id, id);
            await provider.delete(id, outs);
            assert.deepStrictEqual(gh.repos.get("acme/fleet-infra")!.keys, []);
            assert.ok(gh.calls.every((c) => c.auth === `Bearer ${token}`));
            const err = await rejection(provider.create({ ...inputs, key: "not a key" }));
            assert.ok(err instanceof Error && typeof err.stack === "string");
            assert.match(
                err.message,
                /^registering the deploy key flux-staging on acme\/fleet-infra: GitHub answered 422: Validation Failed; key: key is invalid/,
            );
        } finally {
            await gh.stop();
        }
    });
});

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    return port;
}

/** The bare repository's folder on the server's disk. */
function bareDir(server: GitHttpServer, name: string): string {
    return server.gitIn(name, ["rev-parse", "--absolute-git-dir"]).trim();
}
