// The steps of the live GitOps loop that every environment passes: up returns
// once Flux has the fleet commit, the tree converges, Kyverno mutates podinfo,
// drift is accepted and a hand edit reverted, a tag change flows through,
// destroy leaves nothing. Each step is an `it` of the calling describe that runs
// for each of its environments at once (one repository, a cluster each).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { readyCondition } from "../../local-cluster/kube-client";
import { eventually, GITREPO, ks, LiveWorld, nextPodinfoTag } from "../../harness/live-world";

export const minutes = (n: number) => n * 60_000;
const FLUX = "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances/flux";
const policy = (name: string) => `/apis/kyverno.io/v1/clusterpolicies/${name}`;
const policies = ["add-restricted-security-context", "resolve-image-digest"];
/** The bound for a change to converge after `pulumi up` returns (the goal is 30 s). */
export const CONVERGE_SECONDS = 30;

export interface LoopEnvironment {
    world: LiveWorld;
    /** The podinfo tag the environment's overlay commits. */
    tag: string;
    /** podinfo's replicas in the environment's overlay. */
    replicas: number;
    timed(label: string, seconds: number): void;
}

/** Runs `step` for every environment at once; fails naming each environment whose step failed. */
export async function each(envs: LoopEnvironment[], step: (e: LoopEnvironment) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(envs.map(step));
    const failed = results.flatMap((r, i) =>
        r.status === "rejected" ? [`${envs[i].world.stack}: ${(r.reason as Error).message}`] : [],
    );
    if (failed.length > 0) throw new Error(failed.join("\n\n"));
}

/** An `it` that runs `body` for every environment at once (inside `around`, for checks of them all). */
function stepOf(envs: LoopEnvironment[]) {
    return (
        title: string,
        timeoutMs: number | undefined,
        body: (e: LoopEnvironment) => Promise<void>,
        around: (all: () => Promise<void>) => Promise<void> = (all) => all(),
    ) =>
        it(title, async function () {
            if (timeoutMs) this.timeout(timeoutMs);
            await around(() => each(envs, body));
        });
}

/** Runs `all`, then asserts main gained exactly one commit per environment, subjects `subject(stack)`: none lost to the other's push. */
function oneCommitEach(envs: LoopEnvironment[], subject: (stack: string) => string) {
    return async (all: () => Promise<void>) => {
        const world = envs[0].world;
        const base = world.repo(["rev-parse", "main"]);
        await all();
        const subjects = world
            .repo(["log", "--format=%s", `${base}..main`])
            .split("\n")
            .filter(Boolean)
            .sort();
        assert.deepEqual(subjects, envs.map((e) => subject(e.world.stack)).sort(), "not one commit per environment");
    };
}

export const up = (world: LiveWorld) => world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", world.stack]);

