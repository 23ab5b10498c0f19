// cert-manager, with its CRDs, through Pulumi's cert-manager component.
import * as certmanager from "@pulumi/kubernetes-cert-manager";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChartSource } from "./helm-source";
import { CrdsGuardInputs, CrdsGuardProvider, type CrdsOnDestroy } from "./cert-manager/crds-guard-provider";
import type { ClusterTarget } from "./existing-installs/cluster-reads";
import { helmChart } from "./helm-source";
import { sreTenantLabel } from "./kyverno";

export interface CertManagerArgs {
    chart: ChartSource;
    /** The cluster to install into. Required: the remote component would otherwise get it only through the engine's provider inheritance. */
    kubernetes: k8s.Provider;
    /** Labels of its namespace besides the tenant's: the stack's own mark (components/existing-installs.ts). */
    namespaceLabels?: Record<string, string>;
    /** Whether destroy removes cert-manager's CRDs (refused while objects this stack did not create are left) or keeps them. */
    crdsOnDestroy: { mode: CrdsOnDestroy; keepCommand: string };
    /** The cluster as kubectl reaches it, for the guard's read before a destroy. */
    cluster: ClusterTarget;
}

/**
 * Stands between cert-manager's release and its destroy (see
 * ./cert-manager/crds-guard-provider.ts): deleted first, it refuses while the
 * cluster holds cert-manager objects that would go with the CRDs.
 */
export class CertManagerCrdsGuard extends pulumi.dynamic.Resource {
    constructor(name: string, inputs: CrdsGuardInputs, opts?: pulumi.CustomResourceOptions) {
        super(new CrdsGuardProvider(), name, inputs, opts, "gitops-kyverno", "CertManagerCrdsGuard");
    }
}

export class CertManager extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly manager: certmanager.CertManager;

    constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:tls:CertManager", name, {}, opts);
        const mirror = args.chart.imageRegistry;
        const ns = new k8s.core.v1.Namespace(
            name,
            { metadata: { name: "cert-manager", labels: { ...sreTenantLabel, ...args.namespaceLabels } } },
            { parent: this, provider: args.kubernetes },
        );
        this.manager = new certmanager.CertManager(
            name,
            {
                helmOptions: {
                    name: "cert-manager",
                    namespace: ns.metadata.name,
                    ...helmChart("cert-manager", args.chart),
                    // The chart's current key for its CRDs (the component's typed installCRDs is the
                    // deprecated one). Removed with the release unless the stack keeps them: the
                    // chart keeps them on uninstall by default, which would leave them behind a
                    // destroy. imageRegistry is the prefix of every image, the ACME solver's
                    // included (image.registry is deprecated).
                    values: {
                        crds: { enabled: true, keep: args.crdsOnDestroy.mode === "keep" },
                        ...(mirror !== undefined ? { imageRegistry: mirror } : {}),
                    },
                },
            },
            // A remote component: the SDK sends only the providers named here, so the cluster is named here.
            { parent: this, providers: { kubernetes: args.kubernetes } },
        );
        const guard: CrdsGuardInputs = {
            ...args.cluster,
            crdsOnDestroy: args.crdsOnDestroy.mode,
            keepCommand: args.crdsOnDestroy.keepCommand,
        };
        new CertManagerCrdsGuard(`${name}-crds-guard`, guard, { parent: this, dependsOn: [this.manager] });
        this.namespace = ns.metadata.name;
        this.registerOutputs({ namespace: this.namespace });
    }
}
