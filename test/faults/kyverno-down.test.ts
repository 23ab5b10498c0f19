// Kyverno down while Flux applies: the real engine runs the real program on
// the live local cluster, where the real Kyverno admission controller runs as
// a host process. Two ways down, as on a real cluster:
// - crashed (SIGKILL, held down, its Deployment unchanged: a lost node or a
//   crash loop). Its webhook configurations stay and fail closed; they must
//   reach only the dev-team tenant, so Flux's, cert-manager's and kube-system's
//   Deployments still update. A podinfo change pushed meanwhile is refused
//   rather than applied unmutated, `status` names Kyverno, and once it is back
//   the change converges, mutated, without anyone asking Flux to reconcile.
// - scaled to 0. On a real cluster Kyverno then removes its own webhook
//   configurations as it stops (Kyverno 1.19's shutdown clean-up; the test does
//   it for the host process, which runs in Kyverno's debug mode), so nothing
//   calls it; the require-kyverno-mutation backstop is what refuses an
//   unmutated dev-team Deployment, and `status` names the scale.
// Steps run in order on one cluster; every bound is stated and every time printed.
import { strict as assert } from "node:assert";
import { KubeRequestError, readyCondition } from "../../local-cluster/kube-client";
import { liveWorldHooks } from "../live/loop-steps";
import { eventually, ks, LiveWorld, nextPodinfoTag } from "../../harness/live-world";

