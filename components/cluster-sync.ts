// ClusterSync: the GitRepository and Kustomization named flux-system through
// which Flux applies clusters/<env> (and so everything else) from the fleet
// repository.
//
// Why the program owns them rather than the FluxInstance's spec.sync: the
// order of a teardown. Deleting the FluxInstance uninstalls Flux but strips
// Flux's finalizers first, so what Flux applied would stay behind. Owned here,
// the Kustomization is deleted first on `pulumi destroy` (it depends on the
// FluxInstance), and its WaitForTermination deletion policy, which the
// Kustomizations of clusters/<env> share, holds it until everything Flux applied
// is gone; only then does the engine delete the FluxInstance.
//
// Why the GitRepository is pinned to the fleet commit (ref.commit on the branch)
// rather than following the branch head: apps/base/ and infrastructure/ are
// shared, so a head-following cluster would apply staging's change to them as
// soon as staging's `up` pushed it, without production's preview or approval.
// Pinned, each cluster applies exactly the commit its own `up` recorded: its own
// push, or the head whose tree already held what it rendered.
//
// Why it also carries that commit in reconcile.fluxcd.io/requestedAt: the
// annotation asks source-controller to fetch at once (as `flux reconcile source
// git` does) instead of at its next interval, and the engine waits until Flux has
// handled that request and is Ready.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface ClusterSyncArgs {
    environment: string;
    namespace: pulumi.Input<string>;
    /** ssh:// URL Flux clones. */
    url: pulumi.Input<string>;
    branch: string;
    /** The Secret holding the deploy key and known_hosts. */
    secretName: pulumi.Input<string>;
    /** The commit this environment's `up` recorded: Flux applies that commit only, and the update waits for it. */
    commit: pulumi.Input<string>;
    /** How long `pulumi up` waits for Flux to fetch the commit. */
    timeoutSeconds?: number;
}

export const syncName = "flux-system";

export class ClusterSync extends pulumi.ComponentResource {
    readonly source: k8s.apiextensions.CustomResource;
    readonly kustomization: k8s.apiextensions.CustomResource;

    constructor(name: string, args: ClusterSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:gitops:ClusterSync", name, {}, opts);
        const timeout = String(args.timeoutSeconds ?? 300);
        this.source = new k8s.apiextensions.CustomResource(
            `${name}-source`,
            {
                apiVersion: "source.toolkit.fluxcd.io/v1",
                kind: "GitRepository",
                metadata: {
                    name: syncName,
                    namespace: args.namespace,
                    annotations: {
                        "reconcile.fluxcd.io/requestedAt": args.commit,
                        // Handled this request (so fetched this commit or a later head), and Ready.
                        "pulumi.com/waitFor": pulumi
                            .output(args.commit)
                            .apply((c) =>
                                JSON.stringify([`jsonpath={.status.lastHandledReconcileAt}=${c}`, "condition=Ready"]),
                            ),
                        "pulumi.com/timeoutSeconds": timeout,
                        // `flux reconcile source git` and `npm run wait` set requestedAt too; without
                        // forcing, the next up fails on that server-side apply field conflict.
                        "pulumi.com/patchForce": "true",
                    },
                },
                spec: {
                    url: args.url,
                    ref: { branch: args.branch, commit: args.commit },
                    secretRef: { name: args.secretName },
                    interval: "1m",
                },
            },
            { parent: this },
        );
        this.kustomization = new k8s.apiextensions.CustomResource(
            `${name}-kustomization`,
            {
                apiVersion: "kustomize.toolkit.fluxcd.io/v1",
                kind: "Kustomization",
                metadata: {
                    name: syncName,
                    namespace: args.namespace,
                    annotations: { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": timeout },
                },
                spec: {
                    interval: "10m",
                    path: `./clusters/${args.environment}`,
                    prune: true,
                    deletionPolicy: "WaitForTermination",
                    sourceRef: { kind: "GitRepository", name: syncName },
                },
            },
            { parent: this, dependsOn: [this.source] },
        );
        this.registerOutputs({});
    }
}
