// A dynamic provider for the shared fleet repository on GitHub. Every environment
// declares it; the first `pulumi up` creates it and marks it as the program's own
// (a repository topic), later ones adopt it, so no environment has to go first.
// A repository the program did not mark is never adopted unless the stack says
// so (adoptExistingRepository): `fleet-infra` is the name Flux's own guide uses,
// and adopting someone's live fleet would overwrite it. Destroy leaves the
// repository in place unless the stack opts in with deleteRepositoryOnDestroy,
// and even then not while another environment still syncs from it.
//
// The token is no input: it is read at each operation (see ./credentials.ts).
import type * as pulumi from "@pulumi/pulumi";
import { CurrentCredentials } from "./credentials";
import { Answer, failure, fieldErrors, GitHubRest, RetryPolicy } from "./rest";

/** The topic the program puts on a repository it creates: its mark of ownership. */
export const ownershipTopic = "gitops-kyverno-fleet";

export interface GitHubRepositoryState {
    owner: string;
    name: string;
    private: boolean;
    description: string;
    deleteOnDestroy: boolean;
    /** Adopt the repository even when the program did not create it (the setting adoptExistingRepository). */
    adoptExisting: boolean;
    /** The environment declaring it, and the branch Flux follows: destroy looks for other environments there. */
    environment: string;
    branch: string;
    apiUrl: string;
    /** Outputs. */
    htmlUrl?: string;
    sshUrl?: string;
    cloneUrl?: string;
    defaultBranch?: string;
    /** Whether this stack created the repository (false: it adopted an existing one). */
    created?: boolean;
}

interface RepoJson {
    html_url: string;
    ssh_url: string;
    clone_url: string;
    default_branch: string;
    private: boolean;
    description: string | null;
    topics?: string[];
}

/** Inputs stored by earlier versions of this provider, which kept the token in the state. */
const legacyCredentialFields = ["token"];

/** What a 403 on deleting means: that scope is not in the ones creating needs. */
const deleteHint = {
    403:
        "deleting a repository needs the delete_repo scope (classic token) or Administration write (fine-grained); " +
        "or keep it: pulumi config set deleteRepositoryOnDestroy false, pulumi up, then destroy again",
};

/** GitHub's 422 when the name is taken: {errors: [{field: "name", message: "name already exists on this account"}]}. */
function nameTaken(res: Answer): boolean {
    const named = fieldErrors(res.json).some((e) => e.field === "name" && /already exists/i.test(e.message ?? ""));
    return res.status === 422 && (named || /name already exists/i.test(String(res.json?.message ?? "")));
}

