// The fleet's policies in their CEL form (kyvernoPolicyApi: cel, two
// policies.kyverno.io/v1 MutatingPolicies), run live by the real Kyverno
// admission controller 1.19.1 on the live local cluster: what the loop test
// proves for the ClusterPolicy form, proven for this one. podinfo comes from a
// private registry (the cluster's registry behind a proxy that demands a
// password), which Kyverno reaches only with the docker-registry Secret named
// in kyvernoRegistrySecrets. CEL_LIVE_POLICY_API=legacy runs the same steps on
// the ClusterPolicy form, to compare.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import { readyCondition } from "../../local-cluster/kube-client";
import { findBinary } from "../../local-cluster/util";
import { podinfoRepository } from "../../harness/e2e-world";
import { eventually, ks, LiveWorld } from "../../harness/live-world";

const api = process.env.CEL_LIVE_POLICY_API ?? "cel";
const policyPath = (name: string) =>
    api === "cel"
        ? `/apis/policies.kyverno.io/v1/mutatingpolicies/${name}`
        : `/apis/kyverno.io/v1/clusterpolicies/${name}`;
const policies = ["add-restricted-security-context", "resolve-image-digest"];
const DEPLOYMENT = "/apis/apps/v1/namespaces/podinfo/deployments/podinfo";
const SECRET = "private-registry";
const CONVERGE_SECONDS = 60;
const timings: string[] = [];

/** The cluster's registry behind a proxy that answers 401 to any request without this user's password. */
class PrivateRegistry {
    readonly user = "fleet-reader";
    readonly password = `pw-${process.pid}-${Date.now()}`;
    readonly seen = { anonymous: 0, authorized: 0 };
    private server?: http.Server;
    port = 0;

    constructor(private readonly upstream: string) {}

    get host(): string {
        return `127.0.0.1:${this.port}`;
    }

    async start(): Promise<void> {
        const expected = `Basic ${Buffer.from(`${this.user}:${this.password}`).toString("base64")}`;
        this.server = http.createServer((req, res) => {
            if (req.headers.authorization !== expected) {
                this.seen.anonymous++;
                res.writeHead(401, { "WWW-Authenticate": 'Basic realm="private"', "Content-Type": "application/json" });
                res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
                return;
            }
            this.seen.authorized++;
            const headers = { ...req.headers, host: this.upstream };
            delete headers.authorization;
            const [hostname, port] = this.upstream.split(":");
            const forward = http.request(
                { hostname, port: Number(port), method: req.method, path: req.url, headers },
                (up) => {
                    res.writeHead(up.statusCode ?? 502, up.headers);
                    up.pipe(res);
                },
            );
            forward.on("error", (err) => res.writeHead(502).end(err.message));
            req.pipe(forward);
        });
        await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
        this.port = (this.server.address() as AddressInfo).port;
    }

    /** Down: nothing listens on the port any more (connection refused). */
    async stop(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        server?.closeAllConnections();
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    }

    dockerConfig(): string {
        const auth = Buffer.from(`${this.user}:${this.password}`).toString("base64");
        return JSON.stringify({ auths: { [this.host]: { username: this.user, password: this.password, auth } } });
    }
}

/**
 * `flux ARGS` against the environment's cluster, as world.flux runs it, but without
 * blocking this process: the private registry is a server in this process, and
 * `flux diff`'s server-side dry-run of the Deployment makes Kyverno look its image up
 * there. world.flux (execFileSync) stops the event loop until flux exits, so the lookup
 * went unanswered until the webhook's 15 s timeout ("context deadline exceeded").
 */
