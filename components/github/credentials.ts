// Where the dynamic providers find the credentials they act with. They are never
// resource inputs, so they are never stored in the stack's state: each operation
// (create, update, refresh, destroy) reads the ones the user has at that moment,
// from the stack's config the engine hands the provider (`configure`) or from
// the environment the Pulumi CLI runs in. A rotated token therefore changes no
// input (no update), and an expired one never blocks a destroy.
//
// Runs inside Pulumi's dynamic provider process: plain Node, no Pulumi imports.

/** The stack config keys and environment variables, in the order they are tried. */
export const credentialSources = {
    githubToken: { config: "github:token", env: "GITHUB_TOKEN" },
    gitWriteKey: { config: "gitops-kyverno:gitWriteKey" },
} as const;

/** The part of the engine's config a provider reads (pulumi.dynamic.Config). */
export interface ConfigReader {
    get(key: string): string | undefined;
}

/** The stack's config and the environment, as one operation sees them. */
export class CurrentCredentials {
    private config?: ConfigReader;

    /** env: only tests pass one; otherwise process.env is read at each operation, never captured. */
    constructor(private readonly env?: Record<string, string | undefined>) {}

    /** Called from the provider's `configure` with the stack's config. */
    useConfig(config: ConfigReader | undefined): void {
        this.config = config;
    }

    githubToken(): string {
        const { config, env } = credentialSources.githubToken;
        const token = this.fromConfig(config) ?? this.fromEnv(env);
        if (!token) {
            throw new Error(
                `no GitHub token for this operation: export ${env}=<token>, or pulumi config set ${config} --secret, which asks for it ` +
                    "(the token in use now, not necessarily the one the stack was created with)",
            );
        }
        return token;
    }

    gitWriteKey(): string {
        const { config } = credentialSources.gitWriteKey;
        const key = this.fromConfig(config);
        if (!key)
            throw new Error(
                `no write key for the fleet repository: pulumi config set ${config.split(":")[1]} --secret < <key file>`,
            );
        return key;
    }

    private fromConfig(key: string): string | undefined {
        try {
            return this.config?.get(key) || undefined;
        } catch {
            // The engine sent no config (the SDK's Config then has nothing to read).
            return undefined;
        }
    }

    private fromEnv(name: string): string | undefined {
        return (this.env ?? process.env)[name] || undefined;
    }
}
