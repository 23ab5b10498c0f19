// The live GitOps loop: the real engine runs the real program (stack staging,
// gitProvider ssh) against the live local cluster, where the real Flux
// Operator, source-controller, kustomize-controller and Kyverno admission
// controller run. Flux clones the fleet repository with the deploy key,
// Kyverno mutates what Flux applies, drift detection accepts the mutations,
// a tag change flows through, a broken change is reported, and destroy leaves
// nothing. The steps share one cluster and run in order; each bound is stated
// and each measured time printed.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { readyCondition } from "../../local-cluster/kube-client";
import { eventually, GITREPO, ks, LiveWorld, nextPodinfoTag } from "../../harness/live-world";

const minutes = (n: number) => n * 60_000;
const FLUX = "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances/flux";
const policy = (name: string) => `/apis/kyverno.io/v1/clusterpolicies/${name}`;
const policies = ["add-restricted-security-context", "resolve-image-digest"];
/** The bound for a change to converge after `pulumi up` returns (the goal is 30 s). */
const CONVERGE_SECONDS = 30;
const timings: string[] = [];
const timed = (label: string, seconds: number) => timings.push(`${label}: ${seconds.toFixed(1)}s`);

describe("the live GitOps loop: real Flux and Kyverno reconcile and mutate what pulumi up commits", function () {
    this.timeout(minutes(15));
    const world = new LiveWorld();
    const up = () => world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);
    const fleetCommit = async () =>
        String(
            (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", "staging"])).value
                .fleetCommit,
        );
    const status = () => world.status();
    const liveImage = () => world.podinfoImage();
    const describeLoop = () => world.describeLoop();

    before(async function () {
        this.timeout(minutes(5));
        await world.startLive();
    });

    after(async function () {
        this.timeout(minutes(3));
        console.log(`      timings:\n${timings.map((t) => `        ${t}`).join("\n")}`);
        for (const entry of world.pulumi?.log ?? [])
            console.log(
                `      pulumi ${entry.args.slice(0, 3).join(" ")}: ${entry.seconds.toFixed(1)}s (exit ${entry.code})`,
            );
        if (process.env.LIVE_KEEP) console.log(`      live cluster logs: ${world.staging?.cluster.dir}`);
        await world.stop();
    });

    it("1. pulumi up returns only once the FluxInstance is Ready and Flux has fetched the fleet commit", async function () {
        this.timeout(minutes(12));
        const result = await up();
        timed("pulumi up (fresh stack)", result.seconds);
        const instance = await world.kube.get(FLUX);
        assert.equal(
            readyCondition(instance)?.status,
            "True",
            `FluxInstance not Ready when up returned: ${JSON.stringify(readyCondition(instance))}`,
        );
        const source = await world.kube.get(GITREPO);
        assert.equal(
            source?.status?.lastHandledReconcileAt,
            await fleetCommit(),
            "up returned before Flux handled the fetch of the fleet commit",
        );
        assert.equal(readyCondition(source)?.status, "True");
    });

    it(`2. within ${CONVERGE_SECONDS}s of up returning: the source at fleetCommit, every Kustomization and policy Ready, podinfo Available`, async () => {
        const commit = await fleetCommit();
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
        timed("up returned -> podinfo mutated and Available", converged.seconds);
    });

    it("3. Kyverno mutated the live Deployment (restricted securityContext, image by digest) while Git keeps the tag and no securityContext", async () => {
        const d = await world.deployment();
        const pod = d?.spec?.template?.spec;
        assert.equal(
            pod?.securityContext?.runAsNonRoot,
            true,
            `pod securityContext: ${JSON.stringify(pod?.securityContext)}`,
        );
        assert.equal(pod?.securityContext?.seccompProfile?.type, "RuntimeDefault");
        for (const c of pod?.containers ?? []) {
            const sc = c.securityContext ?? {};
            assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: ${JSON.stringify(sc)}`);
            assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${c.name}: ${JSON.stringify(sc)}`);
            assert.equal(sc.runAsNonRoot, true, `${c.name}: ${JSON.stringify(sc)}`);
            assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: ${JSON.stringify(sc)}`);
            assert.ok(
                String(c.image).endsWith(`@${world.digest("staging", "6.9.2")}`),
                `${c.name} image ${c.image} is not pinned to podinfo 6.9.2's digest ${world.digest("staging", "6.9.2")}`,
            );
            assert.ok(String(c.image).startsWith(`${world.staging.live.registry.host}/stefanprodan/podinfo`), c.image);
        }
        const inGit = world.repo(["show", "main:apps/base/podinfo/deployment.yaml"]);
        assert.doesNotMatch(inGit, /securityContext:/, "the fleet repository's Deployment has a securityContext");
        assert.match(world.repo(["show", "main:apps/staging/kustomization.yaml"]), /newTag: 6\.9\.2/);
        assert.doesNotMatch(world.repo(["show", "main:apps/staging/kustomization.yaml"]), /sha256:/);
    });

    it("4. flux diff reports no drift for the mutated Deployment; a hand edit is reported and reverted by the next reconcile", async () => {
        const clone = world.clone();
        try {
            const clean = world.flux(["diff", "kustomization", "apps", "--path", "./apps/staging"], clone);
            assert.equal(clean.code, 0, `flux diff reports drift on a freshly reconciled tree:\n${clean.output}`);

            await world.kube.patch("/apis/apps/v1/namespaces/podinfo/deployments/podinfo", { spec: { replicas: 3 } });
            const drifted = world.flux(["diff", "kustomization", "apps", "--path", "./apps/staging"], clone);
            assert.equal(drifted.code, 1, `flux diff does not report a hand edit:\n${drifted.output}`);
            assert.match(drifted.output, /replicas/);

            await world.requestReconcile(ks("apps"));
            const reverted = await eventually(
                "the hand edit reverted",
                CONVERGE_SECONDS,
                async () => ((await world.deployment())?.spec?.replicas === 1 ? true : undefined),
                describeLoop,
            );
            timed("hand edit reverted after a reconcile request", reverted.seconds);
        } finally {
            fs.rmSync(clone, { recursive: true, force: true });
        }
    });

    it(`5. a tag change: up makes one commit and the live digest follows within ${CONVERGE_SECONDS}s; status exits 0`, async function () {
        this.timeout(minutes(8));
        const before = world.commitCount();
        world.setPodinfoImage("staging", nextPodinfoTag);
        await up();
        assert.equal(world.commitCount(), before + 1, "the tag change is not exactly one commit");
        assert.deepEqual(world.changedIn("main"), ["apps/staging/kustomization.yaml"]);
        const followed = await eventually(
            `podinfo running ${nextPodinfoTag}'s digest`,
            CONVERGE_SECONDS,
            async () => {
                const image = await liveImage();
                return image?.endsWith(`@${world.digest("staging", nextPodinfoTag)}`) ? image : undefined;
            },
            describeLoop,
        );
        assert.equal(
            followed.value,
            `${world.staging.live.registry.host}/stefanprodan/podinfo@${world.digest("staging", nextPodinfoTag)}`,
        );
        timed("tag-change up returned -> new digest live", followed.seconds);
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
            new RegExp(`Kustomization flux-system/apps +Ready=True, revision main@sha1:${await fleetCommit()}`),
        );
        assert.ok(ok.value.stdout.includes(`@${world.digest("staging", nextPodinfoTag)}`), ok.value.stdout);
        assert.match(ok.value.stdout, /\nall ready\n/);
    });

    it("6. a broken change reaching the cluster makes status exit 1, naming it", async function () {
        this.timeout(minutes(8));
        const overlay = path.join(world.pulumi.projectDir, "fleet", "apps", "staging", "kustomization.yaml");
        const good = fs.readFileSync(overlay, "utf8");
        fs.writeFileSync(overlay, good.replace("resources:\n", "resources:\n  - missing-file.yaml\n"));
        try {
            await up();
            const failed = await eventually(
                "status exit 1 naming the apps Kustomization",
                CONVERGE_SECONDS,
                async () => {
                    const r = status();
                    return r.status === 1 &&
                        /apps/.test(r.stdout + r.stderr) &&
                        /missing-file/.test(r.stdout + r.stderr)
                        ? r
                        : undefined;
                },
                async () => {
                    const r = status();
                    return `exit ${r.status}\n${r.stdout}${r.stderr}`;
                },
            );
            assert.match(failed.value.stdout + failed.value.stderr, /Kustomization flux-system\/apps/);
        } finally {
            fs.writeFileSync(overlay, good);
            await up();
        }
        await eventually(
            "apps Ready again after the fix",
            CONVERGE_SECONDS,
            async () => ((await world.ready(ks("apps"))) ? true : undefined),
            describeLoop,
        );
    });

    it("7. Flux's controllers run as their pods' ServiceAccounts: a rule the ClusterRole lacks breaks the loop, naming it", async function () {
        this.timeout(minutes(3));
        // source-controller may touch its own kinds only through Flux's crd-controller ClusterRole.
        const roles = await world.kube.list("/apis/rbac.authorization.k8s.io/v1/clusterroles");
        const role = roles.find((r) => r.metadata.name.startsWith("crd-controller"));
        assert.ok(role, `no crd-controller ClusterRole among ${roles.map((r) => r.metadata.name).join(", ")}`);
        const rolePath = `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role.metadata.name}`;
        const rules = (role as unknown as { rules: { apiGroups?: string[] }[] }).rules;
        const log = world.staging.live.supervisor
            .status()
            .find((s) => s.deployment === "flux-system/source-controller")?.log;
        assert.ok(log, "source-controller is not running as a host process");
        const logFrom = fs.statSync(log).size;
        await world.kube.patch(rolePath, {
            rules: rules.filter((r) => !(r.apiGroups ?? []).includes("source.toolkit.fluxcd.io")),
        });
        try {
            const asked = await world.requestReconcile(GITREPO);
            const refused = await eventually(
                "source-controller's log naming its ServiceAccount refused on gitrepositories",
                CONVERGE_SECONDS,
                async () => {
                    const text = fs.readFileSync(log, "utf8").slice(logFrom);
                    // controller-runtime logs JSON: the quotes around the user are escaped.
                    return /"system:serviceaccount:flux-system:source-controller" cannot \w+ resource "gitrepositories/.test(
                        text.replace(/\\"/g, '"'),
                    )
                        ? text
                        : undefined;
                },
                async () => fs.readFileSync(log, "utf8").slice(logFrom).slice(-2000),
            );
            timed("ClusterRole rule removed -> source-controller refused", refused.seconds);
            assert.notEqual(
                (await world.kube.get(GITREPO))?.status?.lastHandledReconcileAt,
                asked,
                "the GitRepository was reconciled without the rule",
            );
        } finally {
            await world.kube.patch(rolePath, { rules });
        }
        const asked = await world.requestReconcile(GITREPO);
        const handled = await eventually(
            "the GitRepository reconciled again once the rule is back",
            CONVERGE_SECONDS,
            async () => ((await world.kube.get(GITREPO))?.status?.lastHandledReconcileAt === asked ? true : undefined),
            describeLoop,
        );
        timed("rule restored -> GitRepository reconciled", handled.seconds);
    });

    it("8. destroy leaves nothing: no workload, namespace, CRD or webhook of the program, nothing Terminating; the repository keeps the shared tree", async function () {
        this.timeout(minutes(12));
        const start = Date.now();
        await world.pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", "staging"]);
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
        timed("pulumi destroy (and namespaces gone)", (Date.now() - start) / 1000);
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
            world.staging.live.supervisor
                .status()
                .filter((s) => s.pid !== undefined)
                .map((s) => s.deployment),
            [],
            "host controllers still running",
        );
        const files = world.repoFiles();
        assert.ok(
            files.some((p) => p.startsWith("apps/base/")) && files.some((p) => p.startsWith("infrastructure/")),
            "the shared tree left the repository",
        );
        assert.ok(
            !files.some((p) => p.startsWith("clusters/staging/") || p.startsWith("apps/staging/")),
            "staging's own paths remain",
        );
    });
});
