// A Pulumi dynamic provider whose resource is "this environment's files on the
// fleet branch". Each create or update pushes at most ONE commit; a change-free
// update pushes none; delete removes only the environment's own paths.
import * as pulumi from "@pulumi/pulumi";
import { commitAndPush, GitAuth, readFiles } from "./git-workspace";

export interface FleetFilesState {
    url: string;
    branch: string;
    auth: GitAuth;
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
    return paths.filter((p) => p === "" || p.startsWith("/") || p.split("/").some((s) => s === ".." || s === "." || s === "" || s === ".git"));
}

export function fileChanges(olds: Record<string, string>, news: Record<string, string>) {
    const added = Object.keys(news).filter((p) => !(p in olds)).sort();
    const changed = Object.keys(news).filter((p) => p in olds && olds[p] !== news[p]).sort();
    const removed = Object.keys(olds).filter((p) => !(p in news)).sort();
    return { added, changed, removed };
}

export function commitMessage(environment: string, changes: ReturnType<typeof fileChanges>, action: "sync" | "remove"): string {
    const lines = [
        ...changes.added.map((p) => `A ${p}`),
        ...changes.changed.map((p) => `M ${p}`),
        ...changes.removed.map((p) => `D ${p}`),
    ];
    const title = action === "sync" ? `fleet(${environment}): sync the GitOps tree` : `fleet(${environment}): remove the environment`;
    return `${title}\n\n${lines.join("\n")}\n\nPushed by the gitops-kyverno Pulumi program.`;
}

export const fleetFilesProvider: pulumi.dynamic.ResourceProvider<FleetFilesState, FleetFilesState> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const bad = unsafePaths(Object.keys(news.files ?? {}));
        if (bad.length > 0) failures.push({ property: "files", reason: `unsafe repository paths: ${bad.join(", ")}` });
        if (!news.ownedPrefixes || news.ownedPrefixes.length === 0) failures.push({ property: "ownedPrefixes", reason: "an environment must own at least one path prefix" });
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        // The engine shows which `files` keys differ (`pulumi preview --diff`); here we
        // only decide whether git has work to do.
        const replaces = (["url", "branch"] as const).filter((k) => olds[k] !== news[k]);
        const changes = fileChanges(olds.files ?? {}, news.files ?? {});
        const fileWork = changes.added.length + changes.changed.length + changes.removed.length > 0;
        const otherWork = (["environment", "ownedPrefixes", "author", "auth"] as const).some(
            (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
        );
        return { changes: fileWork || otherWork || replaces.length > 0, replaces, deleteBeforeReplace: false };
    },

    async create(inputs) {
        const changes = fileChanges({}, inputs.files);
        const commit = await commitAndPush(inputs, {
            write: inputs.files,
            remove: [],
            message: commitMessage(inputs.environment, changes, "sync"),
            author: inputs.author,
        });
        return { id: `${inputs.url}#${inputs.branch}:${inputs.environment}`, outs: { ...inputs, commit } };
    },

    async update(_id, olds, news) {
        const changes = fileChanges(olds.files ?? {}, news.files);
        const commit = await commitAndPush(news, {
            write: news.files,
            remove: changes.removed,
            message: commitMessage(news.environment, changes, "sync"),
            author: news.author,
        });
        return { outs: { ...news, commit } };
    },

    async delete(_id, props) {
        // Shared paths stay: other environments still use them.
        const own = Object.keys(props.files).filter((p) => props.ownedPrefixes.some((prefix) => p.startsWith(prefix)));
        await commitAndPush(props, {
            write: {},
            remove: own,
            message: commitMessage(props.environment, { added: [], changed: [], removed: own }, "remove"),
            author: props.author,
        });
    },

    async read(id, props) {
        // Refresh reports what the branch holds now for every path this resource manages.
        const current = await readFiles(props!, Object.keys(props!.files));
        return { id, props: { ...props!, files: current.files, commit: current.commit } };
    },
};