function outputs(state: GitHubRepositoryState, repo: RepoJson, created: boolean): GitHubRepositoryState {
    const out: GitHubRepositoryState & Record<string, unknown> = {
        ...state,
        // What GitHub holds, not what was asked: a repository made public by hand shows up as drift.
        private: repo.private,
        description: repo.description ?? "",
        htmlUrl: repo.html_url,
        sshUrl: repo.ssh_url,
        cloneUrl: repo.clone_url,
        defaultBranch: repo.default_branch,
        created,
    };
    for (const field of legacyCredentialFields) delete out[field];
    return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What creating the repository would do, found without writing anything. */
type Plan = { adopt: RepoJson; mark: boolean } | { create: string };

export class GitHubRepositoryProvider implements pulumi.dynamic.ResourceProvider<
    GitHubRepositoryState,
    GitHubRepositoryState
> {
    /** How long to wait for the mark of a repository another environment is creating right now. */
    markWaitMs = 10_000;

    private readonly github: GitHubRest;

    constructor(credentials = new CurrentCredentials(), retry: Partial<RetryPolicy> = {}) {
        this.github = new GitHubRest(credentials, retry);
    }

    async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
        this.github.useConfig(req.config);
    }

    async check(olds: GitHubRepositoryState, news: GitHubRepositoryState) {
        // A new repository (or a new name) is planned here, so `pulumi preview` already
        // says when it would adopt a foreign repository or create it in the wrong account.
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (olds?.owner !== news.owner || olds?.name !== news.name) {
            try {
                await this.plan(news);
            } catch (err) {
                failures.push({ property: "name", reason: (err as Error).message });
            }
        }
        return { inputs: news, failures };
    }

    async create(inputs: GitHubRepositoryState) {
        const id = `${inputs.owner}/${inputs.name}`;
        const plan = await this.plan(inputs);
        if ("adopt" in plan) {
            if (plan.mark) await this.addMark(inputs, plan.adopt.topics ?? []);
            return { id, outs: outputs(inputs, plan.adopt, false) };
        }
        const made = await this.api(inputs, "POST", plan.create, {
            name: inputs.name,
            private: inputs.private,
            description: inputs.description,
            auto_init: true,
        });
        if (nameTaken(made)) {
            // Another environment created it between our look-up and now: adopt it once
            // it carries the mark, which that environment adds right after creating it.
            const deadline = Date.now() + this.markWaitMs;
            for (;;) {
                const again = await this.api(inputs, "GET", `/repos/${id}`);
                if (again.status === 200 && (isMarked(again.json) || inputs.adoptExisting))
                    return { id, outs: outputs(inputs, again.json, false) };
                if (Date.now() > deadline) throw refusal(inputs);
                await sleep(500);
            }
        }
        if (made.status !== 201) throw failure(`creating ${id}`, made);
        await this.addMark(inputs, []);
        return { id, outs: outputs(inputs, made.json, true) };
    }

    async diff(_id: string, olds: GitHubRepositoryState, news: GitHubRepositoryState) {
        const replaces = (["owner", "name", "apiUrl"] as const).filter((k) => olds[k] !== news[k]);
        const updates = (["private", "description", "deleteOnDestroy", "environment", "branch"] as const).filter(
            (k) => olds[k] !== news[k],
        );
        // A state written by an older version still holds the token: rewrite it without.
        const legacy = legacyCredentialFields.some((k) => k in olds);
        return { changes: replaces.length + updates.length > 0 || legacy, replaces, deleteBeforeReplace: false };
    }

    async update(id: string, olds: GitHubRepositoryState, news: GitHubRepositoryState) {
        const wanted = { private: news.private, description: news.description };
        if (olds.private !== wanted.private || olds.description !== wanted.description) {
            const res = await this.api(news, "PATCH", `/repos/${id}`, wanted);
            if (res.status !== 200) throw failure(`updating ${id}`, res);
            return { outs: outputs(news, res.json, olds.created ?? false) };
        }
        const res = await this.api(news, "GET", `/repos/${id}`);
        if (res.status !== 200) throw failure(`reading ${id}`, res);
        return { outs: outputs(news, res.json, olds.created ?? false) };
    }

    async delete(id: string, props: GitHubRepositoryState) {
        // The repository is shared by every environment: keep it unless asked.
        if (!props.deleteOnDestroy) return;
        const others = await this.otherEnvironments(id, props);
        if (others.length > 0) {
            const named = others.map((e) => `clusters/${e}/`).join(", ");
            throw new Error(
                `refusing to delete ${id}: ${named} ${others.length === 1 ? "is" : "are"} still on branch ${props.branch}, so ` +
                    `${others.join(", ")} still ${others.length === 1 ? "syncs" : "sync"} from it. Destroy ${others.length === 1 ? "that stack" : "those stacks"} first, ` +
                    "or keep the repository: pulumi config set deleteRepositoryOnDestroy false, then pulumi up, then destroy again",
            );
        }
        const res = await this.api(props, "DELETE", `/repos/${id}`);
        if (res.status !== 204 && res.status !== 404) throw failure(`deleting ${id}`, res, deleteHint);
    }

    async read(id: string, props?: GitHubRepositoryState) {
        const res = await this.api(props!, "GET", `/repos/${id}`);
        if (res.status === 404) return { id: "", props: {} as GitHubRepositoryState };
        if (res.status !== 200) throw failure(`reading ${id}`, res);
        return { id, props: outputs(props!, res.json, props!.created ?? false) };
    }

    /** Adopt (ours, or allowed by the stack) or create (in the token's account or an organization); otherwise throw. */
    private async plan(inputs: GitHubRepositoryState): Promise<Plan> {
        const id = `${inputs.owner}/${inputs.name}`;
        const existing = await this.api(inputs, "GET", `/repos/${id}`);
        if (existing.status === 200) {
            if (isMarked(existing.json)) return { adopt: existing.json, mark: false };
            if (inputs.adoptExisting) return { adopt: existing.json, mark: true };
            throw refusal(inputs);
        }
        if (existing.status !== 404) throw failure(`looking up ${id}`, existing);

        const owner = await this.api(inputs, "GET", `/users/${inputs.owner}`);
        if (owner.status !== 200) throw failure(`looking up the GitHub account ${inputs.owner}`, owner);
        if (owner.json.type === "Organization") return { create: `/orgs/${inputs.owner}/repos` };
        // POST /user/repos creates in the token's account, whatever githubOwner says.
        const me = await this.api(inputs, "GET", "/user");
        if (me.status !== 200) throw failure("looking up the token's GitHub account", me);
        const login = String(me.json.login ?? "");
        if (login.toLowerCase() !== inputs.owner.toLowerCase()) {
            throw new Error(
                `githubOwner ${inputs.owner} is a GitHub user, and the token belongs to ${login}: a token can create repositories only in ` +
                    `its own account or in an organization, so ${id} would be created as ${login}/${inputs.name} while Flux looks for ${id}. ` +
                    `Use a token of ${inputs.owner}, create ${id} yourself and set adoptExistingRepository, or set githubOwner to ${login} or an organization`,
            );
        }
        return { create: "/user/repos" };
    }

    /** Adds the ownership topic, keeping the repository's other topics. */
    private async addMark(inputs: GitHubRepositoryState, topics: string[]): Promise<void> {
        const id = `${inputs.owner}/${inputs.name}`;
        const res = await this.api(inputs, "PUT", `/repos/${id}/topics`, {
            names: [...new Set([...topics, ownershipTopic])],
        });
        if (res.status !== 200) throw failure(`marking ${id} with the topic ${ownershipTopic}`, res);
    }

    /** Environments other than this one with a clusters/<env>/ folder on the branch. */
    private async otherEnvironments(id: string, props: GitHubRepositoryState): Promise<string[]> {
        const branch = props.branch || props.defaultBranch || "main";
        const res = await this.api(props, "GET", `/repos/${id}/contents/clusters?ref=${encodeURIComponent(branch)}`);
        if (res.status === 404) return [];
        if (res.status !== 200) throw failure(`listing clusters/ in ${id} before deleting it`, res);
        const entries: { name: string; type: string }[] = Array.isArray(res.json) ? res.json : [];
        return entries
            .filter((e) => e.type === "dir" && e.name !== props.environment)
            .map((e) => e.name)
            .sort();
    }

    private api(state: GitHubRepositoryState, method: string, route: string, body?: unknown): Promise<Answer> {
        return this.github.call(state.apiUrl, method, route, body);
    }
}

function isMarked(repo: RepoJson): boolean {
    return (repo.topics ?? []).includes(ownershipTopic);
}

function refusal(inputs: GitHubRepositoryState): Error {
    const id = `${inputs.owner}/${inputs.name}`;
    return new Error(
        `${id} already exists and this program did not create it (it has no topic ${ownershipTopic}); refusing to adopt it, ` +
            "because the program would commit apps/, infrastructure/ and clusters/ into it. If it is your fleet repository, allow it: " +
            `pulumi config set adoptExistingRepository true; otherwise pick another name: pulumi config set repository <name>`,
    );
}