const minutes = (n: number) => n * 60_000;
const deployments = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`;
const KYVERNO = `${deployments("kyverno")}/kyverno-admission-controller`;
const KYVERNO_ID = "kyverno/kyverno-admission-controller";
const kyvernoWebhooks = (kind: string) =>
    `/apis/admissionregistration.k8s.io/v1/${kind}?labelSelector=${encodeURIComponent("webhook.kyverno.io/managed-by=kyverno")}`;
const PODINFO = `${deployments("podinfo")}/podinfo`;
/** The bound for podinfo to run mutated after up returns or Kyverno comes back (a fresh up's goal, 30 s, is measured by npm run bench:live -- --fresh-ups). */
const RECOVERY_SECONDS = 60;
const timings: string[] = [];
const timed = (label: string, seconds: number) => timings.push(`${label}: ${seconds.toFixed(1)}s`);

/** A small Deployment to dry-run-create in a namespace: admission runs as for a real create. Unmutated, it is what the backstop refuses. */
const probe = (namespace: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "kyverno-down-probe", namespace },
    spec: {
        replicas: 0,
        selector: { matchLabels: { app: "kyverno-down-probe" } },
        template: {
            metadata: { labels: { app: "kyverno-down-probe" } },
            spec: { containers: [{ name: "probe", image: "registry.invalid/probe:1" }] },
        },
    },
});

function statusMessage(body: string): string {
    try {
        const message = (JSON.parse(body) as { message?: unknown }).message;
        return typeof message === "string" ? message : body;
    } catch {
        return body;
    }
}

describe("faults: Kyverno down while Flux applies", function () {
    this.timeout(minutes(20));
    const world = new LiveWorld();
    const up = () => world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);
    const image = () => world.podinfoImage();
    const mutated = async (tag: string) => {
        const pod = (await world.deployment())?.spec?.template?.spec;
        const c = pod?.containers?.[0];
        return Boolean(
            String(c?.image).endsWith(`@${world.digest("staging", tag)}`) &&
            pod?.securityContext?.runAsNonRoot &&
            c?.securityContext?.readOnlyRootFilesystem,
        );
    };
    const status = () => world.status();
    const describeLoop = () =>
        world.describeLoop(async () => {
            const k = await world.kube.get(KYVERNO);
            const running = world.env.live.supervisor.status().find((p) => p.deployment === KYVERNO_ID)?.pid;
            return [`kyverno admission controller: replicas ${k?.spec?.replicas}, process ${running ?? "down"}`];
        });
    /** Each of Kyverno's webhooks: configuration, name, failure policy, rules and namespace selector. */
    const describeWebhooks = async () => {
        const lines: string[] = [];
        for (const kind of ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]) {
            for (const cfg of await world.kube.list(kyvernoWebhooks(kind))) {
                for (const w of (cfg as unknown as { webhooks?: Record<string, unknown>[] }).webhooks ?? []) {
                    lines.push(
                        `${cfg.metadata.name}/${String(w.name)}: ${String(w.failurePolicy)} ${JSON.stringify(w.rules)} ns=${JSON.stringify(w.namespaceSelector)}`,
                    );
                }
            }
        }
        return lines.join("\n") || "(none)";
    };
    const webhookCount = async () =>
        (await world.kube.list(kyvernoWebhooks("mutatingwebhookconfigurations"))).length +
        (await world.kube.list(kyvernoWebhooks("validatingwebhookconfigurations"))).length;
    /** Flux's, cert-manager's and kube-system's Deployments update and can be created while Kyverno is down. */
    const assertOthersUnaffected = async () => {
        const kc = `${deployments("flux-system")}/kustomize-controller`;
        const at = new Date().toISOString();
        // A harmless edit of a Flux controller's Deployment (its metadata, so the controller keeps running).
        const why = await refusal(() =>
            world.kube.patch(kc, { metadata: { annotations: { "example.com/kyverno-down-at": at } } }),
        );
        assert.equal(
            why,
            undefined,
            `updating kustomize-controller's Deployment with Kyverno down was refused: ${why}`,
        );
        assert.equal((await world.kube.get(kc))?.metadata?.annotations?.["example.com/kyverno-down-at"], at);
        for (const ns of ["flux-system", "cert-manager", "kube-system"]) {
            const w = await refusal(() => world.kube.create(`${deployments(ns)}?dryRun=All`, probe(ns)));
            assert.equal(w, undefined, `creating a Deployment in ${ns} with Kyverno down was refused: ${w}`);
        }
    };
    /** Why admission refused a request, or undefined when it was admitted. */
    const refusal = async (request: () => Promise<unknown>): Promise<string | undefined> => {
        try {
            await request();
            return undefined;
        } catch (err) {
            // The API server's Status message (the body is JSON, its quotes escaped).
            if (err instanceof KubeRequestError) return statusMessage(err.body);
            throw err;
        }
    };
    /** A change to podinfo's pod template, dry-run on the server: what Flux's apply of `apps` does first. */
    const podinfoChange = () =>
        world.kube.patch(`${PODINFO}?dryRun=All`, {
            spec: { template: { metadata: { annotations: { "example.com/kyverno-down": String(Date.now()) } } } },
        });

    liveWorldHooks(world, timings);

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

    it("2. Kyverno's process crashed and held down: its webhooks stay and refuse a dev-team change; Flux's, cert-manager's and kube-system's Deployments still update", async () => {
        const webhooks = await webhookCount();
        assert.ok(webhooks > 0, "Kyverno registered no webhook configurations: the case is not reproduced");
        await world.env.live.supervisor.crash(KYVERNO_ID);
        const down = Date.now();
        const refused = await eventually(
            "a change to podinfo refused by Kyverno's webhook",
            30,
            async () => {
                const why = await refusal(podinfoChange);
                return why && /failed calling webhook "[^"]*kyverno[^"]*"/.test(why) ? why : undefined;
            },
            describeWebhooks,
        );
        timed("Kyverno crashed -> its webhook refuses podinfo", (Date.now() - down) / 1000);
        assert.match(
            refused.value,
            // Through the Service: no Ready endpoint (or one caught dying) is what a cluster reports too.
            /no endpoints available|connection refused|context deadline exceeded|timeout/i,
            refused.value,
        );
        assert.equal(await webhookCount(), webhooks, "Kyverno's webhook configurations changed while it was down");
        await assertOthersUnaffected();
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
        assert.ok(
            (await image())?.endsWith(`@${world.digest("staging", "6.9.2")}`),
            `podinfo's image changed while Kyverno was down: ${await image()}`,
        );

        const r = status();
        assert.equal(r.status, 1, `status exits ${r.status} with Kyverno down:\n${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stderr,
            /\[cause: Kyverno's admission webhook did not answer; see Deployment kyverno\/kyverno-admission-controller\]/,
            r.stderr,
        );
    });

    it(`4. Kyverno back: the change converges, mutated, within ${RECOVERY_SECONDS}s with no reconcile requested; status exits 0`, async () => {
        world.env.live.supervisor.release(KYVERNO_ID);
        const recovered = await eventually(
            `podinfo at ${nextPodinfoTag}'s digest with the restricted securityContext, apps Ready`,
            RECOVERY_SECONDS,
            async () => ((await mutated(nextPodinfoTag)) && (await world.ready(ks("apps"))) ? true : undefined),
            describeLoop,
        );
        timed("Kyverno back -> the change live, mutated", recovered.seconds);
        const healthy = await eventually("npm run status exits 0", 30, async () =>
            status().status === 0 ? true : undefined,
        );
        timed("then status exits 0", healthy.seconds);
    });

    it("5. Kyverno scaled to 0, its webhooks gone: the backstop refuses an unmutated dev-team Deployment, Flux's Deployments still update; status names the scale", async () => {
        await world.kube.patch(KYVERNO, { spec: { replicas: 0 } });
        // Scaled to 0, Kyverno deletes its webhook configurations as it stops (it sees its Deployment going down).
        const gone = await eventually(
            "Kyverno's process stopped and its webhook configurations deleted by Kyverno",
            30,
            async () =>
                !world.env.live.supervisor.status().some((p) => p.deployment === KYVERNO_ID && p.pid !== undefined) &&
                (await webhookCount()) === 0
                    ? true
                    : undefined,
            describeWebhooks,
        );
        timed("Kyverno scaled to 0 -> its webhooks deleted", gone.seconds);
        assert.equal(await webhookCount(), 0, await describeWebhooks());
        const why = await refusal(() => world.kube.create(`${deployments("podinfo")}?dryRun=All`, probe("podinfo")));
        assert.match(
            String(why),
            /require-kyverno-mutation/,
            `an unmutated dev-team Deployment was not refused by the backstop: ${why}`,
        );
        assert.match(String(why), /did not mutate it/, String(why));
        await assertOthersUnaffected();
        const r = status();
        assert.equal(r.status, 1, `status exits ${r.status} with Kyverno scaled to 0:\n${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stderr,
            /Deployment kyverno\/kyverno-admission-controller: scaled to 0: no dev-team Deployment is admitted unmutated/,
            r.stderr,
        );
        await world.kube.patch(KYVERNO, { spec: { replicas: 1 } });
        const back = await eventually(
            "Kyverno back: its webhooks registered again and status exits 0",
            RECOVERY_SECONDS,
            async () => ((await webhookCount()) > 0 && status().status === 0 ? true : undefined),
            describeWebhooks,
        );
        timed("Kyverno scaled back -> webhooks and status healthy", back.seconds);
    });
});
