// A stack brought up by a version of the program that registered Flux's deploy
// key with @pulumi/github holds a RepositoryDeployKey and an explicit github
// provider (with the token among its inputs) in its state. This version
// registers the same key through its own dynamic resource, which takes over the
// key GitHub holds; left in the state, the old resource would be deleted at the
// end of the `up` (through the old provider and its stored token), and with it
// the key just taken over. So before such a stack's first `up` both leave the
// state (never GitHub): the key first, then the provider, unless something else
// still uses it. `npm run up` does this; docs/design.md ("GitHub") says how by hand.
//   npx ts-node cli/recover/legacy-github.ts STACK
import type { StateResource } from "./pending";
import { PulumiCli, type StackState } from "./pulumi-cli";

export const legacyDeployKeyType = "github:index/repositoryDeployKey:RepositoryDeployKey";
export const githubProviderType = "pulumi:providers:github";

interface Resource extends StateResource {
    provider?: string;
}

/** The URNs to remove from the state, in the order they must go. */
export function legacyGithubUrns(resources: Resource[]): string[] {
    const keys = resources.filter((r) => r.type === legacyDeployKeyType);
    if (keys.length === 0) return [];
    // A resource's provider reference is "<provider urn>::<provider id>".
    const providerOf = (r: Resource) => r.provider?.split("::").slice(0, -1).join("::");
    const leaving = new Set(keys.map((k) => k.urn));
    const providers = resources
        .filter((p) => p.type === githubProviderType)
        .filter((p) => resources.every((r) => leaving.has(r.urn) || providerOf(r) !== p.urn));
    return [...keys.map((k) => k.urn), ...providers.map((p) => p.urn)];
}

async function main(): Promise<void> {
    const stack = process.argv[2];
    if (!stack) throw new Error("usage: npx ts-node cli/recover/legacy-github.ts STACK");
    const cli = new PulumiCli(stack, process.cwd());
    // A state that cannot be read is left to the `up` that follows, which says why.
    const exported = await cli.run(["stack", "export"]);
    if (exported.code !== 0 || exported.stdout.trim() === "") return;
    const state = JSON.parse(exported.stdout) as StackState;
    const urns = legacyGithubUrns((state.deployment.resources ?? []) as Resource[]);
    if (urns.length === 0) return;
    console.error(
        `${stack}: removing the deploy key's old @pulumi/github resources from the state (GitHub keeps the key; this up takes it over):`,
    );
    for (const urn of urns) {
        console.error(`  pulumi state delete '${urn}'`);
        await cli.mustRun(["state", "delete", urn, "--yes"]);
    }
}

if (require.main === module) {
    main().catch((e: Error) => {
        console.error(e.message);
        process.exit(1);
    });
}
