// The live GitOps loop, for staging and production at once on one fleet
// repository: the real engine runs the real program (gitProvider ssh) against
// a live local cluster per environment, where the real Flux Operator,
// source-controller, kustomize-controller and Kyverno admission controller run.
// Flux clones the fleet repository with each deploy key, Kyverno mutates what
// Flux applies, drift detection accepts the mutations, the pull request's Flux
// diff section reads staging's cluster, a tag change flows through; then
// staging's own checks (a broken change reported, Flux's RBAC
// enforced), production's (Kyverno HA through its Service, Flux's leader
// election), what one repository shared by both must get right (a shared change
// reaches production only through its own up, a Git server outage, Flux deleted
// by hand), and destroy of both at once leaves nothing. Each bound is stated and each
// measured time printed.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { eventually, GITREPO, ks, LiveWorld } from "../../harness/live-world";
import {
    CONVERGE_SECONDS,
    destroyStep,
    LoopEnvironment,
    liveWorldHooks,
    loopSteps,
    minutes,
    tagChangeStep,
    up as upStack,
} from "./loop-steps";
import { fluxDiffSteps } from "./flux-diff-steps";
import { productionSteps } from "./production-steps";
import { sharedRepositorySteps } from "./shared-repo-steps";

const timings: string[] = [];
const timedIn = (stack: string) => (label: string, seconds: number) =>
    void timings.push(`${stack}: ${label}: ${seconds.toFixed(1)}s`);

describe("the live GitOps loop: staging and production on one repository, real Flux and Kyverno reconcile and mutate what pulumi up commits", function () {
    this.timeout(minutes(15));
    const world = new LiveWorld("staging");
    const up = () => upStack(world);
    const status = () => world.status();
    const describeLoop = () => world.describeLoop();
    const timed = timedIn("staging");
    const staging: LoopEnvironment = { world, tag: "6.9.2", replicas: 1, timed };
    const production: LoopEnvironment = {
        world: world.view("production"),
        tag: "6.7.1",
        replicas: 2,
        timed: timedIn("production"),
    };

    liveWorldHooks(world, timings, ["production"]);

    loopSteps([staging, production]);

    fluxDiffSteps(staging, 6);

    tagChangeStep([staging, production], 10);

    it("11. staging: a broken change reaching the cluster makes status exit 1, naming it", async function () {
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

    it("12. staging: Flux's controllers run as their pods' ServiceAccounts: a rule the ClusterRole lacks breaks the loop, naming it", async function () {
        this.timeout(minutes(3));
        // source-controller may touch its own kinds only through Flux's crd-controller ClusterRole.
        const roles = await world.kube.list("/apis/rbac.authorization.k8s.io/v1/clusterroles");
        const role = roles.find((r) => r.metadata.name.startsWith("crd-controller"));
        assert.ok(role, `no crd-controller ClusterRole among ${roles.map((r) => r.metadata.name).join(", ")}`);
        const rolePath = `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role.metadata.name}`;
        const rules = (role as unknown as { rules: { apiGroups?: string[] }[] }).rules;
        const log = world.env.live.supervisor
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

    productionSteps(production, 13);

    sharedRepositorySteps(staging, production, 17);

    destroyStep([staging, production], 20);
});
