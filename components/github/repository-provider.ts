// A dynamic provider for the shared fleet repository on GitHub. Every environment
// declares it; the first `pulumi up` creates it and later ones adopt it, so no
// environment has to go first. Destroy leaves it in place unless the stack opts
// in with deleteRepositoryOnDestroy.
import type * as pulumi from "@pulumi/pulumi";

export interface GitHubRepositoryState {
    owner: string;
    name: string;
    private: boolean;
    description: string;
    deleteOnDestroy: boolean;
    token: string;
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
}

async function api(state: GitHubRepositoryState, method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${state.apiUrl}${route}`, {
        method,
        headers: {
            Accept: "application/vnd.github+json",
            Authorization: `Bearer ${state.token}`,
            "X-GitHub-Api-Version": "2022-11-28",
            ...(body ? { "Content-Type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    try {
        return { status: res.status, json: text ? JSON.parse(text) : undefined };
    } catch {
        return { status: res.status, json: { message: text.slice(0, 200) } };
    }
}

function failure(what: string, res: { status: number; json: any }): Error {
    const hint =
        res.status === 401 ? " (the token is invalid or expired)" : res.status === 403 ? " (the token lacks the repo scope, or Administration write)" : "";
    return new Error(`${what}: GitHub answered ${res.status}${hint}: ${res.json?.message ?? ""}`);
}

function outputs(state: GitHubRepositoryState, repo: RepoJson, created: boolean): GitHubRepositoryState {
    return {
        ...state,
        htmlUrl: repo.html_url,
        sshUrl: repo.ssh_url,
        cloneUrl: repo.clone_url,
        defaultBranch: repo.default_branch,
        created,
    };
}

export const gitHubRepositoryProvider: pulumi.dynamic.ResourceProvider<GitHubRepositoryState, GitHubRepositoryState> = {
    async create(inputs) {
        const route = `/repos/${inputs.owner}/${inputs.name}`;
        const existing = await api(inputs, "GET", route);
        if (existing.status === 200) return { id: `${inputs.owner}/${inputs.name}`, outs: outputs(inputs, existing.json, false) };
        if (existing.status !== 404) throw failure(`looking up ${inputs.owner}/${inputs.name}`, existing);

        const owner = await api(inputs, "GET", `/users/${inputs.owner}`);
        if (owner.status !== 200) throw failure(`looking up the GitHub account ${inputs.owner}`, owner);
        const createRoute = owner.json.type === "Organization" ? `/orgs/${inputs.owner}/repos` : "/user/repos";
        const made = await api(inputs, "POST", createRoute, {
            name: inputs.name,
            private: inputs.private,
            description: inputs.description,
            auto_init: true,
        });
        if (made.status === 422) {
            // Another environment created it between our look-up and now: adopt it.
            const again = await api(inputs, "GET", route);
            if (again.status === 200) return { id: `${inputs.owner}/${inputs.name}`, outs: outputs(inputs, again.json, false) };
        }
        if (made.status !== 201) throw failure(`creating ${inputs.owner}/${inputs.name}`, made);
        return { id: `${inputs.owner}/${inputs.name}`, outs: outputs(inputs, made.json, true) };
    },

    async diff(_id, olds, news) {
        const replaces = (["owner", "name", "apiUrl"] as const).filter((k) => olds[k] !== news[k]);
        const updates = (["private", "description", "deleteOnDestroy", "token"] as const).filter((k) => olds[k] !== news[k]);
        return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
    },

    async update(id, olds, news) {
        if (olds.private !== news.private || olds.description !== news.description) {
            const res = await api(news, "PATCH", `/repos/${id}`, { private: news.private, description: news.description });
            if (res.status !== 200) throw failure(`updating ${id}`, res);
            return { outs: outputs(news, res.json, olds.created ?? false) };
        }
        return { outs: { ...olds, ...news } };
    },

    async delete(id, props) {
        // The repository is shared by every environment: keep it unless asked.
        if (!props.deleteOnDestroy) return;
        const res = await api(props, "DELETE", `/repos/${id}`);
        if (res.status !== 204 && res.status !== 404) throw failure(`deleting ${id}`, res);
    },

    async read(id, props) {
        const res = await api(props!, "GET", `/repos/${id}`);
        if (res.status === 404) return { id: "", props: {} as GitHubRepositoryState };
        if (res.status !== 200) throw failure(`reading ${id}`, res);
        return { id, props: outputs(props!, res.json, props!.created ?? false) };
    },
};
