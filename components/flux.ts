// Flux, installed by the Flux Operator chart and described by one FluxInstance,
// then pointed at clusters/<env> of the fleet repository over SSH (ClusterSync).
//
// Why the Flux Operator rather than the community flux2 chart: the FluxInstance
// carries the distribution version, the components and the Git sync in one
// object that the operator keeps reconciled and upgrades; it ships Flux's web UI;
// and deleting the FluxInstance while the operator runs uninstalls Flux and
// releases its finalizers, so a destroy never leaves flux-system Terminating.
// What Flux applied is pruned before that, by ClusterSync's deletion.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { chartImagePaths, type ChartSource } from "./helm-source";
import { ClusterSync } from "./cluster-sync";
import { helmChart } from "./helm-source";
import { sreTenantLabel } from "./kyverno";

export interface FluxArgs {
    environment: string;
    chart: ChartSource;
    /** The Flux distribution version the FluxInstance installs. */
    version: string;
    /** Where Flux's images come from (spec.distribution.registry, variant). */
    distribution: { registry: string; variant?: string };
    /** ssh:// URL Flux clones. */
    url: pulumi.Input<string>;
    branch: string;
    /** Deploy key halves; privateKey is a secret. */
    deployKey: { privateKey: pulumi.Input<string>; publicKey: pulumi.Input<string> };
    knownHosts: string;
    /** The fleet commit Flux must fetch before `pulumi up` is done. */
    commit: pulumi.Input<string>;
    /** What must exist before Flux starts syncing: the deploy key registration, the commit, Kyverno. */
    syncAfter: pulumi.Resource[];
    /** Labels of its namespace besides the tenant's: the stack's own mark (components/existing-installs.ts). */
    namespaceLabels?: Record<string, string>;
}

export const fluxNamespace = "flux-system";
export const fluxUiCommand = `kubectl -n ${fluxNamespace} port-forward svc/flux-operator 9080:9080`;

export class Flux extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly operator: k8s.helm.v3.Release;
    readonly instance: k8s.apiextensions.CustomResource;
    readonly sync: ClusterSync;
    readonly uiCommand = fluxUiCommand;

    constructor(name: string, args: FluxArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:gitops:Flux", name, {}, opts);
        const mirror = args.chart.imageRegistry;
        const ns = new k8s.core.v1.Namespace(
            name,
            { metadata: { name: fluxNamespace, labels: { ...sreTenantLabel, ...args.namespaceLabels } } },
            { parent: this },
        );
        this.operator = new k8s.helm.v3.Release(
            `${name}-operator`,
            {
                name: "flux-operator",
                namespace: ns.metadata.name,
                ...helmChart("flux-operator", args.chart),
                // The chart takes the whole repository; the mirror keeps the upstream path.
                ...(mirror !== undefined
                    ? { values: { image: { repository: `${mirror}/${chartImagePaths.fluxOperator}` } } }
                    : {}),
                skipAwait: false,
                timeout: 600,
            },
            { parent: this },
        );
        const secret = new k8s.core.v1.Secret(
            `${name}-deploy-key`,
            {
                metadata: { name: "flux-system", namespace: ns.metadata.name },
                type: "Opaque",
                stringData: {
                    identity: args.deployKey.privateKey,
                    "identity.pub": args.deployKey.publicKey,
                    known_hosts: args.knownHosts,
                },
            },
            { parent: this, additionalSecretOutputs: ["stringData", "data"] },
        );
        this.instance = new k8s.apiextensions.CustomResource(
            name,
            {
                apiVersion: "fluxcd.controlplane.io/v1",
                kind: "FluxInstance",
                metadata: {
                    name: "flux",
                    namespace: ns.metadata.name,
                    annotations: {
                        "fluxcd.controlplane.io/reconcileEvery": "1h",
                        // Done only when Flux is installed and healthy.
                        "pulumi.com/waitFor": "condition=Ready",
                        "pulumi.com/timeoutSeconds": "600",
                    },
                },
                spec: {
                    distribution: { version: args.version, ...args.distribution },
                    components: [
                        "source-controller",
                        "kustomize-controller",
                        "helm-controller",
                        "notification-controller",
                    ],
                    cluster: { type: "kubernetes", networkPolicy: true, domain: "cluster.local" },
                    kustomize: {
                        patches: [
                            {
                                // A Kustomization waiting on another (apps on infra-configs) looks again
                                // after 5 s instead of Flux's default 30 s: a change converges in seconds.
                                target: { kind: "Deployment", name: "kustomize-controller" },
                                patch: JSON.stringify([
                                    {
                                        op: "add",
                                        path: "/spec/template/spec/containers/0/args/-",
                                        value: "--requeue-dependency=5s",
                                    },
                                ]),
                            },
                        ],
                    },
                },
            },
            // Destroy runs in reverse: the FluxInstance goes while the operator still runs.
            { parent: this, dependsOn: [this.operator] },
        );
        // Destroy: the sync goes first, and waits until what Flux applied is pruned.
        this.sync = new ClusterSync(
            `${name}-sync`,
            {
                environment: args.environment,
                namespace: ns.metadata.name,
                url: args.url,
                branch: args.branch,
                secretName: secret.metadata.name,
                commit: args.commit,
            },
            { parent: this, dependsOn: [this.instance, secret, ...args.syncAfter] },
        );
        this.namespace = ns.metadata.name;
        this.registerOutputs({ namespace: this.namespace, uiCommand: this.uiCommand });
    }
}
