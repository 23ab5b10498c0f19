// The real Pulumi engine runs the real program (ssh Git provider) against
// local servers, one live local cluster per environment (real charts, Flux
// and Kyverno; simulated nodes): preview, up, a no-op up, refresh, a one-file
// change, secrets in state, a settings error, a second environment sharing the
// fleet repository, and destroy. The steps share state and run in order.
// (test/live covers what Flux and Kyverno then do.)
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { KubeApi, KubeObject } from "../../harness/kube-api";
import { PreviewJson, urnType } from "../../harness/pulumi-cli";
import { secretsIn } from "../support/secret-forms";
import {
    assertClean,
    assertCommitted,
    E2eWorld,
    Environment,
    expectedFleetTree,
    programNamespaces,
    seedFiles,
} from "../../harness/e2e-world";

const minutes = (n: number) => n * 60_000;
const changingOps = (p: PreviewJson) => p.steps.filter((s) => s.op !== "same");
const kyvernoAdmission = "/apis/apps/v1/namespaces/kyverno/deployments/kyverno-admission-controller";

describe("the real Pulumi engine against local servers", function () {
    this.timeout(minutes(10));
    const world = new E2eWorld();
    let staging: Environment;
    const fleetDir = () => path.join(world.pulumi.projectDir, "fleet");
    const preview = async (stack: string) =>
        (await world.pulumi.json<PreviewJson>(["preview", "--stack", stack])).value;
    const up = (stack: string) => world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", stack]);
    const outputs = async (stack: string) =>
        (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", stack])).value;
    const lastUpdate = async (stack: string) =>
        (
            await world.pulumi.json<{ kind: string; result: string; resourceChanges?: Record<string, number> }[]>([
                "stack",
                "history",
                "--stack",
                stack,
            ])
        ).value[0];
    /** The URNs and types in the stack's state, for comparing before and after. */
    const stateResources = async (stack: string) => {
        const exported = (await world.pulumi.run(["stack", "export", "--stack", stack])).stdout;
        const value = JSON.parse(exported) as { deployment: { resources?: { urn: string }[] } };
        return (value.deployment.resources ?? []).map((r) => r.urn).sort();
    };

    before(async function () {
        this.timeout(minutes(5));
        await world.start();
        staging = await world.addEnvironment("staging");
    });

    after(async function () {
        this.timeout(minutes(3));
        for (const entry of world.pulumi?.log ?? []) {
            console.log(
                `      pulumi ${entry.args.slice(0, 3).join(" ")}: ${entry.seconds.toFixed(1)}s (exit ${entry.code})`,
            );
        }
        await world.stop();
    });

    it("1. preview on a fresh stack succeeds, lists the resources, and creates nothing", async () => {
        const plan = await preview("staging");
        const types = new Set(plan.steps.filter((s) => s.op === "create").map((s) => urnType(s.urn)));
        for (const t of [
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Secret",
            "kubernetes:helm.sh/v3:Release",
            "kubernetes:fluxcd.controlplane.io/v1:FluxInstance",
            "kubernetes-cert-manager:index:CertManager",
            "tls:index/privateKey:PrivateKey",
            "pulumi-nodejs:dynamic/gitops-kyverno:FleetFiles",
        ]) {
            assert.ok(types.has(t), `preview lists no ${t} to create; it lists: ${[...types].join(", ")}`);
        }
        assert.ok(
            !plan.steps.some((s) => urnType(s.urn).startsWith("github:")),
            "an ssh-mode stack must register no github resource",
        );
        assert.equal(world.commitCount(), 1, "preview pushed to the fleet repository");
        assert.equal(await staging.kube.namespace("flux-system"), undefined, "preview created a namespace");
    });

    it("2. up creates the namespaces, deploy key secret, Flux and Kyverno objects, and ONE commit with the whole tree", async function () {
        this.timeout(minutes(15));
        const seedHead = world.repo(["rev-parse", "main"]);
        await up("staging");
        const out = await outputs("staging");

        for (const ns of programNamespaces) assert.ok(await staging.kube.namespace(ns), `namespace ${ns} missing`);
        const secret = KubeApi.decode(await staging.kube.secret("flux-system", "flux-system"));
        assert.match(secret.identity ?? "", /-----BEGIN OPENSSH PRIVATE KEY-----/);
        assert.equal(secret["identity.pub"]?.trim(), String(out.deployKeyPublic).trim());
        assert.equal(secret.known_hosts?.trim(), world.git.knownHosts);

        const source = await staging.kube.get<KubeObject>(
            "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system",
        );
        assert.equal(source?.spec?.url, world.repoUrl);
        assert.deepEqual(source?.spec?.secretRef, { name: "flux-system" });
        const sync = await staging.kube.get<KubeObject>(
            "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system",
        );
        assert.equal(sync?.spec?.path, "./clusters/staging");
        const kyverno = await staging.kube.get<KubeObject>(kyvernoAdmission);
        assert.equal(kyverno?.spec?.replicas, 1, "staging's Kyverno replicas did not reach the chart");
        assert.ok(await staging.kube.crd("certificates.cert-manager.io"), "cert-manager's CRDs were not installed");
        assert.ok(
            await staging.kube.get("/apis/apps/v1/namespaces/cert-manager/deployments/cert-manager"),
            "cert-manager chart not installed",
        );
        for (const tgz of ["flux-operator", "kyverno", "cert-manager"]) {
            assert.ok(
                staging.live.charts.requests.some((r) => r.startsWith(`/${tgz}-`)),
                `chart ${tgz} was not fetched from the mirror`,
            );
        }

        // Exactly one new commit, holding the whole tree plus the seed files.
        assert.equal(world.commitCount(), 2);
        assert.equal(world.repo(["rev-parse", "main~1"]), seedHead);
        const tree = expectedFleetTree("staging", staging.live.registry.host);
        assert.deepEqual(world.repoFiles(), [...Object.keys(tree), ...Object.keys(seedFiles)].sort());
        for (const [p, expected] of Object.entries(tree))
            assertCommitted(p, world.repo(["show", `main:${p}`]), expected);
        assert.equal(out.fleetCommit, world.repo(["rev-parse", "main"]));

        // The deploy key reads the repository over SSH once registered read-only, and cannot push.
        world.git.authorize(String(out.deployKeyPublic), "read");
        const deployKey = world.git.importKey("flux-staging", secret.identity);
        assert.equal(
            deployKey.publicKey,
            String(out.deployKeyPublic).trim(),
            "the secret's private half does not match deployKeyPublic",
        );
        assert.match(world.git.gitAs(deployKey, ["ls-remote", world.repoUrl, "main"]), /refs\/heads\/main/);
        assert.throws(() => world.git.gitAs(deployKey, ["push", world.repoUrl, "main:refs/heads/x"]), /read-only/);
    });

    it("3. a second up changes nothing and pushes nothing; refresh then preview shows no drift", async function () {
        this.timeout(minutes(15));
        const head = world.repo(["rev-parse", "main"]);
        await up("staging");
        const update = await lastUpdate("staging");
        assert.equal(update.result, "succeeded");
        const changed = Object.entries(update.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepEqual(changed, [], "the second up changed resources");
        assert.equal(world.repo(["rev-parse", "main"]), head, "the second up pushed a commit");

        await world.pulumi.run(["refresh", "--yes", "--skip-preview", "--stack", "staging"]);
        const plan = await preview("staging");
        assert.deepEqual(
            changingOps(plan).map((s) => `${s.op} ${s.urn}`),
            [],
            "preview after refresh shows drift",
        );
    });

    it("4. a change to one file of the tree previews as that file alone and ups as exactly one commit", async function () {
        this.timeout(minutes(15));
        const file = "apps/base/podinfo/service.yaml";
        fs.appendFileSync(path.join(fleetDir(), file), "# e2e: one changed file\n");
        const plan = await preview("staging");
        const changes = changingOps(plan);
        // The commit, and the GitRepository's request that Flux fetch it (components/cluster-sync.ts).
        assert.deepEqual(changes.map((s) => `${s.op} ${urnType(s.urn)}`).sort(), [
            "update kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
            "update pulumi-nodejs:dynamic/gitops-kyverno:FleetFiles",
        ]);
        const diff = await world.pulumi.run(["preview", "--diff", "--stack", "staging"]);
        if (process.env.E2E_DEBUG) fs.writeFileSync(path.join(process.env.E2E_DEBUG, "preview-diff.txt"), diff.stdout);
        // The diff prints the whole `files` map; changed entries carry a ~, + or - marker.
        const marked = diff.stdout.split("\n").filter((l) => /^\s*[~+-] /.test(l));
        const mentioned = Object.keys(expectedFleetTree("staging", staging.live.registry.host)).filter((p) =>
            marked.some((l) => l.trim().slice(2).startsWith(`${p} `)),
        );
        assert.deepEqual(mentioned, [file], "preview --diff marks other files than the changed one as changing");

        const before = world.commitCount();
        await up("staging");
        assert.equal(world.commitCount(), before + 1);
        assert.deepEqual(world.changedIn("main"), [file]);
    });

    it("5. stack export holds neither the deploy key's private half nor the write key in plaintext, in any form", async () => {
        const exported = (await world.pulumi.run(["stack", "export", "--stack", "staging"])).stdout;
        const secret = KubeApi.decode(await staging.kube.secret("flux-system", "flux-system"));
        // As is, line by line, base64-encoded at any offset, JSON-escaped once or twice.
        const held = { "the deploy key": secret.identity, "the write key": world.writeKey.privateKey };
        assert.deepEqual(secretsIn(exported, held), [], "a private key is in the state in plaintext");
        assert.ok(!/PRIVATE KEY/.test(exported), "a PEM private key is in the state in plaintext");
        assert.ok(exported.includes("4dabf18193072939515e22adb298388d"), "the state holds no secret value at all");
        const shown = (await world.pulumi.run(["stack", "output", "--json", "--stack", "staging"])).stdout;
        assert.ok(!/PRIVATE KEY/.test(shown));
        assert.deepEqual(secretsIn(shown, held), []);
    });

    it("6. a bad setting fails before anything is created, naming the key and the fix; the stack is unchanged", async function () {
        this.timeout(minutes(5));
        const resources = await stateResources("staging");
        const head = world.repo(["rev-parse", "main"]);
        await world.pulumi.setConfig("staging", { gitProvider: "github", githubOwner: "" });
        try {
            const failed = await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"], {
                allowFailure: true,
            });
            assert.notEqual(failed.code, 0, "up with an empty owner succeeded");
            const text = failed.stdout + failed.stderr;
            assert.match(text, /gitops-kyverno:githubOwner is missing/);
            assert.match(text, /pulumi config set githubOwner .* --stack staging/);
        } finally {
            await world.pulumi.run(["config", "rm", "githubOwner", "--stack", "staging"]);
            await world.pulumi.setConfig("staging", { gitProvider: "ssh" });
        }
        assert.deepEqual(await stateResources("staging"), resources, "the failed up changed the stack's resources");
        assert.equal(world.repo(["rev-parse", "main"]), head);
    });

    let production: Environment;
    it("7. a second environment shares the repository: one commit of its own paths; destroying the first keeps it all", async function () {
        this.timeout(minutes(20));
        production = await world.addEnvironment("production");
        const before = world.commitCount();
        await up("production");
        assert.equal(world.commitCount(), before + 1, "production's up is not one commit");
        const own = (p: string) => p.startsWith("apps/production/") || p.startsWith("clusters/production/");
        const added = world.changedIn("main");
        assert.ok(
            added.length > 0 && added.every(own),
            `production's commit touched shared or foreign paths: ${added.join(", ")}`,
        );
        const productionExpected = expectedFleetTree("production", production.live.registry.host);
        const productionTree = Object.keys(productionExpected);
        for (const p of productionTree) assert.ok(world.repoFiles().includes(p), `${p} missing after production's up`);
        for (const p of productionTree.filter(own))
            assertCommitted(p, world.repo(["show", `main:${p}`]), productionExpected[p]);
        const kyverno = await production.kube.get<KubeObject>(kyvernoAdmission);
        assert.equal(kyverno?.spec?.replicas, 3, "production's HA Kyverno replicas did not reach the chart");
        const prodOut = await outputs("production");
        world.git.authorize(String(prodOut.deployKeyPublic), "read");

        await world.pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", "staging"]);
        const files = world.repoFiles();
        assert.ok(
            !files.some((p) => p.startsWith("apps/staging/") || p.startsWith("clusters/staging/")),
            "staging's paths remain",
        );
        for (const p of [...productionTree, ...Object.keys(seedFiles)])
            assert.ok(files.includes(p), `${p} was removed by staging's destroy`);
        assert.ok(files.some((p) => p.startsWith("apps/base/")) && files.some((p) => p.startsWith("infrastructure/")));
        const prodSecret = KubeApi.decode(await production.kube.secret("flux-system", "flux-system"));
        assert.equal(
            prodSecret["identity.pub"]?.trim(),
            String(prodOut.deployKeyPublic).trim(),
            "production's deploy key changed",
        );
        const key = world.git.importKey("flux-production", prodSecret.identity);
        assert.match(world.git.gitAs(key, ["ls-remote", world.repoUrl, "main"]), /refs\/heads\/main/);
    });

    it("8. destroy leaves none of the program's objects and no namespace Terminating", async function () {
        this.timeout(minutes(15));
        await assertClean(staging);
        await world.pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", "production"]);
        await assertClean(production);
        assert.ok(
            world.commitCount() > 0 && world.repoFiles().includes("README.md"),
            "the repository itself must survive",
        );
    });
});
