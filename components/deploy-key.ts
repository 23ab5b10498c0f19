// DeployKey: the SSH key pair Flux reads the fleet repository with, one per
// environment: generated (ED25519), or the one the stack supplies
// (deployKeyPrivateKey). On GitHub it is registered read-only, by a dynamic
// provider that keeps no token in the state; on another Git server the public
// half is an output for the operator to register.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { GitHubDeployKeyProvider, GitHubDeployKeyState } from "./github/deploy-key-provider";

/** Flux's deploy key as the user supplied it (deployKeyPrivateKey) instead of one the program generates. */
export interface SuppliedDeployKey {
    /** Secret. */
    privateKey: pulumi.Output<string>;
    /** Derived from the private key: "ssh-ed25519 AAAA...". */
    publicKey: string;
    fingerprint: string;
}

export interface DeployKeyArgs {
    environment: string;
    /** Register the key on this GitHub repository (apiUrl: only tests change it); omit for other Git servers. */
    github?: { owner: string; repository: pulumi.Input<string>; apiUrl?: string };
    /** Use this key instead of generating one. */
    supplied?: SuppliedDeployKey;
}

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };
type GitHubDeployKeyArgs = Inputs<Omit<GitHubDeployKeyState, "adopted">>;

/** A deploy key on a GitHub repository (./github/deploy-key-provider.ts). */
export class GitHubDeployKey extends pulumi.dynamic.Resource {
    declare readonly title: pulumi.Output<string>;
    declare readonly adopted: pulumi.Output<boolean>;
    constructor(name: string, props: GitHubDeployKeyArgs, opts?: pulumi.CustomResourceOptions) {
        const outputs = { adopted: undefined };
        super(new GitHubDeployKeyProvider(), name, { ...outputs, ...props }, opts, "gitops-kyverno", "GitHubDeployKey");
    }
}

export class DeployKey extends pulumi.ComponentResource {
    readonly publicKey: pulumi.Output<string>;
    /** Secret. */
    readonly privateKey: pulumi.Output<string>;
    readonly fingerprint: pulumi.Output<string>;
    /** The registration on GitHub; Flux must not start before it exists. */
    readonly registration?: GitHubDeployKey;

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
            this.registration = new GitHubDeployKey(
                name,
                {
                    owner: args.github.owner,
                    repository: args.github.repository,
                    title: `flux-${args.environment}`,
                    key: this.publicKey,
                    readOnly: true,
                    apiUrl: args.github.apiUrl ?? "https://api.github.com",
                },
                { parent: this },
            );
        }
        this.registerOutputs({ publicKey: this.publicKey, fingerprint: this.fingerprint });
    }
}