export const fleetCommit = async (world: LiveWorld) =>
    String(
        (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", world.stack])).value
            .fleetCommit,
    );

/** Starts the world (and `others` beside its environment) before the steps and stops it after them, printing the timings and each pulumi run's time. */
export function liveWorldHooks(world: LiveWorld, timings: string[], others: string[] = []): void {
    before(async function () {
        this.timeout(minutes(5));
        await world.startLive(others);
    });

    after(async function () {
        this.timeout(minutes(3));
        console.log(`      timings:\n${timings.map((t) => `        ${t}`).join("\n")}`);
        for (const entry of world.pulumi?.log ?? [])
            console.log(
                `      pulumi ${entry.args.slice(0, 3).join(" ")}: ${entry.seconds.toFixed(1)}s (exit ${entry.code})`,
            );
        if (process.env.KUBE_CLUSTER_KEEP)
            for (const e of world.envs.values()) console.log(`      live cluster logs (kept): ${e.cluster.dir}`);
        await world.stop();
    });
}

/** The first steps: preview, up, convergence, Kyverno's mutations, drift (numbered 1 to 5). */
export function loopSteps(envs: LoopEnvironment[]): void {
    const step = stepOf(envs);
    const stacks = envs.map((e) => e.world.stack).join(" and ");

    step(`1. preview of ${stacks} at once: it succeeds and pushes nothing`, minutes(5), async (e) => {
        const { world } = e;
        const head = world.repo(["rev-parse", "main"]);
        await world.pulumi.run(["preview", "--stack", world.stack]);
        assert.equal(world.repo(["rev-parse", "main"]), head, "a preview pushed");
    });

    step(
        `2. pulumi up of ${stacks} at once returns only once the FluxInstance is Ready and Flux has fetched the fleet commit; one commit each`,
        minutes(12),
        async (e) => {
            const { world } = e;
            const result = await up(world);
            e.timed("pulumi up (fresh stack)", result.seconds);
            const instance = await world.kube.get(FLUX);
            assert.equal(
                readyCondition(instance)?.status,
                "True",
                `FluxInstance not Ready when up returned: ${JSON.stringify(readyCondition(instance))}`,
            );
            const source = await world.kube.get(GITREPO);
            assert.equal(
                source?.status?.lastHandledReconcileAt,
                await fleetCommit(world),
                "up returned before Flux handled the fetch of the fleet commit",
            );
            assert.equal(readyCondition(source)?.status, "True");
        },
        oneCommitEach(envs, (stack) => `fleet(${stack}): sync the GitOps tree`),
    );

    step(
        `3. within ${CONVERGE_SECONDS}s of up returning: the source at fleetCommit, every Kustomization and policy Ready, podinfo Available`,
        undefined,
        async (e) => {
            const { world } = e;
            const describeLoop = () => world.describeLoop();
            const commit = await fleetCommit(world);
            const converged = await eventually(
                "GitRepository at fleetCommit; Kustomizations flux-system, infra-configs, apps Ready; both ClusterPolicies Ready; podinfo Available",
                CONVERGE_SECONDS,
                async () => {
                    const source = await world.kube.get(GITREPO);
                    if (
                        source?.status?.artifact?.revision !== `main@sha1:${commit}` ||
                        readyCondition(source)?.status !== "True"
                    )
                        return undefined;
                    for (const name of ["flux-system", "infra-configs", "apps"])
                        if (!(await world.ready(ks(name)))) return undefined;
                    for (const name of policies) if (!(await world.ready(policy(name)))) return undefined;
                    const d = await world.deployment();
                    return (
                        (d?.status?.conditions ?? []).some(
                            (c: { type: string; status: string }) => c.type === "Available" && c.status === "True",
                        ) || undefined
                    );
                },
                describeLoop,
            );
            e.timed("up returned -> podinfo mutated and Available", converged.seconds);
        },
    );

    step(
        `4. Kyverno mutated the live Deployment (restricted securityContext, image by digest) while Git keeps the tag and no securityContext`,
        undefined,
        async (e) => {
            const { world, tag } = e;
            const overlay = `apps/${world.stack}`;
            const d = await world.deployment();
            const pod = d?.spec?.template?.spec;
            assert.equal(
                pod?.securityContext?.runAsNonRoot,
                true,
                `pod securityContext: ${JSON.stringify(pod?.securityContext)}`,
            );
            assert.equal(pod?.securityContext?.seccompProfile?.type, "RuntimeDefault");
            const digest = world.digest(world.stack, tag);
            for (const c of pod?.containers ?? []) {
                const sc = c.securityContext ?? {};
                assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: ${JSON.stringify(sc)}`);
                assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${c.name}: ${JSON.stringify(sc)}`);
                assert.equal(sc.runAsNonRoot, true, `${c.name}: ${JSON.stringify(sc)}`);
                assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: ${JSON.stringify(sc)}`);
                assert.ok(
                    String(c.image).endsWith(`@${digest}`),
                    `${c.name} image ${c.image} is not pinned to podinfo ${tag}'s digest ${digest}`,
                );
                assert.ok(String(c.image).startsWith(`${world.env.live.registry.host}/stefanprodan/podinfo`), c.image);
            }
            assert.equal(d?.spec?.replicas, e.replicas, `podinfo replicas in ${world.stack}`);
            const inGit = world.repo(["show", "main:apps/base/podinfo/deployment.yaml"]);
            assert.doesNotMatch(inGit, /securityContext:/, "the fleet repository's Deployment has a securityContext");
            const committed = world.repo(["show", `main:${overlay}/kustomization.yaml`]);
            assert.match(committed, new RegExp(`newTag: ${tag.replace(/\./g, "\\.")}`));
            assert.doesNotMatch(committed, /sha256:/);
        },
    );

    step(
        "5. flux diff reports no drift for the mutated Deployment; a hand edit is reported and reverted by the next reconcile",
        undefined,
        async (e) => {
            const { world } = e;
            const describeLoop = () => world.describeLoop();
            const overlay = `apps/${world.stack}`;
            const clone = world.clone();
            try {
                const clean = world.flux(["diff", "kustomization", "apps", "--path", `./${overlay}`], clone);
                assert.equal(clean.code, 0, `flux diff reports drift on a freshly reconciled tree:\n${clean.output}`);

                await world.kube.patch("/apis/apps/v1/namespaces/podinfo/deployments/podinfo", {
                    spec: { replicas: e.replicas + 2 },
                });
                const drifted = world.flux(["diff", "kustomization", "apps", "--path", `./${overlay}`], clone);
                assert.equal(drifted.code, 1, `flux diff does not report a hand edit:\n${drifted.output}`);
                assert.match(drifted.output, /replicas/);

                await world.requestReconcile(ks("apps"));
                const reverted = await eventually(
                    "the hand edit reverted",
                    CONVERGE_SECONDS,
                    async () => ((await world.deployment())?.spec?.replicas === e.replicas ? true : undefined),
                    describeLoop,
                );
                e.timed("hand edit reverted after a reconcile request", reverted.seconds);
            } finally {
                fs.rmSync(clone, { recursive: true, force: true });
            }
        },
    );
}

