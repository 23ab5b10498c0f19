// A Pulumi dynamic provider whose resource is "the cluster held no install of
// Kyverno, cert-manager or Flux that this stack did not make". Its check reads
// the cluster while the resource is not yet in the stack's state (the first
// `preview` and `up`), and fails with what it found; every other resource of the
// stack waits for it, so a refused cluster is left exactly as it was. Once in
// the state the cluster holds this stack's own installs, and nothing is read.
//
// Runs inside Pulumi's dynamic provider process, closure-serialized: plain Node,
// no Pulumi imports, and plain Errors only.
import type * as pulumi from "@pulumi/pulumi";
import { ClusterTarget, kubectlList, ListObjects } from "./cluster-reads";
import { foreignInstalls, foreignInstallsMessage } from "./rules";

export interface ExistingInstallsInputs extends ClusterTarget {
    stack: string;
    /** The value of the stack label on the namespaces this stack creates. */
    stackLabel: string;
}

export interface ExistingInstallsOutputs {
    stack: string;
    stackLabel: string;
}

export class ExistingInstallsProvider implements pulumi.dynamic.ResourceProvider<
    ExistingInstallsInputs,
    ExistingInstallsOutputs
> {
    constructor(private readonly list: ListObjects = kubectlList) {}

    async check(
        olds: Partial<ExistingInstallsInputs>,
        news: ExistingInstallsInputs,
    ): Promise<pulumi.dynamic.CheckResult<ExistingInstallsInputs>> {
        if (olds.stack === undefined) await checkCluster(news, this.list);
        return { inputs: news };
    }

    async diff(
        _id: string,
        olds: ExistingInstallsOutputs,
        news: ExistingInstallsInputs,
    ): Promise<pulumi.dynamic.DiffResult> {
        // A moved kubeconfig file is the same cluster: nothing to record.
        return { changes: olds.stackLabel !== news.stackLabel };
    }

    async create(inputs: ExistingInstallsInputs): Promise<pulumi.dynamic.CreateResult<ExistingInstallsOutputs>> {
        return {
            id: `${inputs.stack}-existing-installs`,
            outs: { stack: inputs.stack, stackLabel: inputs.stackLabel },
        };
    }

    async update(
        _id: string,
        _olds: ExistingInstallsOutputs,
        news: ExistingInstallsInputs,
    ): Promise<pulumi.dynamic.UpdateResult<ExistingInstallsOutputs>> {
        return { outs: { stack: news.stack, stackLabel: news.stackLabel } };
    }

    async delete(): Promise<void> {
        // Nothing exists outside the state.
    }
}

/** Rejects, naming each object, when the cluster holds an install that is not this stack's. */
export async function checkCluster(inputs: ExistingInstallsInputs, list: ListObjects = kubectlList): Promise<void> {
    const [namespaces, crds] = await Promise.all([
        list(inputs, "namespaces", false),
        list(inputs, "customresourcedefinitions", false),
    ]);
    const found = foreignInstalls(namespaces ?? [], crds ?? [], inputs.stackLabel);
    if (found.length > 0) {
        throw new Error(
            foreignInstallsMessage(found, inputs.stackLabel, inputs.context ? ` --context ${inputs.context}` : ""),
        );
    }
}
