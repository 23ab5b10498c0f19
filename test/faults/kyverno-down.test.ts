// Kyverno down while Flux applies: the real engine runs the real program on
// the live local cluster, where the real Kyverno admission controller runs as
// a host process that stops when its Deployment is scaled to zero (its webhook
// configurations stay, and fail as they would against a Service with no
// endpoints). Kyverno's fail-closed webhooks must reach only the dev-team
// tenant: Flux's, cert-manager's and kube-system's Deployments still update.
// A podinfo change made meanwhile is refused rather than applied unmutated,
// `status` names Kyverno, and once Kyverno is back the change converges,
// mutated, without anyone asking Flux to reconcile. Steps run in order on one
// cluster; every bound is stated and every time printed.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { KubeRequestError, readyCondition } from "../../local-cluster/kube-client";
import { repoRoot } from "../support/pulumi-cli";
import { eventually, LiveWorld, nextPodinfoTag } from "../live/live-world";

const minutes = (n: number) => n * 60_000;
const ks = (name: string) => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/${name}`;
const deployments = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`;
const KYVERNO = `${deployments("kyverno")}/kyverno-admission-controller`;
const PODINFO = `${deployments("podinfo")}/podinfo`;
/** The bound for podinfo to run mutated after up returns or Kyverno comes back (a fresh up's goal, 30 s, is measured by npm run bench:live -- --fresh-ups). */
const RECOVERY_SECONDS = 60;
const timings: string[] = [];
const timed = (label: string, seconds: number) => timings.push(`${label}: ${seconds.toFixed(1)}s`);

/** A small Deployment to dry-run-create in a namespace: admission runs as for a real create. */
const probe = (namespace: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "kyverno-down-probe", namespace },
    spec: {
        replicas: 0,
        selector: { matchLabels: { app: "kyverno-down-probe" } },
        template: { metadata: { labels: { app: "kyverno-down-probe" } }, spec: { containers: [{ name: "probe", image: "registry.invalid/probe:1" }] } },
    },
});

