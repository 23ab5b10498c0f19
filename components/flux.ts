// Flux, installed by the Flux Operator chart and described by one FluxInstance
// that syncs clusters/<env> from the fleet repository over SSH.
//
// Why the Flux Operator rather than the community flux2 chart: the FluxInstance
// carries the distribution version, the components and the Git sync in one
// object that the operator keeps reconciled and upgrades; it ships Flux's web UI;
// and deleting the FluxInstance while the operator runs uninstalls Flux and
// releases its finalizers, so a destroy never leaves flux-system Terminating.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChartSource } from "../stacks/defaults";
import { helmChart } from "./helm-source";
import { sreTenantLabel } from "./kyverno";

export interface FluxArgs {
    environment: string;
    chart: ChartSource;
    /** The Flux distribution version the FluxInstance installs. */
    version: string;
    /** ssh:// URL Flux clones. */
    url: pulumi.Input<string>;
    branch: string;
    /** Deploy key halves; privateKey is a secret. */
    deployKey: { privateKey: pulumi.Input<string>; publicKey: pulumi.Input<string> };
    knownHosts: string;
    /** What must exist before Flux starts syncing: the deploy key registration, the commit, Kyverno. */
    syncAfter: pulumi.Resource[];
}

export const fluxNamespace = "flux-system";
export const fluxUiCommand = `kubectl -n ${fluxNamespace} port-forward svc/flux-operator 9080:9080`;

export class Flux extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly operator: k8s.helm.v3.Release;
    readonly instance: k8s.apiextensions.CustomResource;
    readonly uiCommand = fluxUiCommand;

    constructor(name: string, args: FluxArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:gitops:Flux", name, {}, opts);
        const ns = new k8s.core.v1.Namespace(name, { metadata: { name: fluxNamespace, labels: sreTenantLabel } }, { parent: this });
        this.operator = new k8s.helm.v3.Release(
            `${name}-operator`,
            { name: "flux-operator", namespace: ns.metadata.name, ...helmChart("flux-operator", args.chart), skipAwait: false, timeout: 600 },
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
                    annotations: { "fluxcd.controlplane.io/reconcileEvery": "1h" },
                },
                spec: {
                    distribution: { version: args.version, registry: "ghcr.io/fluxcd" },
                    components: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
                    cluster: { type: "kubernetes", networkPolicy: true, domain: "cluster.local" },
                    sync: {
                        kind: "GitRepository",
                        url: args.url,
                        ref: `refs/heads/${args.branch}`,
                        path: `clusters/${args.environment}`,
                        pullSecret: "flux-system",
                    },
                },
            },
            // Destroy runs in reverse: the FluxInstance goes while the operator still runs.
            { parent: this, dependsOn: [this.operator, secret, ...args.syncAfter] },
        );
        this.namespace = ns.metadata.name;
        this.registerOutputs({ namespace: this.namespace, uiCommand: this.uiCommand });
    }
}