async function flux(world: LiveWorld, args: string[], cwd: string): Promise<{ code: number; output: string }> {
    const { kubeconfig, context } = world.env.cluster;
    try {
        const { stdout } = await promisify(execFile)(
            findBinary("flux"),
            [...args, `--kubeconfig=${kubeconfig}`, `--context=${context}`],
            { cwd, encoding: "utf8" },
        );
        return { code: 0, output: stdout };
    } catch (err) {
        const e = err as { code?: number | string; stdout?: string; stderr?: string };
        return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
}

describe(`the fleet policies' ${api} form, live: restricted context, digests from a private registry, no drift, failing closed`, function () {
    this.timeout(6 * 60_000);
    const world = new LiveWorld();
    let registry: PrivateRegistry;
    const timed = (label: string, seconds: number) => timings.push(`${label}: ${seconds.toFixed(1)}s`);
    const describeLoop = () => world.describeLoop(async () => [`registry requests: ${JSON.stringify(registry.seen)}`]);
    const appsMessage = async () => readyCondition(await world.kube.get(ks("apps")))?.message ?? "";
    const createSecret = () =>
        world.kube.request("POST", "/api/v1/namespaces/kyverno/secrets", {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: SECRET, namespace: "kyverno" },
            type: "kubernetes.io/dockerconfigjson",
            data: { ".dockerconfigjson": Buffer.from(registry.dockerConfig()).toString("base64") },
        });
    /** Asks Flux to apply apps again (its dry-run passes through Kyverno) and returns once it has handled the request. */
    const reconcileApps = async (what: string, ready: boolean) => {
        const at = await world.requestReconcile(ks("apps"));
        return eventually(
            what,
            CONVERGE_SECONDS,
            async () => {
                const k = await world.kube.get(ks("apps"));
                const status = readyCondition(k)?.status;
                return k?.status?.lastHandledReconcileAt === at && status === (ready ? "True" : "False")
                    ? true
                    : undefined;
            },
            describeLoop,
        );
    };

    before(async function () {
        this.timeout(4 * 60_000);
        await world.startLive();
        registry = new PrivateRegistry(world.env.live.registry.host);
        await registry.start();
        const overlay = path.join(world.pulumi.projectDir, "fleet", "apps", "staging", "kustomization.yaml");
        fs.writeFileSync(
            overlay,
            fs.readFileSync(overlay, "utf8").replaceAll(world.env.live.registry.host, registry.host),
        );
        await world.pulumi.setConfig("staging", { kyvernoPolicyApi: api, kyvernoRegistrySecrets: SECRET });
    });

    after(async function () {
        this.timeout(3 * 60_000);
        console.log(`      timings:\n${timings.map((t) => `        ${t}`).join("\n")}`);
        for (const entry of world.pulumi?.log ?? [])
            console.log(
                `      pulumi ${entry.args.slice(0, 3).join(" ")}: ${entry.seconds.toFixed(1)}s (exit ${entry.code})`,
            );
        await registry?.stop();
        await world.stop();
    });

    it(`1. up, then within ${CONVERGE_SECONDS}s: both ${api} policies Ready, infra-configs and apps Ready, podinfo from the private registry`, async function () {
        this.timeout(5 * 60_000);
        // The Secret can only go where the program creates the kyverno namespace; as a user would, create it once it exists.
        let stopWatching = false;
        const secretCreated = (async () => {
            while (!stopWatching && !(await world.kube.get("/api/v1/namespaces/kyverno").catch(() => undefined)))
                await new Promise((r) => setTimeout(r, 200));
            if (!stopWatching) await createSecret();
        })();
        try {
            const up = await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);
            timed("pulumi up (fresh stack)", up.seconds);
        } finally {
            stopWatching = true;
        }
        await secretCreated;
        const converged = await eventually(
            `both policies Ready, infra-configs and apps Ready, podinfo pinned to ${registry.host}`,
            CONVERGE_SECONDS,
            async () => {
                for (const name of policies) {
                    const p = await world.kube.get(policyPath(name));
                    const ok =
                        api === "cel"
                            ? p?.status?.conditionStatus?.ready === true
                            : readyCondition(p)?.status === "True";
                    if (!ok) return undefined;
                }
                if (!(await world.ready(ks("infra-configs"))) || !(await world.ready(ks("apps")))) return undefined;
                const image = await world.podinfoImage();
                return (image?.startsWith(`${registry.host}/`) && image.includes("@sha256:")) || undefined;
            },
            describeLoop,
        );
        timed("up returned -> podinfo mutated", converged.seconds);
        // The other form is in the tree but not applied.
        const other =
            api === "cel" ? "/apis/kyverno.io/v1/clusterpolicies" : "/apis/policies.kyverno.io/v1/mutatingpolicies";
        assert.deepEqual(
            (await world.kube.list(other)).map((p) => p.metadata.name),
            [],
            `the ${api === "cel" ? "legacy" : "cel"} form is applied too`,
        );
    });

    it("2. the live Deployment has the restricted securityContext and its image pinned to the registry's digest; Git keeps the tag", async () => {
        const pod = (await world.deployment())?.spec?.template?.spec;
        assert.equal(pod?.securityContext?.runAsNonRoot, true, JSON.stringify(pod?.securityContext));
        assert.equal(pod?.securityContext?.runAsUser, 65532, JSON.stringify(pod?.securityContext));
        assert.equal(pod?.securityContext?.seccompProfile?.type, "RuntimeDefault");
        for (const c of pod?.containers ?? []) {
            assert.deepEqual(
                c.securityContext,
                {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                },
                c.name,
            );
            assert.equal(c.image, `${registry.host}/${podinfoRepository}@${world.digest("staging", "6.9.2")}`, c.name);
        }
        // Kyverno was refused without the password and answered with it: the Secret's credentials were used.
        assert.ok(registry.seen.anonymous > 0 && registry.seen.authorized > 0, JSON.stringify(registry.seen));
        assert.doesNotMatch(world.repo(["show", "main:apps/base/podinfo/deployment.yaml"]), /securityContext:/);
        assert.doesNotMatch(world.repo(["show", "main:apps/staging/kustomization.yaml"]), /sha256:/);
    });

    it("3. flux diff reports no drift, for apps and for the policies themselves", async () => {
        const clone = world.clone();
        try {
            const configs = api === "cel" ? "./infrastructure/configs/cel" : "./infrastructure/configs";
            for (const [name, at] of [
                ["apps", "./apps/staging"],
                ["infra-configs", configs],
            ]) {
                const diff = await flux(world, ["diff", "kustomization", name, "--path", at], clone);
                assert.equal(
                    diff.code,
                    0,
                    `flux diff ${name} reports drift on a freshly reconciled tree:\n${diff.output}`,
                );
            }
        } finally {
            fs.rmSync(clone, { recursive: true, force: true });
        }
    });

    it("4. without the Secret the lookup is refused (UNAUTHORIZED) and apps fails, the live digest kept; with it back apps is Ready", async () => {
        const before = await world.podinfoImage();
        await world.kube.delete(`/api/v1/namespaces/kyverno/secrets/${SECRET}`);
        const refused = await reconcileApps("apps not Ready after a reconcile without the Secret", false);
        timed("Secret deleted -> apps refused", refused.seconds);
        const message = await appsMessage();
        console.log(`      apps without the Secret: ${message}`);
        assert.match(message, /UNAUTHORIZED|401|authentication required/i, message);
        assert.ok(message.includes(registry.host), message);
        assert.equal(await world.podinfoImage(), before, "the running digest changed");
        await createSecret();
        const back = await reconcileApps("apps Ready again once the Secret is back", true);
        timed("Secret back -> apps Ready", back.seconds);
    });

    it("5. with the registry down apps fails closed naming the image, the live digest kept; once it is back apps is Ready", async () => {
        const before = await world.podinfoImage();
        await registry.stop();
        try {
            const refused = await reconcileApps("apps not Ready after a reconcile with the registry down", false);
            timed("registry down -> apps refused", refused.seconds);
            const message = await appsMessage();
            console.log(`      apps with the registry down: ${message}`);
            assert.match(message, /connection refused/, message);
            assert.ok(message.includes(registry.host), message);
            const d = await world.kube.get(DEPLOYMENT);
            assert.equal(
                d?.spec?.template?.spec?.containers?.[0]?.image,
                before,
                "the running digest changed while the registry was down",
            );
        } finally {
            await registry.start();
        }
        const back = await reconcileApps("apps Ready again once the registry is back", true);
        timed("registry back -> apps Ready", back.seconds);
    });
});
