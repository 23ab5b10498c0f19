// FleetRepository: the one Git repository every environment shares. On GitHub it
// is created by whichever environment runs first and adopted by the others (only
// a repository the program marked as its own, unless the stack allows another);
// on any other Git server it must already exist (as with `flux bootstrap git`).
import * as pulumi from "@pulumi/pulumi";
import { GitHubRepositoryProvider, GitHubRepositoryState } from "./github/repository-provider";
import { githubKnownHosts } from "./known-hosts";
import type { GitAccess } from "./fleet-sync/provider";

export type GitProvider = "github" | "ssh";

export interface GitHubSettings {
    provider: "github";
    owner: string;
    repository: string;
    branch: string;
    private: boolean;
    /** Secret: the token that creates the repository, registers deploy keys and pushes. */
    token: pulumi.Output<string>;
}

export interface SshGitSettings {
    provider: "ssh";
    /** ssh://user@host[:port]/path: the URL Flux clones and the program pushes to. */
    url: string;
    /** known_hosts lines of the Git server, given to Flux and to the pushing git. */
    knownHosts: string;
    // The write key (gitWriteKey) is checked here but not carried: the fleet-sync
    // provider reads it from the stack's config at each push (components/github/credentials.ts).
    branch: string;
}

export type GitSettings = GitHubSettings | SshGitSettings;

export interface FleetRepositoryArgs {
    git: GitSettings;
    /** The environment declaring the repository: destroy looks for the others' clusters/<env>/. */
    environment: string;
    deleteOnDestroy: boolean;
    /** Adopt an existing GitHub repository the program did not create. */
    adoptExisting: boolean;
    /** GitHub's REST API; only tests point it elsewhere. */
    githubApiUrl?: string;
}

class GitHubRepository extends pulumi.dynamic.Resource {
    declare readonly htmlUrl: pulumi.Output<string>;
    declare readonly cloneUrl: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    constructor(
        name: string,
        props: { [K in keyof GitHubRepositoryState]?: pulumi.Input<GitHubRepositoryState[K]> },
        opts?: pulumi.CustomResourceOptions,
    ) {
        super(
            new GitHubRepositoryProvider(),
            name,
            {
                htmlUrl: undefined,
                sshUrl: undefined,
                cloneUrl: undefined,
                defaultBranch: undefined,
                created: undefined,
                ...props,
            },
            opts,
            "gitops-kyverno",
            "GitHubRepository",
        );
    }
}

export class FleetRepository extends pulumi.ComponentResource {
    /** The URL Flux clones over SSH with its deploy key. */
    readonly fluxUrl: pulumi.Output<string>;
    /** The URL the program pushes to. */
    readonly pushUrl: pulumi.Output<string>;
    /** A URL for people: the repository's page on GitHub, or its SSH URL elsewhere. */
    readonly webUrl: pulumi.Output<string>;
    /** How the program pushes; the credential itself is read at each push, never stored. */
    readonly pushAccess: GitAccess;
    /** known_hosts lines of the Git server. */
    readonly knownHosts: string;
    /** The GitHub repository's name, known once it exists (GitHub only). */
    readonly githubName?: pulumi.Output<string>;

    constructor(name: string, args: FleetRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:fleet:FleetRepository", name, {}, opts);
        const git = args.git;
        if (git.provider === "github") {
            const repo = new GitHubRepository(
                name,
                {
                    owner: git.owner,
                    name: git.repository,
                    private: git.private,
                    description: "Fleet repository reconciled by Flux; managed by the gitops-kyverno Pulumi program.",
                    deleteOnDestroy: args.deleteOnDestroy,
                    adoptExisting: args.adoptExisting,
                    environment: args.environment,
                    branch: git.branch,
                    apiUrl: args.githubApiUrl ?? "https://api.github.com",
                },
                { parent: this },
            );
            this.githubName = repo.name;
            this.fluxUrl = pulumi.interpolate`ssh://git@github.com/${git.owner}/${repo.name}.git`;
            this.pushUrl = repo.cloneUrl;
            this.webUrl = repo.htmlUrl;
            this.knownHosts = githubKnownHosts;
            this.pushAccess = { kind: "token" };
        } else {
            this.fluxUrl = pulumi.output(git.url);
            this.pushUrl = pulumi.output(git.url);
            this.webUrl = pulumi.output(git.url);
            this.knownHosts = git.knownHosts;
            this.pushAccess = { kind: "ssh", knownHosts: git.knownHosts };
        }
        this.registerOutputs({ fluxUrl: this.fluxUrl, pushUrl: this.pushUrl, webUrl: this.webUrl });
    }
}
