// A Pulumi dynamic provider whose resource stands between cert-manager's Helm
// release and its destroy. The release removes cert-manager's CRDs (crds.keep
// false), and the API server deletes every object of a removed CRD with it: the
// Certificates, Issuers and ClusterIssuers of every team on the cluster, which
// this program never creates. So when the guard is deleted (before the release,
// which it depends on) it lists them, and refuses while any is left, naming
// them and the two ways on. With certManagerCrdsOnDestroy "keep" the chart keeps
// its CRDs, and the guard lets the destroy through.
//
// Runs inside Pulumi's dynamic provider process, closure-serialized: plain Node,
// no Pulumi imports, and plain Errors only.
import type * as pulumi from "@pulumi/pulumi";
import { ClusterTarget, kubectlList, ListedObject, ListObjects } from "../existing-installs/cluster-reads";

export type CrdsOnDestroy = "delete" | "keep";

export interface CrdsGuardInputs extends ClusterTarget {
    crdsOnDestroy: CrdsOnDestroy;
    /** The command that sets certManagerCrdsOnDestroy to keep, as the project prints commands. */
    keepCommand: string;
}

/** The kinds a user creates; cert-manager's own (CertificateRequest, Order, Challenge) hang off them. */
export const guardedResources = "certificates.cert-manager.io,issuers.cert-manager.io,clusterissuers.cert-manager.io";

export class CrdsGuardProvider implements pulumi.dynamic.ResourceProvider<CrdsGuardInputs, CrdsGuardInputs> {
    constructor(private readonly list: ListObjects = kubectlList) {}

    async diff(_id: string, olds: CrdsGuardInputs, news: CrdsGuardInputs): Promise<pulumi.dynamic.DiffResult> {
        const changed = (["crdsOnDestroy", "kubeconfig", "context", "keepCommand"] as const).some(
            (k) => olds[k] !== news[k],
        );
        return { changes: changed };
    }

    async create(inputs: CrdsGuardInputs): Promise<pulumi.dynamic.CreateResult<CrdsGuardInputs>> {
        return { id: "cert-manager-crds-guard", outs: inputs };
    }

    async update(
        _id: string,
        _olds: CrdsGuardInputs,
        news: CrdsGuardInputs,
    ): Promise<pulumi.dynamic.UpdateResult<CrdsGuardInputs>> {
        return { outs: news };
    }

    async delete(_id: string, olds: CrdsGuardInputs): Promise<void> {
        if (olds.crdsOnDestroy === "keep") return;
        // What this cluster's Flux applied from the fleet tree is pruned by Flux's own deletion.
        const listed = (await this.list(olds, guardedResources, true)) ?? [];
        const left = listed.filter(
            (o) => o.metadata.labels?.["kustomize.toolkit.fluxcd.io/namespace"] !== "flux-system",
        );
        if (left.length > 0) throw new Error(refusal(left, olds.keepCommand));
    }
}

function refusal(left: ListedObject[], keepCommand: string): string {
    const shown = left
        .slice(0, 10)
        .map((o) => `  - ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`);
    if (left.length > shown.length) shown.push(`  - and ${left.length - shown.length} more`);
    return [
        `cert-manager was not removed: its CRDs go with it, and with them ${left.length} object(s) this stack did not create:`,
        ...shown,
        "Either delete or move those first and destroy again, or keep cert-manager's CRDs (and those objects):",
        `  ${keepCommand}`,
        "then `up` once (the chart then keeps its CRDs) and destroy again.",
    ].join("\n");
}
