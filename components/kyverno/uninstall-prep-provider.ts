// A Pulumi dynamic provider whose resource stands between Kyverno's Helm
// release and its uninstall; deleted before the release (which it depends on),
// it leaves the cluster as Helm's uninstall needs it:
//
// - Kyverno's chart grants each controller its rules through an aggregated
//   ClusterRole, which kube-controller-manager's clusterrole-aggregation-controller
//   fills by a forced server-side apply. When Helm deletes the aggregated role and
//   then the roles it aggregates, the controller, still seeing the first in its
//   cache, applies it again: the apply creates it anew (no rules, no labels), and
//   Helm's uninstall waits for it to go until its timeout (seen on every destroy of
//   the live local cluster). Taking the aggregationRule off first leaves the rules
//   in place and the controller nothing to re-apply.
// - Kyverno's webhooks fail closed: left behind, they refuse what they cover. Its
//   pre-delete hook Jobs scale Kyverno to zero and delete them, but Helm deletes
//   Kyverno's RBAC without waiting for its pods, and the 1.19.1 hook deletes only
//   the mutating configurations. So Kyverno is scaled to zero here, its pods are
//   waited for (each removes its webhooks as it stops, with its RBAC still there),
//   and whatever configuration is left is deleted.
//
// Runs inside Pulumi's dynamic provider process, closure-serialized: plain Node,
// no Pulumi imports, and plain Errors only.
import type * as pulumi from "@pulumi/pulumi";
import { ClusterTarget, kubectl, kubectlList, ListObjects } from "../existing-installs/cluster-reads";

export interface UninstallPrepInputs extends ClusterTarget {
    /** The Helm release (label app.kubernetes.io/instance) and its namespace. */
    release: string;
    namespace: string;
}

/** `kubectl ARGS` against the target (the provider's one write path). */
export type Kubectl = (target: ClusterTarget, args: string[]) => Promise<string>;

export const webhookSelector = "webhook.kyverno.io/managed-by=kyverno";

export class UninstallPrepProvider implements pulumi.dynamic.ResourceProvider<
    UninstallPrepInputs,
    UninstallPrepInputs
> {
    constructor(
        private readonly list: ListObjects = kubectlList,
        private readonly run: Kubectl = kubectl,
    ) {}

    async diff(_id: string, olds: UninstallPrepInputs, news: UninstallPrepInputs): Promise<pulumi.dynamic.DiffResult> {
        const keys = ["release", "namespace", "kubeconfig", "context"] as const;
        return { changes: keys.some((k) => olds[k] !== news[k]) };
    }

    async create(inputs: UninstallPrepInputs): Promise<pulumi.dynamic.CreateResult<UninstallPrepInputs>> {
        return { id: `${inputs.release}-uninstall-prep`, outs: inputs };
    }

    async update(
        _id: string,
        _olds: UninstallPrepInputs,
        news: UninstallPrepInputs,
    ): Promise<pulumi.dynamic.UpdateResult<UninstallPrepInputs>> {
        return { outs: news };
    }

    async delete(_id: string, olds: UninstallPrepInputs): Promise<void> {
        const instance = `app.kubernetes.io/instance=${olds.release}`;
        const roles = (await this.list({ ...olds, selector: instance }, "clusterroles", false)) ?? [];
        for (const role of roles) {
            if (!role.aggregationRule) continue;
            const remove = '-p=[{"op":"remove","path":"/aggregationRule"}]';
            await this.run(olds, ["patch", "clusterrole", role.metadata.name, "--type=json", remove]);
        }
        const ns = `--namespace=${olds.namespace}`;
        // Nothing to scale or to wait for (Kyverno already down) is not an error.
        const none = /no objects passed to scale|no matching resources found/;
        const unlessNone = (err: Error) => {
            if (!none.test(err.message)) throw err;
            return "";
        };
        await this.run(olds, ["scale", "deployment", ns, `--selector=${instance}`, "--replicas=0"]).catch(unlessNone);
        await this.run(olds, ["wait", "pod", ns, `--selector=${instance}`, "--for=delete", "--timeout=120s"]).catch(
            unlessNone,
        );
        const kinds = "mutatingwebhookconfigurations,validatingwebhookconfigurations";
        await this.run(olds, ["delete", kinds, `--selector=${webhookSelector}`, "--ignore-not-found"]);
    }
}
