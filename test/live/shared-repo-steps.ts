// What two environments on one fleet repository must get right after their
// loops (steps of loop.test.ts): a shared change committed by staging's up is
// live in staging and reaches production only through production's own up;
// the Git server down during an up fails clearly and pushes nothing, and the
// same up converges once it is back; the FluxInstance deleted by hand comes
// back with `up --refresh`.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { until } from "../../harness/e2e-world";
import { GITREPO, ks, LiveWorld } from "../../harness/live-world";
import type { RunResult } from "../../harness/pulumi-cli";
import { readyCondition } from "../../local-cluster/kube-client";
import { fleetCommit, LoopEnvironment, minutes } from "./loop-steps";

const FLUX = "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances/flux";
const SHARED_POLICY = "add-restricted-security-context";
const POLICY = `/apis/kyverno.io/v1/clusterpolicies/${SHARED_POLICY}`;
const MARKER = "gitops-kyverno/shared-change";

const text = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
const assertOk = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what} failed:\n${text(r).slice(-3000)}`);
const upOf = (world: LiveWorld, extra: string[] = []) =>
    world.pulumi.run(["up", "--yes", "--skip-preview", ...extra, "--stack", world.stack], { allowFailure: true });

/** Subjects of the commits on main after `base`, oldest first. */
export const subjectsSince = (world: LiveWorld, base: string) =>
    world
        .repo(["log", "--reverse", "--format=%s", `${base}..main`])
        .split("\n")
        .filter(Boolean);

/** The shared-repository steps, numbered from `first`. */
export function sharedRepositorySteps(staging: LoopEnvironment, production: LoopEnvironment, first: number): void {
    const s = staging.world;
    const p = production.world;

    it(`${first}. a shared policy change by staging's up is live in staging, and in production only after production's up`, async function () {
        this.timeout(minutes(10));
        const marker = String(Date.now());
        const file = path.join(
            s.pulumi.projectDir,
            "fleet",
            "infrastructure",
            "configs",
            "policies",
            SHARED_POLICY,
            `${SHARED_POLICY}.yaml`,
        );
        const original = fs.readFileSync(file, "utf8");
        fs.writeFileSync(file, original.replace("  annotations:\n", `  annotations:\n    ${MARKER}: "${marker}"\n`));
        const policyMarker = async (w: LiveWorld) => (await w.kube.get(POLICY))?.metadata.annotations?.[MARKER];
        const describeSync = async (w: LiveWorld) =>
            w.describeLoop(async () => [
                `policy annotations: ${JSON.stringify((await w.kube.get(POLICY))?.metadata.annotations)}`,
            ]);
        /** Waits until the marked policy is live in `w`, failing with that cluster's sync state. */
        const untilLive = async (w: LiveWorld, what: string) => {
            let seen = "";
            await until(
                what,
                60,
                async () => {
                    seen = await describeSync(w);
                    return (await policyMarker(w)) === marker;
                },
                () => seen,
            );
        };

        assertOk(await upOf(s), "up staging with the shared change");
        const upReturned = Date.now();
        assert.match(
            s.repo(["show", `main:infrastructure/configs/policies/${SHARED_POLICY}/${SHARED_POLICY}.yaml`]),
            new RegExp(marker),
        );
        await untilLive(s, "the change is live in staging");
        staging.timed("staging's up -> the shared change live in staging", (Date.now() - upReturned) / 1000);
        // Production's source is asked to fetch at once, as `flux reconcile source git` does: following the
        // branch, it would take the new head now. (Its next up must then not fail on that annotation.)
        const asked = await p.requestReconcile(GITREPO);
        await until(
            "production: Flux handles the reconcile request on its GitRepository",
            60,
            async () => (await p.kube.get(GITREPO))?.status?.lastHandledReconcileAt === asked,
        );
        assert.equal(
            (await p.kube.get(GITREPO))?.status?.artifact?.revision,
            `main@sha1:${await fleetCommit(p)}`,
            "production's Flux left the commit of its own up",
        );
        assert.equal(await policyMarker(p), undefined, "staging's up changed production's policy");

        const r = await upOf(p);
        assertOk(r, "up production");
        await untilLive(p, "the change is live in production after its own up");
        production.timed("production's up taking the shared change", r.seconds);
    });

    it(`${first + 1}. the Git server down during an up: a clear error naming it, nothing pushed; the same up converges once it is back`, async function () {
        this.timeout(minutes(10));
        const head = s.repo(["rev-parse", "main"]);
        // Back to the tag staging's overlay commits: a change to push.
        s.setPodinfoImage("staging", staging.tag);
        await s.git.pause();
        let failed: RunResult;
        try {
            failed = await upOf(s);
        } finally {
            await s.git.resume();
        }
        staging.timed("up with the Git server down, until it failed", failed.seconds);
        assert.notEqual(failed.code, 0, "up succeeded with the Git server down");
        const said = text(failed);
        assert.ok(said.includes(`failed against ${s.repoUrl}`), `the error does not name the Git server:\n${said}`);
        assert.match(said, /cannot be reached: start it .*then run the same command again; nothing was pushed/);
        assert.doesNotMatch(said, /error: undefined|Unknown Error|\[object Object\]/);
        assert.ok(failed.seconds < 120, `the failure took ${failed.seconds}s`);
        assert.equal(s.repo(["rev-parse", "main"]), head, "something was pushed while the server was down");

        assertOk(await upOf(s), "up after the outage");
        assert.deepEqual(
            subjectsSince(s, head),
            ["fleet(staging): sync the GitOps tree"],
            "the re-run is not exactly one commit",
        );
        assert.match(
            s.repo(["show", "main:apps/staging/kustomization.yaml"]),
            new RegExp(`newTag: ${staging.tag.replace(/\./g, "\\.")}`),
        );
        assert.equal(
            (await s.kube.get(GITREPO))?.status?.lastHandledReconcileAt,
            await fleetCommit(s),
            "Flux was not asked to fetch the new commit",
        );
    });

    it(`${first + 2}. the FluxInstance deleted by hand (Flux, its CRDs and the sync with it): up --refresh puts it all back`, async function () {
        this.timeout(minutes(10));
        await s.kube.delete(FLUX);
        await until(
            "the FluxInstance's uninstall finished (FluxInstance and GitRepository gone)",
            120,
            async () => (await s.kube.get(GITREPO)) === undefined && (await s.kube.get(FLUX)) === undefined,
        );
        const result = await upOf(s, ["--refresh"]);
        assertOk(result, "up --refresh after the hand deletion");
        staging.timed("up --refresh putting back the FluxInstance and the sync", result.seconds);
        for (const [what, apiPath] of [
            ["FluxInstance", FLUX],
            ["GitRepository flux-system", GITREPO],
            ["Kustomization flux-system", ks("flux-system")],
        ]) {
            assert.equal(
                readyCondition(await s.kube.get(apiPath))?.status,
                "True",
                `${what} is not back and Ready after up --refresh`,
            );
        }
    });
}
