// A dynamic provider for Flux's deploy key on the GitHub fleet repository. It
// replaces the bridged github provider, whose token was a provider input and so
// stored in every stack's state: here the token is read at each operation (see
// ./credentials.ts), so a rotated token changes nothing and `destroy` works with
// the one the user has now.
//
// GitHub cannot edit a deploy key: any change is a new key. A key GitHub already
// holds with the same key text (a retried `up`, or a state that lost it) is
// adopted rather than refused.
import type * as pulumi from "@pulumi/pulumi";
import { CurrentCredentials } from "./credentials";
import { Answer, failure, fieldErrors, GitHubRest, RetryPolicy } from "./rest";

export interface GitHubDeployKeyState {
    owner: string;
    repository: string;
    title: string;
    /** The public key, OpenSSH form. */
    key: string;
    readOnly: boolean;
    apiUrl: string;
    /** Output: whether the key was registered already and taken over. */
    adopted?: boolean;
}

type State = GitHubDeployKeyState;

interface KeyJson {
    id: number;
    key: string;
    title: string;
    read_only: boolean;
}

/** Type and key material: GitHub drops the comment and the trailing newline. */
function keyText(key: string): string {
    return key.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** What a 403 or 404 on the keys means: the token may not manage the repository's keys. */
const keyHints = {
    403: "managing deploy keys needs the repo scope (classic token) or Administration write (fine-grained)",
    404: "the repository does not exist, or the token may not see it or manage its deploy keys",
};

function outputs(inputs: State, found: KeyJson, adopted: boolean): State {
    // What GitHub holds, so a refresh shows a key changed by hand as drift.
    const key = keyText(found.key) === keyText(inputs.key) ? inputs.key : found.key;
    return { ...inputs, key, title: found.title, readOnly: found.read_only, adopted };
}

export class GitHubDeployKeyProvider implements pulumi.dynamic.ResourceProvider<State, State> {
    private readonly github: GitHubRest;

    constructor(credentials = new CurrentCredentials(), retry: Partial<RetryPolicy> = {}) {
        this.github = new GitHubRest(credentials, retry);
    }

    async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
        this.github.useConfig(req.config);
    }

    async create(inputs: State) {
        const repo = `${inputs.owner}/${inputs.repository}`;
        const wanted = { title: inputs.title, key: keyText(inputs.key), read_only: inputs.readOnly };
        const made = await this.api(inputs, "POST", `/repos/${repo}/keys`, wanted);
        if (made.status === 201) return { id: String(made.json.id), outs: outputs(inputs, made.json, false) };
        const what = `registering the deploy key ${inputs.title} on ${repo}`;
        if (made.status !== 422 || !fieldErrors(made.json).some((e) => /already in use/i.test(e.message ?? ""))) {
            throw failure(what, made, keyHints);
        }
        const same = await this.registered(inputs);
        if (!same) {
            const elsewhere = "a key is unique on GitHub, and this one is on another repository or a user's account";
            throw failure(what, made, { 422: elsewhere });
        }
        if (same.read_only !== inputs.readOnly) {
            const access = same.read_only ? "read-only" : "with write access";
            throw new Error(
                `${what}: ${repo} has this key already, ${access} (deploy key ${same.id}, "${same.title}"). ` +
                    `Delete it on GitHub (Settings > Deploy keys), then run the same command again`,
            );
        }
        return { id: String(same.id), outs: outputs(inputs, same, true) };
    }

    async diff(_id: string, olds: State, news: State) {
        const fields = ["owner", "repository", "title", "readOnly", "apiUrl"] as const;
        const replaces: string[] = fields.filter((k) => olds[k] !== news[k]);
        const sameKey = keyText(olds.key) === keyText(news.key);
        if (!sameKey) replaces.push("key");
        // The same key cannot be registered twice on GitHub: the old one goes first.
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: sameKey };
    }

    async read(id: string, props?: State) {
        const res = await this.api(props!, "GET", `/repos/${props!.owner}/${props!.repository}/keys/${id}`);
        // Deleted on GitHub: gone from the state, so the next `up` registers it again.
        if (res.status === 404) return { id: "", props: {} as State };
        if (res.status !== 200) throw failure(`reading the deploy key ${id}`, res, keyHints);
        return { id, props: outputs(props!, res.json, props!.adopted ?? false) };
    }

    async delete(id: string, props: State) {
        const repo = `${props.owner}/${props.repository}`;
        const res = await this.api(props, "DELETE", `/repos/${repo}/keys/${id}`);
        // 404: deleted already (by hand, or with the repository).
        if (res.status !== 204 && res.status !== 404) {
            throw failure(`deleting the deploy key ${props.title} from ${repo}`, res, keyHints);
        }
    }

    /** The repository's deploy key with this key text, if it has one. */
    private async registered(inputs: State): Promise<KeyJson | undefined> {
        const repo = `${inputs.owner}/${inputs.repository}`;
        for (let page = 1; page <= 10; page++) {
            const res = await this.api(inputs, "GET", `/repos/${repo}/keys?per_page=100&page=${page}`);
            if (res.status !== 200) throw failure(`listing the deploy keys of ${repo}`, res, keyHints);
            const keys: KeyJson[] = Array.isArray(res.json) ? res.json : [];
            const same = keys.find((k) => keyText(k.key) === keyText(inputs.key));
            if (same || keys.length < 100) return same;
        }
        return undefined;
    }

    private api(state: State, method: string, route: string, body?: unknown): Promise<Answer> {
        return this.github.call(state.apiUrl, method, route, body);
    }
}