describe("faults: Kyverno down while Flux applies", function () {
    this.timeout(minutes(20));
    const world = new LiveWorld();
    const up = () => world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);
    const image = async () => (await world.deployment())?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
    const mutated = async (tag: string) => {
        const pod = (await world.deployment())?.spec?.template?.spec;
        const c = pod?.containers?.[0];
        return Boolean(
            String(c?.image).endsWith(`@${world.digest("staging", tag)}`) && pod?.securityContext?.runAsNonRoot && c?.securityContext?.readOnlyRootFilesystem,
        );
    };
    const status = () => {
        const { kubeconfig, context } = world.staging.cluster;
        return spawnSync("bash", [path.join(repoRoot, "scripts", "stack.sh"), "status", "staging", "--kubeconfig", kubeconfig, "--context", context], {
            cwd: repoRoot,
            encoding: "utf8",
        });
    };
    const describeLoop = async () => {
        const lines: string[] = [];
        for (const name of ["flux-system", "infra-configs", "apps"]) {
            const c = readyCondition(await world.kube.get(ks(name)));
            lines.push(`ks/${name}: ${c ? `${c.status} ${c.reason ?? ""} ${c.message ?? ""}` : "absent"}`);
        }
        const k = await world.kube.get(KYVERNO);
        lines.push(`kyverno admission controller: replicas ${k?.spec?.replicas}, available ${k?.status?.availableReplicas ?? 0}`);
        lines.push(`podinfo image: ${await image()}`);
        return lines.join("\n");
    };
    /** Why admission refused a request, or undefined when it was admitted. */
    const refusal = async (request: () => Promise<unknown>): Promise<string | undefined> => {
        try {
            await request();
            return undefined;
        } catch (err) {
            if (err instanceof KubeRequestError) return err.body;
            throw err;
        }
    };
    /** A change to podinfo's pod template, dry-run on the server: what Flux's apply of `apps` does first. */
    const podinfoChange = () =>
        world.kube.patch(`${PODINFO}?dryRun=All`, { spec: { template: { metadata: { annotations: { "example.com/kyverno-down": String(Date.now()) } } } } });

    before(async function () {
        this.timeout(minutes(5));
        await world.startLive();
    });

    after(async function () {
        this.timeout(minutes(3));
        console.log(`      timings:\n${timings.map((t) => `        ${t}`).join("\n")}`);
        await world.stop();
    });

    it(`1. a fresh up: podinfo runs mutated within ${RECOVERY_SECONDS}s of up returning, with no reconcile requested`, async function () {
        this.timeout(minutes(10));
        world.setPodinfoImage("staging", "6.9.2");
        await up();
        const converged = await eventually(
            "podinfo mutated (digest and securityContext) and apps Ready",
            RECOVERY_SECONDS,
            async () => ((await mutated("6.9.2")) && (await world.ready(ks("apps"))) ? true : undefined),
            describeLoop,
        );
        timed("up returned -> podinfo mutated", converged.seconds);
    });

    it("2. Kyverno scaled to 0: a dev-team Deployment is refused, while Flux's, cert-manager's and kube-system's Deployments still update", async () => {
        await world.kube.patch(KYVERNO, { spec: { replicas: 0 } });
        const down = Date.now();
        // The supervisor stops Kyverno's process; its webhooks stay registered and fail closed.
        const refused = await eventually("a change to podinfo refused by Kyverno's webhook", 30, async () => {
            const why = await refusal(podinfoChange);
            return why && /failed calling webhook "[^"]*kyverno[^"]*"/.test(why) ? why : undefined;
        });
        timed("Kyverno scaled to 0 -> its webhook refuses podinfo", (Date.now() - down) / 1000);
        assert.match(refused.value, /connection refused|no such host|context deadline exceeded|timeout/i, refused.value);

        // A harmless edit of a Flux controller's Deployment (its metadata, so the controller keeps running).
        const kc = `${deployments("flux-system")}/kustomize-controller`;
        const at = new Date().toISOString();
        const why = await refusal(() => world.kube.patch(kc, { metadata: { annotations: { "example.com/kyverno-down-at": at } } }));
        assert.equal(why, undefined, `updating kustomize-controller's Deployment with Kyverno down was refused: ${why}`);
        assert.equal((await world.kube.get(kc))?.metadata?.annotations?.["example.com/kyverno-down-at"], at);
        for (const ns of ["flux-system", "cert-manager", "kube-system"]) {
            const w = await refusal(() => world.kube.create(`${deployments(ns)}?dryRun=All`, probe(ns)));
            assert.equal(w, undefined, `creating a Deployment in ${ns} with Kyverno down was refused: ${w}`);
        }
    });

    it("3. a podinfo change pushed while Kyverno is down is not applied unmutated, and status names Kyverno", async function () {
        this.timeout(minutes(8));
        world.setPodinfoImage("staging", nextPodinfoTag);
        await up();
        // Flux's apply of the change is refused (the policies' dry run in infra-configs, or podinfo in apps).
        const failing = await eventually(
            "infra-configs or apps failing on Kyverno's webhook",
            RECOVERY_SECONDS,
            async () => {
                for (const name of ["infra-configs", "apps"]) {
                    const c = readyCondition(await world.kube.get(ks(name)));
                    if (c?.status === "False" && /kyverno/i.test(c.message ?? "")) return `${name}: ${c.message}`;
                }
                return undefined;
            },
            describeLoop,
        );
        console.log(`      ${failing.value.slice(0, 300)}`);
        assert.ok((await image())?.endsWith(`@${world.digest("staging", "6.9.2")}`), `podinfo's image changed while Kyverno was down: ${await image()}`);

        const r = status();
        assert.equal(r.status, 1, `status exits ${r.status} with Kyverno down:\n${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /Deployment kyverno\/kyverno-admission-controller: scaled to 0: Kyverno's fail-closed webhook refuses/, r.stderr);
        assert.match(r.stderr, /\[cause: Kyverno's admission webhook did not answer; see Deployment kyverno\/kyverno-admission-controller\]/, r.stderr);
    });

    it(`4. Kyverno back: the change converges, mutated, within ${RECOVERY_SECONDS}s with no reconcile requested; status exits 0`, async () => {
        await world.kube.patch(KYVERNO, { spec: { replicas: 1 } });
        const recovered = await eventually(
            `podinfo at ${nextPodinfoTag}'s digest with the restricted securityContext, apps Ready`,
            RECOVERY_SECONDS,
            async () => ((await mutated(nextPodinfoTag)) && (await world.ready(ks("apps"))) ? true : undefined),
            describeLoop,
        );
        timed("Kyverno back -> the change live, mutated", recovered.seconds);
        const healthy = await eventually("npm run status exits 0", 30, async () => (status().status === 0 ? true : undefined));
        timed("then status exits 0", healthy.seconds);
    });
});
