// The first `up` on an SSH Git server that nobody registered the deploy key on:
// it fails within seconds, before anything reaches the cluster, printing the
// public key and the exact next command; once that key is authorized the next
// `up` converges. Then a key the user supplies (deployKeyPrivateKey): an
// unauthorized one stops the `up` before Flux's Secret changes, so Flux keeps
// syncing with the old key; authorized, the `up` converges on it. The real
// engine runs the real program against a live local cluster whose deploy key
// the harness does not register; every bound is stated and every time printed.
import { strict as assert } from "node:assert";
import { KubeObject, readyCondition } from "../../local-cluster/kube-client";
import { E2eWorld, Environment } from "../../harness/e2e-world";
import { KubeApi } from "../../harness/kube-api";
import { RunResult } from "../../harness/pulumi-cli";
import { secretsIn } from "../support/secret-forms";

const minutes = (n: number) => n * 60_000;
const FLUX = "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances/flux";
const GITREPO = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system";
const stack = "staging";
/** The whole failing `up`, program start and engine included. */
const failBoundSeconds = 60;
const timings: string[] = [];

interface StateResource {
    type: string;
    outputs?: Record<string, unknown>;
}

describe("faults: the first deploy key on an SSH Git server", function () {
    this.timeout(minutes(10));
    const world = new E2eWorld();
    let env: Environment;
    const up = () => world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", stack], { allowFailure: true });
    const text = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
    const stateResources = async (showSecrets = false) => {
        const exported = await world.pulumi.run([
            "stack",
            "export",
            ...(showSecrets ? ["--show-secrets"] : []),
            "--stack",
            stack,
        ]);
        return (
            (JSON.parse(exported.stdout) as { deployment: { resources?: StateResource[] } }).deployment.resources ?? []
        );
    };

    /** Asserts a refused `up`: failed within the bound, naming this public key and the next command, without the private half. */
    function assertRefused(r: RunResult, publicKey: string, privateKey: string, what: string): void {
        timings.push(`${what}: failed in ${r.seconds.toFixed(1)}s`);
        assert.notEqual(r.code, 0, `${what} succeeded:\n${text(r).slice(-3000)}`);
        assert.ok(r.seconds < failBoundSeconds, `${what} took ${r.seconds} s (bound ${failBoundSeconds} s)`);
        const out = text(r);
        assert.match(
            out,
            new RegExp(
                `the fleet repository at ${world.repoUrl.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} refuses the deploy key of stack ${stack}`,
            ),
            out,
        );
        assert.ok(
            out.includes(`    ${publicKey}\n`),
            `${what} does not print the public key ${publicKey}:\n${out.slice(-3000)}`,
        );
        assert.ok(
            out.includes(`then run: pulumi up --stack ${stack}`),
            `${what} does not print the next command:\n${out.slice(-3000)}`,
        );
        assert.deepEqual(secretsIn(out, { "the private key": privateKey }), [], `${what} printed the private key`);
    }

    async function assertConverged(what: string): Promise<void> {
        assert.equal(readyCondition(await env.kube.get(FLUX))?.status, "True", `${what}: FluxInstance not Ready`);
        const source = await env.kube.get<KubeObject & { status?: { artifact?: { revision?: string } } }>(GITREPO);
        assert.equal(readyCondition(source)?.status, "True", `${what}: GitRepository not Ready`);
        const out = (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", stack])).value;
        assert.equal(
            source?.status?.artifact?.revision,
            `main@sha1:${String(out.fleetCommit)}`,
            `${what}: Flux is not at the fleet commit`,
        );
    }

    before(async function () {
        this.timeout(minutes(6));
        await world.start();
        env = await world.addEnvironment(stack, { registerDeployKey: false });
    });

    after(async function () {
        this.timeout(minutes(3));
        console.log(`      timings:\n${timings.map((t) => `        ${t}`).join("\n")}`);
        await world.stop();
    });

    let generated: { publicKey: string; privateKey: string };
    it("1. the first up with a generated key nobody authorized fails within seconds, printing the key and the next command; the cluster is untouched", async () => {
        const r = await up();
        const key = (await stateResources()).find((res) => res.type === "tls:index/privateKey:PrivateKey");
        assert.ok(key?.outputs, "the failed up saved no deploy key");
        const publicKey = String(key.outputs.publicKeyOpenssh).trim();
        // --show-secrets gives a secret as {<signature>, plaintext: <its JSON>}.
        const shown = (await stateResources(true)).find((res) => res.type === "tls:index/privateKey:PrivateKey")
            ?.outputs?.privateKeyOpenssh as { plaintext?: string } | undefined;
        const privateKey = String(JSON.parse(shown?.plaintext ?? '""'));
        assert.match(privateKey, /BEGIN OPENSSH PRIVATE KEY/);
        generated = { publicKey, privateKey };
        assertRefused(r, publicKey, privateKey, "first up, generated key");
        // The failed up still records the outputs: the printed key is deployKeyPublic.
        const out = (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", stack])).value;
        assert.equal(
            String(out.deployKeyPublic).trim(),
            publicKey,
            "the printed key is not the stack output deployKeyPublic",
        );
        for (const ns of ["flux-system", "kyverno", "cert-manager"])
            assert.equal(await env.kube.namespace(ns), undefined, `namespace ${ns} was created`);
    });

    it("2. once that key is authorized read-only, the next up converges: FluxInstance Ready, GitRepository Ready at the fleet commit", async function () {
        this.timeout(minutes(8));
        world.git.authorize(generated.publicKey, "read");
        const r = await up();
        timings.push(`up after authorizing: ${r.seconds.toFixed(1)}s`);
        assert.equal(r.code, 0, `up failed:\n${text(r).slice(-3000)}`);
        const out = (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", stack])).value;
        assert.equal(
            String(out.deployKeyPublic).trim(),
            generated.publicKey,
            "deployKeyPublic is not the key the first up printed",
        );
        await assertConverged("after authorizing");
    });

    it("3. an unchanged stack does not check again: preview shows no change", async () => {
        const { value } = await world.pulumi.json<{ steps: { op: string; urn: string }[] }>([
            "preview",
            "--stack",
            stack,
        ]);
        const changing = value.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn}`);
        assert.deepEqual(changing, [], "preview of an unchanged stack shows changes");
    });

    let supplied: { publicKey: string; privateKey: string };
    it("4. a supplied key the server does not know stops the up within seconds, before Flux's Secret changes", async () => {
        const key = world.git.newKey("flux-own");
        supplied = { publicKey: key.publicKey.split(" ").slice(0, 2).join(" "), privateKey: key.privateKey };
        await world.pulumi.setConfig(stack, {}, { deployKeyPrivateKey: key.privateKey });
        const r = await up();
        assertRefused(r, supplied.publicKey, supplied.privateKey, "up with an unauthorized supplied key");
        const secret = KubeApi.decode(await env.kube.secret("flux-system", "flux-system"));
        assert.equal(
            secret["identity.pub"]?.trim(),
            generated.publicKey,
            "Flux's Secret changed to a key the server refuses",
        );
        await assertConverged("after the refused key change");
    });

    it("5. authorized, the supplied key converges; the state holds its private half only as a secret", async function () {
        this.timeout(minutes(8));
        world.git.authorize(supplied.publicKey, "read");
        const r = await up();
        timings.push(`up with the authorized supplied key: ${r.seconds.toFixed(1)}s`);
        assert.equal(r.code, 0, `up failed:\n${text(r).slice(-3000)}`);
        const secret = KubeApi.decode(await env.kube.secret("flux-system", "flux-system"));
        assert.equal(
            secret["identity.pub"]?.trim(),
            supplied.publicKey,
            "Flux's Secret does not hold the supplied key",
        );
        assert.equal(secret.identity?.trim(), supplied.privateKey.trim());
        const out = (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", stack])).value;
        assert.equal(out.deployKeyPublic, supplied.publicKey);
        assert.ok(
            !(await stateResources()).some((res) => res.type === "tls:index/privateKey:PrivateKey"),
            "the generated key is still in the state",
        );
        await assertConverged("with the supplied key");
        const exported = (await world.pulumi.run(["stack", "export", "--stack", stack])).stdout;
        assert.deepEqual(
            secretsIn(exported, { "the supplied key": supplied.privateKey, "the generated key": generated.privateKey }),
            [],
        );
        assert.ok(!/PRIVATE KEY/.test(exported), "a private key is in the state in plaintext");
    });
});
