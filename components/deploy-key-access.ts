// DeployKeyAccess: proof that Flux's deploy key may read the fleet repository,
// checked with the key itself before anything reaches the cluster (see
// ./deploy-key-access/provider.ts). Checked again whenever the key, the URL or
// the host keys change; an unchanged stack checks nothing.
import * as pulumi from "@pulumi/pulumi";
import { DeployKeyAccessInputs, DeployKeyAccessProvider } from "./deploy-key-access/provider";

export interface DeployKeyAccessArgs {
    url: pulumi.Input<string>;
    knownHosts: string;
    deployKey: { privateKey: pulumi.Input<string>; publicKey: pulumi.Input<string> };
    stack: string;
    upCommand: string;
    /** How long a refused key is tried again; a few seconds by default. */
    graceSeconds?: number;
}

export const deployKeyGraceSeconds = 8;

export class DeployKeyAccess extends pulumi.dynamic.Resource {
    declare readonly publicKey: pulumi.Output<string>;

    constructor(name: string, args: DeployKeyAccessArgs, opts?: pulumi.CustomResourceOptions) {
        const inputs: { [K in keyof DeployKeyAccessInputs]: pulumi.Input<DeployKeyAccessInputs[K]> } = {
            url: args.url,
            knownHosts: args.knownHosts,
            privateKey: pulumi.secret(args.deployKey.privateKey),
            publicKey: args.deployKey.publicKey,
            stack: args.stack,
            upCommand: args.upCommand,
            graceSeconds: args.graceSeconds ?? deployKeyGraceSeconds,
        };
        super(new DeployKeyAccessProvider(), name, inputs, opts, "gitops-kyverno", "DeployKeyAccess");
    }
}
