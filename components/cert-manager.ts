// cert-manager, with its CRDs, through Pulumi's cert-manager component.
import * as certmanager from "@pulumi/kubernetes-cert-manager";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChartSource } from "./helm-source";
import { helmChart } from "./helm-source";
import { sreTenantLabel } from "./kyverno";

export interface CertManagerArgs {
    chart: ChartSource;
    /** The cluster to install into. Required: the remote component would otherwise get it only through the engine's provider inheritance. */
    kubernetes: k8s.Provider;
}

export class CertManager extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly manager: certmanager.CertManager;

    constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:tls:CertManager", name, {}, opts);
        const mirror = args.chart.imageRegistry;
        const ns = new k8s.core.v1.Namespace(name, { metadata: { name: "cert-manager", labels: sreTenantLabel } }, { parent: this, provider: args.kubernetes });
        this.manager = new certmanager.CertManager(
            name,
            {
                helmOptions: {
                    name: "cert-manager",
                    namespace: ns.metadata.name,
                    ...helmChart("cert-manager", args.chart),
                    // The chart's current key for its CRDs (the component's typed installCRDs is the
                    // deprecated one), removed with the release: the chart keeps them on uninstall by
                    // default, which would leave them behind a destroy. imageRegistry is the prefix of
                    // every image, the ACME solver's included (image.registry is deprecated).
                    values: { crds: { enabled: true, keep: false }, ...(mirror !== undefined ? { imageRegistry: mirror } : {}) },
                },
            },
            // A remote component: the SDK sends only the providers named here, so the cluster is named here.
            { parent: this, providers: { kubernetes: args.kubernetes } },
        );
        this.namespace = ns.metadata.name;
        this.registerOutputs({ namespace: this.namespace });
    }
}
