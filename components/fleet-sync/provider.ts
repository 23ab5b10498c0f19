// A Pulumi dynamic provider whose resource is "this environment's files on the
// fleet branch". Each create or update pushes at most ONE commit; a change-free
// update pushes none; delete removes only the environment's own paths.
//
// An update writes only the files whose content changed between the stack's last
// inputs and its new ones, so an environment deployed from an older checkout does
// not put back the shared files another environment changed since. A create
// writes the environment's own files, and shared files only where the branch has
// none yet. The credential to push with is no input: it is read at each
// operation (see ../github/credentials.ts), so rotating it changes nothing here.
import type * as pulumi from "@pulumi/pulumi";
import { CurrentCredentials } from "../github/credentials";
import { commitAndPush, GitAuth, GitTarget, readFiles } from "./git-workspace";

/** How the program reaches the repository, without the secret half. */
export type GitAccess = { kind: "token" } | { kind: "ssh"; knownHosts: string };

export interface FleetFilesState {
    url: string;
    branch: string;
    access: GitAccess;
    environment: string;
    files: Record<string, string>;
    /** Prefixes only this environment writes; destroy removes the files under them. */
    ownedPrefixes: string[];
    author: { name: string; email: string };
    /** Head of the branch after the last sync. */
    commit?: string;
}

/** Repository paths that are safe to write: relative, no '..', no '.git'. */
export function unsafePaths(paths: string[]): string[] {
    return paths.filter(
        (p) =>
            p === "" ||
            p.startsWith("/") ||
            p.split("/").some((s) => s === ".." || s === "." || s === "" || s === ".git"),
    );
}

export function fileChanges(olds: Record<string, string>, news: Record<string, string>) {
    const added = Object.keys(news)
        .filter((p) => !(p in olds))
        .sort();
    const changed = Object.keys(news)
        .filter((p) => p in olds && olds[p] !== news[p])
        .sort();
    const removed = Object.keys(olds)
        .filter((p) => !(p in news))
        .sort();
    return { added, changed, removed };
}

export function commitMessage(
    environment: string,
    changes: ReturnType<typeof fileChanges>,
    action: "sync" | "remove",
): string {
    const lines = [
        ...changes.added.map((p) => `A ${p}`),
        ...changes.changed.map((p) => `M ${p}`),
        ...changes.removed.map((p) => `D ${p}`),
    ];
    const title =
        action === "sync"
            ? `fleet(${environment}): sync the GitOps tree`
            : `fleet(${environment}): remove the environment`;
    return `${title}\n\n${lines.join("\n")}\n\nPushed by the gitops-kyverno Pulumi program.`;
}

/** Inputs stored by earlier versions of this provider, which kept the credential in the state. */
const legacyCredentialFields = ["auth"];

function withoutLegacy(state: FleetFilesState): FleetFilesState {
    const out: FleetFilesState & Record<string, unknown> = { ...state };
    for (const field of legacyCredentialFields) delete out[field];
    return out;
}

/** Paths under one of the prefixes. */
function under(paths: string[], prefixes: string[]): string[] {
    return paths.filter((p) => prefixes.some((prefix) => p.startsWith(prefix)));
}

export class FleetFilesProvider implements pulumi.dynamic.ResourceProvider<FleetFilesState, FleetFilesState> {
    constructor(private readonly credentials = new CurrentCredentials()) {}

    async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
        this.credentials.useConfig(req.config);
    }

    async check(_olds: FleetFilesState, news: FleetFilesState) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const bad = unsafePaths(Object.keys(news.files ?? {}));
        if (bad.length > 0) failures.push({ property: "files", reason: `unsafe repository paths: ${bad.join(", ")}` });
        if (!news.ownedPrefixes || news.ownedPrefixes.length === 0)
            failures.push({ property: "ownedPrefixes", reason: "an environment must own at least one path prefix" });
        return { inputs: news, failures };
    }

    async diff(_id: string, olds: FleetFilesState, news: FleetFilesState) {
        // The engine shows which `files` keys differ (`pulumi preview --diff`); here we
        // only decide whether git has work to do.
        const replaces = (["url", "branch"] as const).filter((k) => olds[k] !== news[k]);
        const changes = fileChanges(olds.files ?? {}, news.files ?? {});
        const fileWork = changes.added.length + changes.changed.length + changes.removed.length > 0;
        // Credentials are not inputs; a state from an older version that still holds one is rewritten without it.
        const otherWork =
            (["environment", "ownedPrefixes", "author", "access"] as const).some(
                (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
            ) || legacyCredentialFields.some((k) => k in olds);
        return { changes: fileWork || otherWork || replaces.length > 0, replaces, deleteBeforeReplace: false };
    }

    async create(inputs: FleetFilesState) {
        // A new environment owns its paths; the shared ones may already hold another
        // environment's newer content, so it only adds those the branch lacks.
        const paths = Object.keys(inputs.files);
        const own = under(paths, inputs.ownedPrefixes);
        const shared = paths.filter((p) => !own.includes(p));
        const commit = await commitAndPush(this.target(inputs), {
            write: pick(inputs.files, own),
            writeIfAbsent: pick(inputs.files, shared),
            remove: [],
            message: (written) =>
                commitMessage(inputs.environment, { added: written.sort(), changed: [], removed: [] }, "sync"),
            author: inputs.author,
        });
        return { id: `${inputs.url}#${inputs.branch}:${inputs.environment}`, outs: { ...inputs, commit } };
    }

    async update(_id: string, olds: FleetFilesState, news: FleetFilesState) {
        // Only what this stack's inputs changed: the rest of the branch is left as it is now.
        const changes = fileChanges(olds.files ?? {}, news.files);
        const commit = await commitAndPush(this.target(news), {
            write: pick(news.files, [...changes.added, ...changes.changed]),
            remove: changes.removed,
            message: commitMessage(news.environment, changes, "sync"),
            author: news.author,
        });
        return { outs: withoutLegacy({ ...news, commit }) };
    }

    async delete(_id: string, props: FleetFilesState) {
        // Shared paths stay: other environments still use them.
        const own = under(Object.keys(props.files), props.ownedPrefixes);
        await commitAndPush(this.target(props), {
            write: {},
            remove: own,
            message: commitMessage(props.environment, { added: [], changed: [], removed: own }, "remove"),
            author: props.author,
        });
    }

    async read(id: string, props?: FleetFilesState) {
        // Refresh reports what the branch holds now for every path this resource manages.
        const current = await readFiles(this.target(props!), Object.keys(props!.files));
        return { id, props: withoutLegacy({ ...props!, files: current.files, commit: current.commit }) };
    }

    /** Where to push, with the credential the user has now. */
    private target(state: FleetFilesState): GitTarget {
        const access = state.access ?? legacyAccess(state);
        const auth: GitAuth =
            access.kind === "ssh"
                ? { kind: "ssh", privateKey: this.credentials.gitWriteKey(), knownHosts: access.knownHosts }
                : { kind: "token", token: this.credentials.githubToken() };
        return { url: state.url, branch: state.branch, auth };
    }
}

/** The access of a state written by an older version: its stored credential said which kind. */
function legacyAccess(state: FleetFilesState): GitAccess {
    const auth = (state as { auth?: { kind?: string; knownHosts?: string } }).auth;
    return auth?.kind === "ssh" ? { kind: "ssh", knownHosts: auth.knownHosts ?? "" } : { kind: "token" };
}

function pick(files: Record<string, string>, paths: string[]): Record<string, string> {
    return Object.fromEntries(paths.map((p) => [p, files[p]]));
}
