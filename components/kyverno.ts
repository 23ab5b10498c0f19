// Kyverno: the admission controller whose mutating policies (committed under
// infrastructure/configs) rewrite the Deployments Flux applies.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterTarget } from "./existing-installs/cluster-reads";
import type { ChartSource } from "./helm-source";
import { helmChart } from "./helm-source";
import { UninstallPrepInputs, UninstallPrepProvider } from "./kyverno/uninstall-prep-provider";

export interface KyvernoArgs {
    chart: ChartSource;
    /** Admission controller replicas: 1 without HA, 3 or more for HA (Kyverno supports no HA with 2; settings reject it). */
    replicas: number;
    /** docker-registry Secrets in the kyverno namespace for image lookups (the policies' imageRegistry context). */
    registrySecrets: string[];
    /** Labels of its namespace besides the tenant's: the stack's own mark (components/existing-installs.ts). */
    namespaceLabels?: Record<string, string>;
    /** The cluster as kubectl reaches it, for the ClusterRoles' detach before the uninstall. */
    cluster: ClusterTarget;
}

export const sreTenantLabel = { "toolkit.fluxcd.io/tenant": "sre-team" };
/** The tenant whose namespaces the policies (fleet/infrastructure/configs/policies) are for. */
export const policedTenantLabel = { "toolkit.fluxcd.io/tenant": "dev-team" };

/**
 * Which namespaces Kyverno's resource webhooks are called for: only the policed tenant's.
 * Its Deployment webhook fails closed, so with Kyverno down nothing it covers can be
 * created or updated; the chart's default (every namespace but kube-system and kyverno)
 * would also stop Flux, cert-manager and anything else. The chart adds the kyverno
 * namespace's own exclusion to this selector.
 */
export const kyvernoWebhookNamespaceSelector = {
    matchExpressions: Object.entries(policedTenantLabel).map(([key, value]) => ({
        key,
        operator: "In",
        values: [value],
    })),
};

/**
 * Stands between Kyverno's release and its uninstall (see
 * ./kyverno/uninstall-prep-provider.ts): deleted first, it takes the aggregation
 * off the release's ClusterRoles (Helm's uninstall would wait on one that
 * kube-controller-manager re-creates) and stops Kyverno with its webhooks.
 */
export class KyvernoUninstallPrep extends pulumi.dynamic.Resource {
    constructor(name: string, inputs: UninstallPrepInputs, opts?: pulumi.CustomResourceOptions) {
        super(new UninstallPrepProvider(), name, inputs, opts, "gitops-kyverno", "KyvernoUninstallPrep");
    }
}

export class Kyverno extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    /** Ready once the Helm release's workloads are ready. */
    readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: KyvernoArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:policy:Kyverno", name, {}, opts);
        const ns = new k8s.core.v1.Namespace(
            name,
            { metadata: { name: "kyverno", labels: { ...sreTenantLabel, ...args.namespaceLabels } } },
            { parent: this },
        );
        const ha = args.replicas >= 3;
        this.release = new k8s.helm.v3.Release(
            name,
            {
                name: "kyverno",
                namespace: ns.metadata.name,
                ...helmChart("kyverno", args.chart),
                values: {
                    config: { webhooks: { namespaceSelector: kyvernoWebhookNamespaceSelector } },
                    admissionController: { replicas: args.replicas },
                    // The other controllers elect a leader, so a second replica is enough for HA.
                    backgroundController: { replicas: ha ? 2 : 1 },
                    cleanupController: { replicas: ha ? 2 : 1 },
                    reportsController: { replicas: ha ? 2 : 1 },
                    // The admission controller's --imagePullSecrets: the credentials of every registry lookup.
                    ...(args.registrySecrets.length > 0 ? { existingImagePullSecrets: args.registrySecrets } : {}),
                    ...(args.chart.imageRegistry !== undefined ? mirroredImages(args.chart.imageRegistry) : {}),
                },
                // Kyverno must be admitting before Flux applies what it mutates.
                skipAwait: false,
                timeout: 600,
            },
            { parent: this },
        );
        new KyvernoUninstallPrep(
            `${name}-uninstall-prep`,
            { ...args.cluster, release: "kyverno", namespace: "kyverno" },
            { parent: this, dependsOn: [this.release] },
        );
        this.namespace = ns.metadata.name;
        this.registerOutputs({ namespace: this.namespace, releaseStatus: this.release.status });
    }
}

/**
 * Every image of the chart from a mirror. global.image.registry yields to a registry of
 * the image's own, which the webhook cleanup hooks (run by destroy) and the chart's
 * tests have (ghcr.io), so those are set too.
 */
function mirroredImages(registry: string): Record<string, unknown> {
    const image = { registry };
    return { global: { image }, webhooksCleanup: { image }, test: { image } };
}
