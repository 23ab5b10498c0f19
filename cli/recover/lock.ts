// The stack lock an interrupted run leaves on a file backend: Pulumi's DIY
// backend writes <backend>/.pulumi/locks/<org>/<project>/<stack>/<id>.json
// ({pid, username, hostname, timestamp}) and deletes it when the run ends, so
// a SIGKILLed run leaves it behind. It is removed only when this host can see
// that its holder is gone.
import * as fs from "node:fs";
import * as path from "node:path";

export interface LockContent {
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
}

export interface LockFile {
    file: string;
    content: LockContent | undefined;
}

/** What runs as a pid now, as far as this host can tell. */
export interface HolderProcess {
    alive: boolean;
    /** The executable's base name (comm), when alive. */
    command?: string;
}

export type LockDecision =
    { action: "remove"; reason: string } | { action: "refuse"; holder: string; reason: string; canCancel: boolean };

export function holderText(c: LockContent | undefined): string {
    return c ? `${c.username}@${c.hostname} (pid ${c.pid}, since ${c.timestamp})` : "an unreadable lock";
}

/**
 * Remove a lock only when its holder provably is not running: same host, and
 * the pid is gone or is no longer a pulumi process (pids are reused). A lock
 * from another host cannot be checked from here; `canCancel` says the user may
 * still remove it explicitly (--cancel-lock) when they know that run is gone.
 */
export function decideLock(
    content: LockContent | undefined,
    thisHost: string,
    holder: (pid: number) => HolderProcess,
): LockDecision {
    if (!content || typeof content.pid !== "number") {
        return { action: "refuse", holder: holderText(content), reason: "its holder cannot be read", canCancel: true };
    }
    if (content.hostname !== thisHost) {
        return {
            action: "refuse",
            holder: holderText(content),
            reason: `it was taken on another host (this is ${thisHost})`,
            canCancel: true,
        };
    }
    const p = holder(content.pid);
    if (p.alive && p.command === "pulumi") {
        return {
            action: "refuse",
            holder: holderText(content),
            reason: `pulumi still runs as pid ${content.pid}`,
            canCancel: false,
        };
    }
    const why = p.alive
        ? `pid ${content.pid} is now ${p.command ?? "another program"}, not pulumi`
        : `pid ${content.pid} is not running`;
    return { action: "remove", reason: `${why} on this host` };
}

/** The local folder of a file:// backend URL, or undefined for any other backend. */
export function fileBackendDir(backendUrl: string | undefined): string | undefined {
    if (!backendUrl?.startsWith("file://")) return undefined;
    const rest = backendUrl.slice("file://".length).replace(/\?.*$/, "");
    return rest.replace(/^~(?=$|\/)/, process.env.HOME ?? "~");
}

/** The lock files of PROJECT/STACK under a file backend (project-scoped and legacy layouts). */
export function findLocks(backendDir: string, project: string, stack: string): LockFile[] {
    const locksDir = path.join(backendDir, ".pulumi", "locks");
    const dirs = [path.join(locksDir, "organization", project, stack), path.join(locksDir, stack)];
    const out: LockFile[] = [];
    for (const dir of dirs) {
        if (!fs.existsSync(dir)) continue;
        for (const name of fs.readdirSync(dir)) {
            const file = path.join(dir, name);
            if (!name.endsWith(".json") || !fs.statSync(file).isFile()) continue;
            out.push({ file, content: parseLock(fs.readFileSync(file, "utf8")) });
        }
    }
    return out;
}

export function parseLock(text: string): LockContent | undefined {
    try {
        const v = JSON.parse(text) as Partial<LockContent>;
        if (typeof v.pid !== "number" || typeof v.hostname !== "string") return undefined;
        return {
            pid: v.pid,
            hostname: v.hostname,
            username: String(v.username ?? "?"),
            timestamp: String(v.timestamp ?? "?"),
        };
    } catch {
        return undefined;
    }
}