/** The tag change, numbered `number`, for each environment at once. */
export function tagChangeStep(envs: LoopEnvironment[], number: number): void {
    const step = stepOf(envs);
    step(
        `${number}. a tag change: up makes one commit and the live digest follows within ${CONVERGE_SECONDS}s; status exits 0`,
        minutes(8),
        async (e) => {
            const { world } = e;
            const describeLoop = () => world.describeLoop();
            const overlay = `apps/${world.stack}`;
            const before = world.repo(["rev-parse", "main"]);
            world.setPodinfoImage(world.stack, nextPodinfoTag);
            await up(world);
            // The other environment's up may push beside this one: count this environment's commits.
            const own = world.repo([
                "log",
                "--format=%H",
                `${before}..main`,
                "--",
                `${overlay}/`,
                `clusters/${world.stack}/`,
            ]);
            assert.equal(own.split("\n").filter(Boolean).length, 1, `the tag change is not exactly one commit: ${own}`);
            const commit = await fleetCommit(world);
            assert.equal(own, commit, "the stack's fleetCommit is not its tag change");
            assert.deepEqual(world.changedIn(commit), [`${overlay}/kustomization.yaml`]);
            const digest = world.digest(world.stack, nextPodinfoTag);
            const followed = await eventually(
                `podinfo running ${nextPodinfoTag}'s digest`,
                CONVERGE_SECONDS,
                async () => {
                    const image = await world.podinfoImage();
                    return image?.endsWith(`@${digest}`) ? image : undefined;
                },
                describeLoop,
            );
            assert.equal(followed.value, `${world.env.live.registry.host}/stefanprodan/podinfo@${digest}`);
            e.timed("tag-change up returned -> new digest live", followed.seconds);
            const status = () => world.status();
            const ok = await eventually(
                "npm run status exits 0",
                CONVERGE_SECONDS,
                async () => {
                    const r = status();
                    return r.status === 0 ? r : undefined;
                },
                async () => status().stdout + status().stderr,
            );
            // Ready at the commit the tag change made, and reporting the new digest as the live image.
            assert.match(
                ok.value.stdout,
                new RegExp(
                    `Kustomization flux-system/apps +Ready=True, revision main@sha1:${await fleetCommit(world)}`,
                ),
            );
            assert.ok(ok.value.stdout.includes(`@${digest}`), ok.value.stdout);
            assert.match(ok.value.stdout, /\nall ready\n/);
        },
    );
}

/** The last step: destroy leaves nothing of the program on the cluster, and the shared tree in the repository. */
export function destroyStep(envs: LoopEnvironment[], number: number): void {
    const step = stepOf(envs);
    step(
        `${number}. destroy (${envs.map((e) => e.world.stack).join(" and ")} at once) leaves nothing: no workload, namespace, CRD or webhook of the program, nothing Terminating; the repository keeps the shared tree`,
        minutes(12),
        async (e) => {
            const { world } = e;
            const start = Date.now();
            await world.pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", world.stack]);
            const gone = await eventually(
                "every namespace of the program and podinfo gone, none Terminating",
                60,
                async () => {
                    const names = (await world.kube.list("/api/v1/namespaces")).map(
                        (n) => `${n.metadata.name}${n.metadata.deletionTimestamp ? " (Terminating)" : ""}`,
                    );
                    const left = names.filter(
                        (n) => /^(podinfo|flux-system|kyverno|cert-manager)\b/.test(n) || n.endsWith("(Terminating)"),
                    );
                    return left.length === 0 ? names : undefined;
                },
                async () =>
                    (await world.kube.list("/api/v1/namespaces"))
                        .map((n) => `${n.metadata.name} ${n.status?.phase}`)
                        .join(", "),
            );
            e.timed("pulumi destroy (and namespaces gone)", (Date.now() - start) / 1000);
            // What is left is what the cluster had before the first up: the program's own namespaces too (gitops-preview) are gone.
            assert.deepEqual(gone.value.sort(), ["default", "kube-node-lease", "kube-public", "kube-system"]);
            const crds = (await world.kube.list("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")).map(
                (c) => c.metadata.name,
            );
            assert.deepEqual(
                crds.filter((c) => /fluxcd|kyverno|cert-manager/.test(c)),
                [],
                "CRDs left after destroy",
            );
            for (const kind of ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]) {
                const left = (await world.kube.list(`/apis/admissionregistration.k8s.io/v1/${kind}`)).map(
                    (w) => w.metadata.name,
                );
                assert.deepEqual(left, [], `${kind} left after destroy`);
            }
            const deployments = (await world.kube.list("/apis/apps/v1/deployments")).map(
                (d) => `${d.metadata.namespace}/${d.metadata.name}`,
            );
            assert.deepEqual(deployments, [], "Deployments left after destroy");
            assert.deepEqual(
                world.env.live.supervisor
                    .status()
                    .filter((s) => s.pid !== undefined)
                    .map((s) => s.pod),
                [],
                "host controllers still running",
            );
            const files = world.repoFiles();
            assert.ok(
                files.some((p) => p.startsWith("apps/base/")) && files.some((p) => p.startsWith("infrastructure/")),
                "the shared tree left the repository",
            );
            assert.ok(
                !files.some((p) => p.startsWith(`clusters/${world.stack}/`) || p.startsWith(`apps/${world.stack}/`)),
                `${world.stack}'s own paths remain`,
            );
        },
        oneCommitEach(envs, (stack) => `fleet(${stack}): remove the environment`),
    );
}
