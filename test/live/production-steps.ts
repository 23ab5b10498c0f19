// What only production has, on the live local cluster (steps of loop.test.ts,
// after the loop both environments pass): three Kyverno admission replicas,
// each a process of its own pod, its webhooks reached through the chart's
// Service with the caBundle Kyverno wrote, admission that survives a lost
// replica, a leader replaced within its lease when it dies, and Flux's
// controllers electing their leaders as their Deployments say.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { eventually } from "../../harness/live-world";
import type { KubeObject } from "../../local-cluster/kube-client";
import { CONVERGE_SECONDS, LoopEnvironment, minutes } from "./loop-steps";

const KYVERNO_DEPLOYMENT = "/apis/apps/v1/namespaces/kyverno/deployments/kyverno-admission-controller";
const KYVERNO_ID = "kyverno/kyverno-admission-controller";
const SLICES = `/apis/discovery.k8s.io/v1/namespaces/kyverno/endpointslices?labelSelector=${encodeURIComponent("kubernetes.io/service-name=kyverno-svc")}`;
const SCRATCH_NS = "ha-probe";

/** Production's own steps, numbered from `first`. */
export function productionSteps(production: LoopEnvironment, first: number): void {
    const { world, timed } = production;
    const admissionPods = () => world.env.live.supervisor.status().filter((s) => s.deployment === KYVERNO_ID);
    /** The kyverno-svc endpoints: pod name -> Ready. */
    const endpoints = async () => {
        const ready: Record<string, boolean> = {};
        for (const slice of await world.kube.list(SLICES))
            for (const ep of (slice as KubeObject & { endpoints?: EndpointSliceEndpoint[] }).endpoints ?? [])
                ready[ep.targetRef?.name ?? "?"] = ep.conditions?.ready !== false;
        return ready;
    };
    /** The Lease Kyverno's admission controllers elect their leader with (named "kyverno", held by a pod name). */
    const leaderLease = async () => {
        const lease = await world.kube.get("/apis/coordination.k8s.io/v1/namespaces/kyverno/leases/kyverno");
        const pods = admissionPods().map((p) => p.pod);
        assert.ok(
            pods.includes(lease?.spec?.holderIdentity),
            `Lease kyverno/kyverno held by ${lease?.spec?.holderIdentity}, not one of ${pods.join(", ")}`,
        );
        return lease!;
    };
    let probes = 0;
    /** Creates a Deployment Kyverno must mutate; true if admitted with the restricted securityContext. */
    const admittedAndMutated = async () => {
        const name = `probe-${++probes}`;
        const created = await world.kube.create(`/apis/apps/v1/namespaces/${SCRATCH_NS}/deployments`, {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name, namespace: SCRATCH_NS },
            spec: {
                replicas: 0,
                selector: { matchLabels: { app: name } },
                template: {
                    metadata: { labels: { app: name } },
                    spec: {
                        containers: [
                            { name: "app", image: `${world.env.live.registry.host}/stefanprodan/podinfo:6.7.1` },
                        ],
                    },
                },
            },
        });
        return created.spec?.template?.spec?.securityContext?.runAsNonRoot === true;
    };
    /** `count` admissions one after another: how many failed or came back unmutated, with the first error. */
    const admissions = async (count: number) => {
        const failures: string[] = [];
        for (let i = 0; i < count; i++) {
            await admittedAndMutated()
                .then((ok) => (ok ? undefined : failures.push(`probe-${probes}: not mutated`)))
                .catch((err: Error) => failures.push(err.message));
        }
        return failures;
    };

    it(`${first}. production: three Kyverno admission replicas, each its own pod's process, behind kyverno-svc; every webhook goes through the Service with Kyverno's caBundle`, async () => {
        assert.equal((await world.kube.get(KYVERNO_DEPLOYMENT))?.spec?.replicas, 3);
        const running = await eventually(
            "three admission processes, one per pod, all Ready behind kyverno-svc",
            60,
            async () => {
                const pods = admissionPods().filter((p) => p.pid !== undefined);
                const ready = await endpoints();
                return pods.length === 3 && pods.every((p) => ready[p.pod]) ? pods : undefined;
            },
            async () => JSON.stringify({ processes: admissionPods(), endpoints: await endpoints() }),
        );
        assert.equal(new Set(running.value.map((p) => p.pod)).size, 3, "two processes share a pod");
        // The chart adds a PodDisruptionBudget to an admission controller of more than one replica.
        const budgets = await world.kube.list("/apis/policy/v1/namespaces/kyverno/poddisruptionbudgets");
        assert.ok(
            budgets.some(
                (b) => b.spec?.selector?.matchLabels?.["app.kubernetes.io/component"] === "admission-controller",
            ),
            `no PodDisruptionBudget for the admission controller among ${budgets.map((b) => b.metadata.name).join(", ")}`,
        );
        let webhooks = 0;
        for (const kind of ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]) {
            const selector = encodeURIComponent("webhook.kyverno.io/managed-by=kyverno");
            for (const config of await world.kube.list(
                `/apis/admissionregistration.k8s.io/v1/${kind}?labelSelector=${selector}`,
            )) {
                for (const w of (config as KubeObject & { webhooks?: Webhook[] }).webhooks ?? []) {
                    webhooks++;
                    const where = `${kind} ${config.metadata.name} ${w.name}`;
                    assert.equal(w.clientConfig.url, undefined, `${where} is registered by URL`);
                    assert.deepEqual(
                        [w.clientConfig.service?.namespace, w.clientConfig.service?.name],
                        ["kyverno", "kyverno-svc"],
                        `${where}: ${JSON.stringify(w.clientConfig.service)}`,
                    );
                    assert.ok((w.clientConfig.caBundle ?? "").length > 0, `${where} has no caBundle`);
                }
            }
        }
        assert.ok(webhooks > 0, "Kyverno registered no webhook");
        // The policed tenant's label: Kyverno's webhooks and policies select namespaces by it.
        await world.kube.create("/api/v1/namespaces", {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: SCRATCH_NS, labels: { "toolkit.fluxcd.io/tenant": "dev-team" } },
        });
        assert.deepEqual(await admissions(3), [], "admission through kyverno-svc");
    });

    it(`${first + 1}. production: a replica lost: its endpoint leaves kyverno-svc and admission goes on through the others, with no failed apply`, async function () {
        this.timeout(minutes(3));
        const lease = await leaderLease();
        const standby = admissionPods().find((p) => p.pod !== lease.spec.holderIdentity);
        assert.ok(standby, `no standby among ${JSON.stringify(admissionPods())}`);
        const id = `kyverno/${standby.pod}`;
        await world.env.live.supervisor.crash(id);
        try {
            assert.equal((await endpoints())[standby.pod], false, `${standby.pod}'s endpoint is still Ready`);
            assert.deepEqual(await admissions(10), [], `admission with ${standby.pod} down`);
        } finally {
            world.env.live.supervisor.release(id);
        }
    });

    it(`${first + 2}. production: the leader lost: another replica holds the Lease within its duration, and admission goes on meanwhile`, async function () {
        this.timeout(minutes(3));
        const lease = await leaderLease();
        const leader = String(lease.spec.holderIdentity);
        const leaseSeconds = Number(lease.spec.leaseDurationSeconds);
        const id = `kyverno/${leader}`;
        const killedAt = Date.now();
        await world.env.live.supervisor.crash(id);
        try {
            const failures = await admissions(5);
            const takeover = await eventually(
                `another admission pod holds Lease ${lease.metadata.name} (duration ${leaseSeconds}s)`,
                leaseSeconds + 15,
                async () => {
                    const l = await world.kube.get(
                        `/apis/coordination.k8s.io/v1/namespaces/kyverno/leases/${lease.metadata.name}`,
                    );
                    const holder = l?.spec?.holderIdentity;
                    return holder && holder !== leader ? String(holder) : undefined;
                },
            );
            const seconds = (Date.now() - killedAt) / 1000;
            timed(`leader ${leader} killed -> ${takeover.value} leads (lease ${leaseSeconds}s)`, seconds);
            // The standby waits out the dead leader's lease and then one retry period (Kyverno's is 2 s).
            assert.ok(seconds <= leaseSeconds + 5, `takeover took ${seconds.toFixed(1)}s, lease ${leaseSeconds}s`);
            assert.deepEqual(failures, [], `admission with the leader ${leader} down`);
        } finally {
            world.env.live.supervisor.release(id);
        }
        await eventually(
            "three admission endpoints Ready again",
            60,
            async () => {
                const ready = Object.values(await endpoints());
                return ready.length === 3 && ready.every(Boolean) ? true : undefined;
            },
            async () => JSON.stringify(await endpoints()),
        );
        await world.kube.delete(`/api/v1/namespaces/${SCRATCH_NS}`);
    });

    it(`${first + 3}. production: Flux's controllers elect their leaders as their Deployments say: each holds a Lease in flux-system under its pod's name`, async () => {
        const flux = world.env.live.supervisor
            .status()
            .filter((s) => s.deployment.startsWith("flux-system/") && s.pid !== undefined);
        assert.deepEqual(flux.map((s) => s.deployment).sort(), [
            "flux-system/flux-operator",
            "flux-system/kustomize-controller",
            "flux-system/source-controller",
        ]);
        const held = await eventually(
            "a Lease in flux-system held by each Flux pod",
            CONVERGE_SECONDS,
            async () => {
                const leases = await world.kube.list("/apis/coordination.k8s.io/v1/namespaces/flux-system/leases");
                // controller-runtime's identity is the pod's hostname, then "_" and a UUID.
                const holders = leases.map((l) => String(l.spec?.holderIdentity ?? "").split("_")[0]);
                return flux.every((s) => holders.includes(s.pod)) ? leases : undefined;
            },
            async () =>
                JSON.stringify(
                    (await world.kube.list("/apis/coordination.k8s.io/v1/namespaces/flux-system/leases")).map((l) => [
                        l.metadata.name,
                        l.spec?.holderIdentity,
                    ]),
                ),
        );
        // As the Deployments say: the controllers pass --enable-leader-election, the operator elects by default.
        for (const s of flux) {
            const file = path.join(path.dirname(s.log), "host", s.pod, "command.json");
            const args = JSON.parse(fs.readFileSync(file, "utf8")).args as string[];
            assert.ok(!args.includes("--enable-leader-election=false"), `${s.deployment}: ${args.join(" ")}`);
        }
        timed(`Flux Leases ${held.value.map((l) => l.metadata.name).join(", ")}`, held.seconds);
    });
}

interface EndpointSliceEndpoint {
    targetRef?: { name?: string };
    conditions?: { ready?: boolean };
}

interface Webhook {
    name: string;
    clientConfig: { url?: string; service?: { namespace?: string; name?: string }; caBundle?: string };
}
