// DeployKey: the SSH key pair Flux reads the fleet repository with, one per
// environment: generated (ED25519), or the one the stack supplies
// (deployKeyPrivateKey). On GitHub it is registered read-only; on another Git
// server the public half is an output for the operator to register.
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { SuppliedDeployKey } from "../stacks/settings";

export interface DeployKeyArgs {
    environment: string;
    /** Register the key on this GitHub repository; omit for other Git servers. */
    github?: { repository: pulumi.Input<string>; provider: github.Provider };
    /** Use this key instead of generating one. */
    supplied?: SuppliedDeployKey;
}

export class DeployKey extends pulumi.ComponentResource {
    readonly publicKey: pulumi.Output<string>;
    /** Secret. */
    readonly privateKey: pulumi.Output<string>;
    readonly fingerprint: pulumi.Output<string>;
    /** The registration on GitHub; Flux must not start before it exists. */
    readonly registration?: github.RepositoryDeployKey;

    constructor(name: string, args: DeployKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:fleet:DeployKey", name, {}, opts);
        if (args.supplied) {
            this.publicKey = pulumi.output(args.supplied.publicKey);
            this.privateKey = pulumi.secret(args.supplied.privateKey);
            this.fingerprint = pulumi.output(args.supplied.fingerprint);
        } else {
            const key = new tls.PrivateKey(
                name,
                { algorithm: "ED25519" },
                { parent: this, additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"] },
            );
            this.publicKey = key.publicKeyOpenssh;
            this.privateKey = pulumi.secret(key.privateKeyOpenssh);
            this.fingerprint = key.publicKeyFingerprintSha256;
        }
        if (args.github) {
            this.registration = new github.RepositoryDeployKey(
                name,
                {
                    repository: args.github.repository,
                    title: `flux-${args.environment}`,
                    key: this.publicKey,
                    readOnly: true,
                },
                { parent: this, provider: args.github.provider },
            );
        }
        this.registerOutputs({ publicKey: this.publicKey, fingerprint: this.fingerprint });
    }
}
