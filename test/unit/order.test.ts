// The dependencies that order `pulumi up` (and, reversed, `pulumi destroy`).
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { GitOpsEnvironment } from "../../components/gitops-environment";
import { loadSettings } from "../../stacks/settings";
import { dynamicType, githubConfig, installMocks, settle } from "../../harness/mocks";

interface Seen {
    type: string;
    name: string;
    resource: pulumi.Resource;
    dependsOn: pulumi.Resource[];
    parent?: pulumi.Resource;
    args: Record<string, any>;
}

describe("the order of an environment's resources", () => {
    let env: GitOpsEnvironment;
    const seen: Seen[] = [];
    const find = (type: string, name?: string) => {
        const s = seen.find((x) => x.type === type && (name === undefined || x.name === name));
        assert.ok(s, `no ${type} ${name ?? ""} registered`);
        return s!;
    };

    before(async () => {
        installMocks("staging", githubConfig(), ["github:token"]);
        const capture: pulumi.ResourceTransformation = (args) => {
            const deps = args.opts.dependsOn;
            seen.push({
                type: args.type,
                name: args.name,
                resource: args.resource,
                dependsOn: (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[],
                parent: args.opts.parent,
                args: args.props,
            });
            return undefined;
        };
        env = new GitOpsEnvironment("staging", { settings: loadSettings("staging") }, { transformations: [capture] });
        await settle();
    });

    it("starts Flux's sync only after the deploy key, the fleet commit, Kyverno and a Ready FluxInstance", () => {
        const source = find("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository");
        const sync = find("gitops-kyverno:gitops:ClusterSync");
        assert.strictEqual(
            source.parent,
            sync.resource,
            "the GitRepository is not a child of the ClusterSync component",
        );
        for (const [what, dep] of [
            ["the deploy key", env.deployKey],
            ["the fleet commit", env.fleet],
            ["Kyverno", env.kyverno],
            ["the FluxInstance", env.flux.instance],
        ] as const) {
            assert.ok(sync.dependsOn.includes(dep), `the ClusterSync does not depend on ${what}`);
        }
        const secret = find("kubernetes:core/v1:Secret");
        assert.ok(sync.dependsOn.includes(secret.resource), "the ClusterSync does not depend on the deploy key secret");
        const instance = find("kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
        assert.ok(
            instance.dependsOn.includes(env.flux.operator),
            "the FluxInstance does not depend on the Flux Operator release",
        );
    });

    it("deletes the sync Kustomization (which prunes what Flux applied) before the GitRepository and the FluxInstance", () => {
        const kustomization = find("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization");
        const source = find("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository");
        assert.ok(
            kustomization.dependsOn.includes(source.resource),
            "the Kustomization does not depend on its GitRepository",
        );
        // Its parent, ClusterSync, depends on the FluxInstance: destroy deletes the children first.
        assert.strictEqual(kustomization.parent, find("gitops-kyverno:gitops:ClusterSync").resource);
    });

    it("prepares Kyverno's uninstall (ClusterRoles detached, Kyverno stopped with its webhooks) before Helm runs it: the prep depends on the release", () => {
        const detach = find(dynamicType("KyvernoUninstallPrep"));
        assert.ok(
            detach.dependsOn.includes(env.kyverno.release),
            "the uninstall prep does not depend on Kyverno's release",
        );
        assert.strictEqual(detach.args.release, "kyverno");
    });

    it("waits: Helm releases for their workloads, the FluxInstance for Ready, the GitRepository for the fleet commit", () => {
        const releases = seen.filter((s) => s.type === "kubernetes:helm.sh/v3:Release");
        assert.ok(releases.length >= 2, "fewer Helm releases than expected");
        for (const r of releases)
            assert.notStrictEqual(r.args.skipAwait, true, `Helm release ${r.name} skips waiting for its workloads`);
        const annotations = (type: string) => find(type).args.metadata.annotations as Record<string, unknown>;
        assert.strictEqual(
            annotations("kubernetes:fluxcd.controlplane.io/v1:FluxInstance")["pulumi.com/waitFor"],
            "condition=Ready",
        );
        assert.strictEqual(
            annotations("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization")["pulumi.com/waitFor"],
            "condition=Ready",
        );
        const source = annotations("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository");
        assert.ok(
            pulumi.Output.isInstance(source["pulumi.com/waitFor"]),
            "the GitRepository's wait must follow the fleet commit",
        );
        assert.ok(
            pulumi.Output.isInstance(source["reconcile.fluxcd.io/requestedAt"]),
            "the GitRepository must ask Flux to fetch each new fleet commit",
        );
    });

    it("passes the fleet commit to the GitRepository's reconcile request and wait", async () => {
        const source = find("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository").args.metadata.annotations as Record<
            string,
            pulumi.Output<string>
        >;
        const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => resolve(v)));
        const commit = await value(env.fleet.commit);
        assert.strictEqual(await value(source["reconcile.fluxcd.io/requestedAt"]), commit);
        assert.deepStrictEqual(JSON.parse(await value(source["pulumi.com/waitFor"])), [
            `jsonpath={.status.lastHandledReconcileAt}=${commit}`,
            "condition=Ready",
        ]);
    });

    it("registers the deploy key on GitHub inside the DeployKey component Flux waits for", () => {
        const registration = find(dynamicType("GitHubDeployKey"));
        assert.strictEqual(registration.parent, env.deployKey);
        assert.strictEqual(registration.resource, env.deployKey.registration);
    });

    it("pushes the tree only once the repository exists", () => {
        const sync = find("gitops-kyverno:fleet:FleetSync");
        assert.ok(sync.dependsOn.includes(env.repository));
    });

    it("touches the cluster only once the repository is created or adopted, so a refused adoption changes nothing there", () => {
        const cluster = seen.filter((s) => s.type.startsWith("kubernetes:"));
        assert.ok(cluster.length >= 5, "fewer Kubernetes resources than expected");
        for (const r of cluster) {
            // A resource waits for its own dependsOn and, through its parent's URN, for each ancestor's.
            let waits = false;
            for (let at: Seen | undefined = r; at && !waits; at = seen.find((x) => x.resource === at!.parent)) {
                waits = at.dependsOn.includes(env.repository);
            }
            assert.ok(waits, `${r.type} ${r.name} can reach the cluster before the repository is created or adopted`);
        }
    });

    it("waits for Kyverno's Helm release to be ready before it counts as done", () => {
        const kyverno = seen.find(
            (s) => s.type === "kubernetes:helm.sh/v3:Release" && s.resource === env.kyverno.release,
        );
        assert.ok(kyverno, "no Kyverno release");
        assert.strictEqual(
            kyverno.parent,
            env.kyverno,
            "Kyverno's release is not a child of the component Flux waits for",
        );
    });
});
