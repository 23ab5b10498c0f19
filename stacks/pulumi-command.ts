// The command a person types to reach this stack's backend with the CLI that ran
// the program. cli/stack.sh (npm run up/preview/destroy...) exports
// GITOPS_KYVERNO_CLI=npm when it picked the backend or the CLI itself (its local
// file backend, or the project's own CLI in .tools/bin): a plain `pulumi` in the
// user's shell would then reach another backend, so printed commands go through
// `npm run pulumi --`, which makes the same choice again. Anyone else (their own
// PULUMI_BACKEND_URL or `pulumi login`, CI) gets plain `pulumi`.
export const pulumiCliVariable = "GITOPS_KYVERNO_CLI";

export function pulumiCommand(env: (name: string) => string | undefined = (name) => process.env[name]): string {
    return env(pulumiCliVariable) === "npm" ? "npm run pulumi --" : "pulumi";
}

/** The command that runs `up` of `stack` again: cli/stack.sh's when it chose the backend, the CLI's otherwise. */
export function upCommand(
    stack: string,
    env: (name: string) => string | undefined = (name) => process.env[name],
): string {
    return env(pulumiCliVariable) === "npm" ? `npm run up -- ${stack}` : `pulumi up --stack ${stack}`;
}
