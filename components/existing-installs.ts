// ExistingInstalls: the check that the cluster holds no Kyverno, cert-manager or
// Flux that this stack did not install (./existing-installs/rules.ts says what
// counts), run before anything else of the stack is created or changed.
import * as pulumi from "@pulumi/pulumi";
import { ExistingInstallsInputs, ExistingInstallsProvider } from "./existing-installs/provider";
import { stackLabelKey } from "./existing-installs/rules";

export interface ExistingInstallsArgs {
    stack: string;
    stackLabel: string;
    kubeconfig?: string;
    kubeContext?: string;
}

export class ExistingInstalls extends pulumi.dynamic.Resource {
    declare readonly stackLabel: pulumi.Output<string>;

    constructor(name: string, args: ExistingInstallsArgs, opts?: pulumi.CustomResourceOptions) {
        const inputs: ExistingInstallsInputs = {
            stack: args.stack,
            stackLabel: args.stackLabel,
            ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
            ...(args.kubeContext !== undefined ? { context: args.kubeContext } : {}),
        };
        super(new ExistingInstallsProvider(), name, inputs, opts, "gitops-kyverno", "ExistingInstalls");
    }
}

/** The label that marks a namespace as this stack's (the check accepts it as its own). */
export function stackNamespaceLabels(stackLabel: string): Record<string, string> {
    return { [stackLabelKey]: stackLabel };
}
