// Two environments on one fleet repository at once, the Git server down during
// an up, Flux's objects deleted by hand, and a shared change that must reach
// production only through production's own up: the real engine runs the real
// program against two live local clusters and one SSH Git server. The steps
// share the world and run in order; every bound is stated and every time printed.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { readyCondition } from "../../local-cluster/kube-client";
import { RunResult } from "../../harness/pulumi-cli";
import { assertClean, E2eWorld, Environment, nextPodinfoTag, until } from "../../harness/e2e-world";

const minutes = (n: number) => n * 60_000;
const FLUX = "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances/flux";
const GITREPO = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system";
const SYNC = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system";
const INFRA_CONFIGS = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/infra-configs";
const SHARED_POLICY = "add-restricted-security-context";
const POLICY = `/apis/kyverno.io/v1/clusterpolicies/${SHARED_POLICY}`;
const MARKER = "gitops-kyverno/shared-change";
const stacks = ["staging", "production"] as const;
const timings: string[] = [];

describe("faults: two environments at once, a Git server outage, Flux objects deleted by hand", function () {
    this.timeout(minutes(20));
    const world = new E2eWorld();
    const envs = new Map<string, Environment>();
    const run = (args: string[], stack: string) =>
        world.pulumi.run([...args, "--stack", stack], { allowFailure: true });
    const both = async (args: string[]): Promise<Record<string, RunResult>> => {
        const results = await Promise.all(stacks.map((s) => run(args, s)));
        return Object.fromEntries(stacks.map((s, i) => [s, results[i]]));
    };
    const text = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
    const assertOk = (r: RunResult, what: string) =>
        assert.equal(r.code, 0, `${what} failed:\n${text(r).slice(-3000)}`);
    /** Subjects of the commits on main after `base`, oldest first. */
    const subjectsSince = (base: string) =>
        world
            .repo(["log", "--reverse", "--format=%s", `${base}..main`])
            .split("\n")
            .filter(Boolean);
    const fleetCommit = async (stack: string) =>
        String(
            (await world.pulumi.json<Record<string, unknown>>(["stack", "output", "--stack", stack])).value.fleetCommit,
        );

    before(async function () {
        this.timeout(minutes(6));
        await world.start();
        for (const s of stacks) envs.set(s, await world.addEnvironment(s));
    });

    after(async function () {
        this.timeout(minutes(3));
        console.log(`      timings:\n${timings.map((t) => `        ${t}`).join("\n")}`);
        await world.stop();
    });

    it("1. preview of both at once: both succeed and push nothing", async () => {
        const head = world.repo(["rev-parse", "main"]);
        const results = await both(["preview"]);
        for (const s of stacks) assertOk(results[s], `preview ${s}`);
        assert.equal(world.repo(["rev-parse", "main"]), head, "a preview pushed");
    });

    it("2. up of both at once: both succeed, each with exactly one commit of its own, none lost", async function () {
        this.timeout(minutes(15));
        const base = world.repo(["rev-parse", "main"]);
        const start = Date.now();
        const results = await both(["up", "--yes", "--skip-preview"]);
        timings.push(`up of staging and production at once: ${((Date.now() - start) / 1000).toFixed(1)}s`);
        for (const s of stacks) assertOk(results[s], `up ${s}`);
        assert.deepEqual(
            subjectsSince(base).sort(),
            stacks.map((s) => `fleet(${s}): sync the GitOps tree`).sort(),
            "not one commit per environment",
        );
        const files = world.repoFiles();
        for (const s of stacks) {
            for (const p of [
                `clusters/${s}/apps.yaml`,
                `clusters/${s}/infrastructure.yaml`,
                `apps/${s}/kustomization.yaml`,
            ]) {
                assert.ok(files.includes(p), `${p} is not on main`);
            }
            // Each fleetCommit is in main's history (the other environment may have pushed on top).
            world.repo(["merge-base", "--is-ancestor", await fleetCommit(s), "main"]);
            const env = envs.get(s)!;
            assert.equal(readyCondition(await env.kube.get(FLUX))?.status, "True", `${s}: FluxInstance not Ready`);
            assert.equal(readyCondition(await env.kube.get(GITREPO))?.status, "True", `${s}: GitRepository not Ready`);
        }
    });

    it("3. a shared policy change by staging's up is live in staging, and in production only after production's up", async function () {
        this.timeout(minutes(10));
        const marker = String(Date.now());
        const file = path.join(
            world.pulumi.projectDir,
            "fleet",
            "infrastructure",
            "configs",
            "policies",
            SHARED_POLICY,
            `${SHARED_POLICY}.yaml`,
        );
        const text = fs.readFileSync(file, "utf8");
        fs.writeFileSync(file, text.replace("  annotations:\n", `  annotations:\n    ${MARKER}: "${marker}"\n`));
        const policyMarker = async (s: string) => (await envs.get(s)!.kube.get(POLICY))?.metadata.annotations?.[MARKER];
        /** Asks Flux to reconcile an object now and waits until it has handled the request. */
        const reconciled = async (s: string, apiPath: string) => {
            const at = new Date().toISOString();
            const kube = envs.get(s)!.kube;
            await kube.patch(apiPath, { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": at } } });
            await until(
                `${s}: Flux handles the reconcile request on ${apiPath}`,
                60,
                async () => (await kube.get(apiPath))?.status?.lastHandledReconcileAt === at,
            );
        };

        assertOk(await run(["up", "--yes", "--skip-preview"], "staging"), "up staging with the shared change");
        const upReturned = Date.now();
        assert.match(
            world.repo(["show", `main:infrastructure/configs/policies/${SHARED_POLICY}/${SHARED_POLICY}.yaml`]),
            new RegExp(marker),
        );
        const describeSync = async (env: string) => {
            const kube = envs.get(env)!.kube;
            const lines = [];
            for (const p of [GITREPO, SYNC, INFRA_CONFIGS]) {
                const o = await kube.get(p);
                const c = readyCondition(o);
                lines.push(
                    `${p.split("/").slice(-2).join("/")}: ${c?.status} ${c?.message ?? ""} rev=${o?.status?.artifact?.revision ?? o?.status?.lastAppliedRevision}`,
                );
            }
            lines.push(`policy annotations: ${JSON.stringify((await kube.get(POLICY))?.metadata.annotations)}`);
            return lines.join("\n");
        };
        /** Waits until the marked policy is live in `env`, failing with that cluster's sync state. */
        const untilLive = async (env: string, what: string) => {
            let seen = "";
            await until(
                what,
                60,
                async () => {
                    seen = await describeSync(env);
                    return (await policyMarker(env)) === marker;
                },
                () => seen,
            );
        };
        await untilLive("staging", "the change is live in staging");
        timings.push(
            `staging's up -> the shared change live in staging: ${((Date.now() - upReturned) / 1000).toFixed(1)}s`,
        );
        // Production's source is asked to fetch at once, as `flux reconcile source git` does: following the
        // branch, it would take the new head now. (Its next up must then not fail on that annotation.)
        await reconciled("production", GITREPO);
        const source = await envs.get("production")!.kube.get(GITREPO);
        assert.equal(
            source?.status?.artifact?.revision,
            `main@sha1:${await fleetCommit("production")}`,
            "production's Flux left the commit of its own up",
        );
        assert.equal(await policyMarker("production"), undefined, "staging's up changed production's policy");

        const r = await run(["up", "--yes", "--skip-preview"], "production");
        assertOk(r, "up production");
        await untilLive("production", "the change is live in production after its own up");
        timings.push(`production's up taking the shared change: ${r.seconds.toFixed(1)}s`);
    });

    it("4. the Git server down during an up: a clear error naming it, nothing pushed; the same up converges once it is back", async function () {
        this.timeout(minutes(10));
        const head = world.repo(["rev-parse", "main"]);
        world.setPodinfoImage("staging", nextPodinfoTag);
        await world.git.pause();
        let failed: RunResult;
        try {
            failed = await run(["up", "--yes", "--skip-preview"], "staging");
        } finally {
            await world.git.resume();
        }
        timings.push(`up with the Git server down, until it failed: ${failed.seconds.toFixed(1)}s`);
        assert.notEqual(failed.code, 0, "up succeeded with the Git server down");
        const said = text(failed);
        assert.ok(
            said.includes(`failed against ${world.repoUrl}`),
            `the error does not name the Git server:\n${said.slice(-3000)}`,
        );
        assert.match(said, /cannot be reached: start it .*then run the same command again; nothing was pushed/);
        assert.doesNotMatch(said, /error: undefined|Unknown Error|\[object Object\]/);
        assert.ok(failed.seconds < 120, `the failure took ${failed.seconds}s`);
        assert.equal(world.repo(["rev-parse", "main"]), head, "something was pushed while the server was down");

        const again = await run(["up", "--yes", "--skip-preview"], "staging");
        assertOk(again, "up after the outage");
        assert.deepEqual(
            subjectsSince(head),
            ["fleet(staging): sync the GitOps tree"],
            "the re-run is not exactly one commit",
        );
        assert.match(
            world.repo(["show", "main:apps/staging/kustomization.yaml"]),
            new RegExp(`newTag: ${nextPodinfoTag.replace(/\./g, "\\.")}`),
        );
        const source = await envs.get("staging")!.kube.get(GITREPO);
        assert.equal(
            source?.status?.lastHandledReconcileAt,
            await fleetCommit("staging"),
            "Flux was not asked to fetch the new commit",
        );
    });

    it("5. the FluxInstance deleted by hand (Flux, its CRDs and the sync with it): up --refresh puts it all back", async function () {
        this.timeout(minutes(10));
        const kube = envs.get("staging")!.kube;
        await kube.delete(FLUX);
        const gone = Date.now();
        while ((await kube.get(GITREPO)) !== undefined || (await kube.get(FLUX)) !== undefined) {
            if (Date.now() - gone > 120_000) assert.fail("the FluxInstance's uninstall did not finish within 120s");
            await new Promise((r) => setTimeout(r, 1000));
        }
        const result = await run(["up", "--yes", "--skip-preview", "--refresh"], "staging");
        assertOk(result, "up --refresh after the hand deletion");
        timings.push(`up --refresh putting back the FluxInstance and the sync: ${result.seconds.toFixed(1)}s`);
        for (const [what, p] of [
            ["FluxInstance", FLUX],
            ["GitRepository flux-system", GITREPO],
            ["Kustomization flux-system", SYNC],
        ]) {
            assert.equal(
                readyCondition(await kube.get(p))?.status,
                "True",
                `${what} is not back and Ready after up --refresh`,
            );
        }
    });

    it("6. destroy of both at once: both succeed, each removing its own paths in one commit, and leave their clusters clean", async function () {
        this.timeout(minutes(15));
        const base = world.repo(["rev-parse", "main"]);
        const start = Date.now();
        const results = await both(["destroy", "--yes", "--skip-preview"]);
        timings.push(`destroy of staging and production at once: ${((Date.now() - start) / 1000).toFixed(1)}s`);
        for (const s of stacks) assertOk(results[s], `destroy ${s}`);
        assert.deepEqual(
            subjectsSince(base).sort(),
            stacks.map((s) => `fleet(${s}): remove the environment`).sort(),
            "not one removal commit per environment",
        );
        const left = world
            .repoFiles()
            .filter((p) => stacks.some((s) => p.startsWith(`clusters/${s}/`) || p.startsWith(`apps/${s}/`)));
        assert.deepEqual(left, [], "an environment's paths remain");
        for (const s of stacks) await assertClean(envs.get(s)!);
    });
});
