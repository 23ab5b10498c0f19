// Helm 3 keeps each revision of a release as a Secret
// sh.helm.release.v1.<release>.v<N> in the release's namespace, labelled
// owner=helm, name=<release>, version=<N>, status=<status>. A Helm operation
// killed midway leaves its revision pending-install/pending-upgrade/
// pending-rollback, and Helm then refuses every later install or upgrade
// ("another operation is in progress", "cannot re-use a name that is still in
// use"). Dropping the pending revision puts the release back where it was:
// at its last deployed revision, or, when it never deployed, gone from Helm's
// records (the next install adopts the objects it already created, which carry
// Helm's ownership annotations).
import { kubectl, KubeTarget } from "../status/kubectl";

export interface HelmRevision {
    /** The Secret's name. */
    secret: string;
    version: number;
    status: string;
}

export interface HelmRelease {
    name: string;
    namespace: string;
}

export interface HelmRepair {
    /** Secrets to delete, newest first. */
    remove: string[];
    /** What this does, in a sentence. */
    summary: string;
}

export const pendingStatuses = ["pending-install", "pending-upgrade", "pending-rollback"];

/** What to do with a release's revisions; undefined when its newest revision is not pending. */
export function repairRelease(release: HelmRelease, revisions: HelmRevision[]): HelmRepair | undefined {
    const sorted = [...revisions].sort((a, b) => b.version - a.version);
    const newest = sorted[0];
    if (!newest || !pendingStatuses.includes(newest.status)) return undefined;
    const id = `Helm release ${release.namespace}/${release.name}`;
    const deployed = sorted.find((r) => r.status === "deployed");
    if (deployed) {
        const remove = sorted
            .filter((r) => r.version > deployed.version && pendingStatuses.includes(r.status))
            .map((r) => r.secret);
        return {
            remove,
            summary: `${id}: dropped the ${newest.status} revision ${newest.version} of the interrupted run; revision ${deployed.version} (deployed) is current again`,
        };
    }
    if (sorted.every((r) => pendingStatuses.includes(r.status) || r.status === "failed")) {
        return {
            remove: sorted.map((r) => r.secret),
            summary: `${id}: never deployed (${newest.status}, revision ${newest.version}); removed its records so the next install replaces it, adopting what it created`,
        };
    }
    // Superseded revisions but none deployed: only the pending ones go.
    return {
        remove: sorted.filter((r) => pendingStatuses.includes(r.status)).map((r) => r.secret),
        summary: `${id}: dropped its ${newest.status} revision ${newest.version}`,
    };
}

/** The release's revisions, from its Secrets' labels. */
export async function readRevisions(target: KubeTarget, release: HelmRelease): Promise<HelmRevision[]> {
    const r = await kubectl(target, [
        "get",
        "secrets",
        "-n",
        release.namespace,
        "-l",
        `owner=helm,name=${release.name}`,
        "-o",
        "json",
    ]);
    if (r.code !== 0)
        throw new Error(
            `reading the Helm records of ${release.namespace}/${release.name}: ${r.stderr.trim() || `kubectl exited ${r.code}`}`,
        );
    const items = (JSON.parse(r.stdout).items ?? []) as {
        metadata: { name: string; labels?: Record<string, string> };
    }[];
    return items.map((s) => ({
        secret: s.metadata.name,
        version: Number(s.metadata.labels?.version ?? 0),
        status: s.metadata.labels?.status ?? "unknown",
    }));
}

export async function removeRevisions(target: KubeTarget, release: HelmRelease, secrets: string[]): Promise<void> {
    if (secrets.length === 0) return;
    const r = await kubectl(target, ["delete", "secret", "-n", release.namespace, "--ignore-not-found", ...secrets]);
    if (r.code !== 0)
        throw new Error(
            `deleting ${secrets.join(", ")} in ${release.namespace}: ${r.stderr.trim() || `kubectl exited ${r.code}`}`,
        );
}
