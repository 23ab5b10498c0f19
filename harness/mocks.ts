// Runs the Pulumi program (or one component) under Pulumi's mocks and records
// every resource it registers, with the options it was given.
import * as pulumi from "@pulumi/pulumi";

/** The commit the mocked fleet push reports. */
export const fleetCommitOfMocks = "0123456789abcdef0123456789abcdef01234567";

export interface Registered {
    type: string;
    name: string;
    /** Inputs with secrets unwrapped. */
    inputs: Record<string, any>;
    /** Dotted paths of the inputs that arrived as secrets. */
    secretPaths: string[];
    /** The state the mocks answered with (the resource's outputs), secrets unwrapped. */
    outputs: Record<string, any>;
    provider?: string;
    /** Providers named per package in the resource's own options (components send these, not `provider`). */
    providers: Record<string, string>;
}

// How the SDK marks a secret value on the wire.
const secretSig = "4dabf18193072939515e22adb298388d";
const secretSigValue = "1b47061264138c4ac30d75fd1eb44270";

function unwrap(value: any, at: string, secrets: string[]): any {
    if (Array.isArray(value)) return value.map((v, i) => unwrap(v, `${at}[${i}]`, secrets));
    if (value && typeof value === "object") {
        if (value[secretSig] === secretSigValue) {
            secrets.push(at);
            return unwrap(value.value, at, secrets);
        }
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, unwrap(v, at ? `${at}.${k}` : k, secrets)]),
        );
    }
    return value;
}

export const project = "gitops-kyverno";

/** Installs mocks for `stack` and returns the list they fill. */
export function installMocks(stack: string, config: Record<string, string>, secretKeys: string[] = []): Registered[] {
    const registered: Registered[] = [];
    const providersOf = new Map<string, Record<string, string>>();
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                const secretPaths: string[] = [];
                const inputs = unwrap(args.inputs, "", secretPaths);
                const providers = providersOf.get(`${args.type}::${args.name}`) ?? {};
                const state = mockState(args.type, args.inputs);
                const outputs = unwrap(state, "", []);
                registered.push({
                    type: args.type,
                    name: args.name,
                    inputs,
                    secretPaths,
                    outputs,
                    provider: args.provider,
                    providers,
                });
                return { id: `${args.name}-id`, state };
            },
            call(args) {
                return args.inputs;
            },
        },
        project,
        stack,
        false,
    );
    recordProviderMaps(providersOf);
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, v])),
        secretKeys.map((k) => (k.includes(":") ? k : `${project}:${k}`)),
    );
    return registered;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getProvidersMap(): { toObject(): [string, string][] };
}

/** The mocks see no `providers` map; read it off each registration request before the mocks handle it. */
function recordProviderMaps(into: Map<string, Record<string, string>>): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterRequest, cb: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        into.set(`${req.getType()}::${req.getName()}`, Object.fromEntries(req.getProvidersMap().toObject()));
        return register(req, cb);
    };
}

/** Computed outputs that real providers return and the program reads. */
function mockState(type: string, inputs: Record<string, any>): Record<string, any> {
    if (type === "tls:index/privateKey:PrivateKey") {
        return {
            ...inputs,
            publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockPublicKey",
            privateKeyOpenssh:
                "-----BEGIN OPENSSH PRIVATE KEY-----\nmock-private-key-material\n-----END OPENSSH PRIVATE KEY-----\n",
            publicKeyFingerprintSha256: "SHA256:mockfingerprint",
        };
    }
    if (type === dynamicType("GitHubRepository")) {
        return {
            ...inputs,
            htmlUrl: `https://github.com/${inputs.owner}/${inputs.name}`,
            cloneUrl: `https://github.com/${inputs.owner}/${inputs.name}.git`,
        };
    }
    if (type === dynamicType("FleetFiles")) {
        return { ...inputs, commit: fleetCommitOfMocks };
    }
    return inputs;
}

export function dynamicType(name: string): string {
    return `pulumi-nodejs:dynamic/gitops-kyverno:${name}`;
}

/** Resolves an Output's value (secret or not) under mocks. */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

// The SDK's own count of RPCs in flight (registrations included); not in its typings.
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

/** Waits until every registration the program started has reached the mocks, as the engine would before it exits. */
export async function settle(): Promise<void> {
    await waitForRPCs();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await waitForRPCs();
}

/** Imports the program (this checkout's index.ts unless told) afresh under the current mocks and resolves its exports; settles even when the program throws. */
export async function runProgram(entry = require.resolve("../index")): Promise<Record<string, unknown>> {
    delete require.cache[entry];
    try {
        const exported = (await import(entry)) as Record<string, pulumi.Input<unknown>>;
        const values: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(exported)) values[k] = await valueOf(v);
        return values;
    } finally {
        await settle();
    }
}

/** Whether an exported Output is marked secret. */
export function isSecretOutput(o: unknown): Promise<boolean> {
    return pulumi.Output.isInstance(o) ? pulumi.isSecret(o as pulumi.Output<unknown>) : Promise.resolve(false);
}

export function byType(registered: Registered[], type: string): Registered[] {
    return registered.filter((r) => r.type === type);
}

export function one(registered: Registered[], type: string, name?: string): Registered {
    const found = registered.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1)
        throw new Error(
            `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((f) => f.name).join(", ")}`,
        );
    return found[0];
}

/** Settings each stack gets in tests: a GitHub owner and token, nothing else. */
export function githubConfig(extra: Record<string, string> = {}): Record<string, string> {
    return { githubOwner: "acme-platform", "github:token": "ghp_unit_test_token_not_real_000000000000", ...extra };
}

export const sshWriteKey =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nwrite-key-material\n-----END OPENSSH PRIVATE KEY-----\n";

/** Settings of a stack on its own Git server over SSH (gitWriteKey must be passed as a secret key). */
export function sshGitConfig(extra: Record<string, string> = {}): Record<string, string> {
    return {
        gitProvider: "ssh",
        gitUrl: "ssh://git@127.0.0.1:2222/srv/git/fleet.git",
        gitKnownHosts: "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey",
        gitWriteKey: sshWriteKey,
        ...extra,
    };
}
