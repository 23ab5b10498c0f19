// The check that Flux's deploy key reads the fleet repository, against a real
// sshd Git server: a refused key fails within the grace window with the public
// key and the next command; a key authorized during the window, or before,
// passes; the provider keeps its message when closure-serialized as the engine
// runs it; it re-checks only when the key, URL or host keys change; and on an
// SSH server nothing reaches the cluster before it passed.
import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { GitOpsEnvironment } from "../../components/gitops-environment";
import {
    DeployKeyAccessInputs,
    DeployKeyAccessProvider,
    checkReadAccess,
} from "../../components/deploy-key-access/provider";
import { upCommand } from "../../stacks/pulumi-command";
import { loadSettings } from "../../stacks/settings";
import { GitSshServer, SshKeyPair, startGitSshServer } from "../../local-cluster/git-server";
import { installMocks, settle, sshGitConfig } from "../../harness/mocks";
import { rejection } from "./support/rejection";

describe("the deploy key's read-access check", function () {
    this.timeout(60_000);
    let git: GitSshServer;
    let url: string;
    let key: SshKeyPair;
    let dir: string;
    const inputs = (over: Partial<DeployKeyAccessInputs> = {}): DeployKeyAccessInputs => ({
        url,
        knownHosts: git.knownHosts,
        privateKey: key.privateKey,
        publicKey: key.publicKey.split(" ").slice(0, 2).join(" "),
        stack: "staging",
        upCommand: "npm run up -- staging",
        graceSeconds: 3,
        ...over,
    });

    before(async () => {
        git = await startGitSshServer();
        url = git.createRepository("fleet");
        // Inside the project, so the serialized provider's require() of modules resolves.
        dir = fs.mkdtempSync(path.join(__dirname, ".serialized-"));
    });
    beforeEach(() => (key = git.newKey("flux-staging")));
    after(async () => {
        await git?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("fails a key the server refuses within the grace window, printing the public key and the next command", async () => {
        const started = Date.now();
        const err = await rejection(checkReadAccess(inputs()));
        const seconds = (Date.now() - started) / 1000;
        assert.ok(seconds >= 2 && seconds < 8, `took ${seconds} s with a 3 s grace window`);
        assert.ok(
            err.message.startsWith(`the fleet repository at ${url} refuses the deploy key of stack staging (git: `),
            err.message,
        );
        assert.match(err.message, /Permission denied \(publickey/);
        assert.ok(err.message.includes(`READ-ONLY`), err.message);
        assert.ok(err.message.includes(`\n    ${inputs().publicKey}\n`), err.message);
        assert.ok(err.message.endsWith("then run: npm run up -- staging"), err.message);
        assert.ok(
            !err.message.includes("PRIVATE KEY") && !err.message.includes(key.privateKey.split("\n")[1]),
            "the message holds the private key",
        );
    });

    it("passes at once for an authorized key, and when the server authorizes it during the grace window", async () => {
        git.authorize(key.publicKey, "read");
        const started = Date.now();
        await checkReadAccess(inputs());
        assert.ok(Date.now() - started < 2000, `an authorized key took ${Date.now() - started} ms`);

        const late = git.newKey("flux-late");
        setTimeout(() => git.authorize(late.publicKey, "read"), 1200);
        await checkReadAccess(inputs({ privateKey: late.privateKey, publicKey: late.publicKey, graceSeconds: 6 }));
    });

    it("says which setting to fix for a wrong host key or an unreachable server, without waiting out the window", async () => {
        git.authorize(key.publicKey, "read");
        const other = `[127.0.0.1]:${git.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`;
        let started = Date.now();
        const hostKey = await rejection(checkReadAccess(inputs({ knownHosts: other, graceSeconds: 20 })));
        assert.ok(Date.now() - started < 5000, "a host key mismatch waited out the grace window");
        assert.match(
            hostKey.message,
            /does not present a host key listed in the setting gitKnownHosts .*then run: npm run up -- staging$/s,
        );

        started = Date.now();
        const down = await rejection(
            checkReadAccess(inputs({ url: "ssh://git@127.0.0.1:1/fleet.git", graceSeconds: 20 })),
        );
        assert.ok(Date.now() - started < 5000, "an unreachable server waited out the grace window");
        assert.match(
            down.message,
            /^cannot reach the Git server of ssh:\/\/git@127\.0\.0\.1:1\/fleet\.git .*Connection refused.*start it \(or fix gitUrl\)/,
        );
    });

    it("keeps its message when closure-serialized as the engine runs it, and stores no private key", async () => {
        const { text } = await pulumi.runtime.serializeFunction(() => new DeployKeyAccessProvider(), {
            allowSecrets: true,
        });
        const file = path.join(dir, "provider.js");
        fs.writeFileSync(file, text);
        const provider = (require(file) as { handler: () => DeployKeyAccessProvider }).handler();
        const err = await rejection(provider.create(inputs({ graceSeconds: 1 })));
        assert.ok(err instanceof Error && typeof err.stack === "string", `not an Error: ${String(err)}`);
        assert.match(err.message, /refuses the deploy key of stack staging/);

        git.authorize(key.publicKey, "read");
        const created = await provider.create(inputs());
        assert.deepStrictEqual(Object.keys(created.outs ?? {}).sort(), ["knownHosts", "publicKey", "url"]);
    });

    it("checks again only when the key, the URL or the host keys change", async () => {
        const provider = new DeployKeyAccessProvider();
        const olds = { url, knownHosts: git.knownHosts, publicKey: inputs().publicKey };
        assert.strictEqual(
            (await provider.diff("id", olds, inputs({ upCommand: "pulumi up --stack staging", graceSeconds: 9 })))
                .changes,
            false,
        );
        for (const change of [{ url: `${url}x` }, { knownHosts: "x" }, { publicKey: "ssh-ed25519 AAAA" }]) {
            assert.strictEqual((await provider.diff("id", olds, inputs(change))).changes, true, JSON.stringify(change));
        }
    });

    it("prints the up command the way the user reaches the stack", () => {
        assert.strictEqual(
            upCommand("staging", (n) => (n === "GITOPS_KYVERNO_CLI" ? "npm" : undefined)),
            "npm run up -- staging",
        );
        assert.strictEqual(
            upCommand("staging", () => undefined),
            "pulumi up --stack staging",
        );
    });
});

describe("an environment on an SSH Git server", () => {
    interface Seen {
        type: string;
        resource: pulumi.Resource;
        dependsOn: pulumi.Resource[];
        parent?: pulumi.Resource;
        props: Record<string, unknown>;
    }
    const seen: Seen[] = [];
    let env: GitOpsEnvironment;

    before(async () => {
        installMocks("staging", sshGitConfig(), ["gitWriteKey"]);
        const capture: pulumi.ResourceTransformation = (args) => {
            const deps = args.opts.dependsOn;
            const dependsOn = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
            seen.push({
                type: args.type,
                resource: args.resource,
                dependsOn,
                parent: args.opts.parent,
                props: args.props,
            });
            return undefined;
        };
        env = new GitOpsEnvironment("staging", { settings: loadSettings("staging") }, { transformations: [capture] });
        await settle();
    });

    it("touches the cluster only once the deploy key is shown to read the repository", () => {
        assert.ok(env.deployKeyAccess, "no read-access check on an SSH Git server");
        const cluster = seen.filter((s) => s.type.startsWith("kubernetes:"));
        assert.ok(cluster.length >= 5, "fewer Kubernetes resources than expected");
        for (const r of cluster) {
            let waits = false;
            for (let at: Seen | undefined = r; at && !waits; at = seen.find((x) => x.resource === at!.parent)) {
                waits = at.dependsOn.includes(env.deployKeyAccess!);
            }
            assert.ok(waits, `${r.type} can reach the cluster before the deploy key is checked`);
        }
    });

    it("checks the URL Flux clones with the key Flux gets, as a secret", async () => {
        const check = seen.find((s) => s.resource === env.deployKeyAccess)!;
        assert.ok(check.dependsOn.includes(env.deployKey));
        const privateKey = check.props.privateKey as pulumi.Output<string>;
        assert.ok(await pulumi.isSecret(privateKey), "the private key is no secret input");
        assert.strictEqual(await valueOf(check.props.url), sshGitConfig().gitUrl);
        assert.strictEqual(check.props.knownHosts, sshGitConfig().gitKnownHosts);
        assert.strictEqual(await valueOf(check.props.upCommand), "pulumi up --stack staging");
    });
});

function valueOf(o: unknown): Promise<unknown> {
    return new Promise((resolve) => pulumi.output(o as pulumi.Input<string>).apply((v) => resolve(v)));
}
