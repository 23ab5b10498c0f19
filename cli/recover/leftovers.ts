// Plugin processes a killed Pulumi CLI leaves running: its providers, language
// host, the program and the dynamic providers' Node processes are not killed
// with it, get reparented and keep serving (or finishing a Helm install for)
// a CLI that is gone. cli/stack.sh marks every process of a run with
// GITOPS_KYVERNO_RUN ("<run id> <stack> <project dir>"); a marked process
// whose run has no pulumi CLI alive any more is a leftover. Unmarked plugin
// processes (a plain `pulumi up`) count when they run in the project folder
// and no pulumi CLI is among their ancestors.
import * as fs from "node:fs";
import * as path from "node:path";

export const runMarkerVar = "GITOPS_KYVERNO_RUN";

export interface ProcInfo {
    pid: number;
    ppid: number;
    comm: string;
    cmdline: string[];
    cwd?: string;
    /** The value of GITOPS_KYVERNO_RUN in its environment, if any. */
    marker?: string;
}

export interface RunMarker {
    run: string;
    stack: string;
    projectDir: string;
}

export function parseMarker(value: string | undefined): RunMarker | undefined {
    const m = value === undefined ? null : /^(\S+) (\S+) (.+)$/.exec(value);
    return m ? { run: m[1], stack: m[2], projectDir: m[3] } : undefined;
}

const pluginPrefixes = ["pulumi-resource-", "pulumi-language-", "pulumi-analyzer-"];
const nodePluginPaths = ["@pulumi/pulumi/cmd/dynamic-provider", "@pulumi/pulumi/cmd/run"];

/** A plugin or program process of a Pulumi run, by what it executes. */
export function isPulumiPlugin(p: ProcInfo): boolean {
    const names = p.cmdline.slice(0, 3).map((a) => path.basename(a));
    if (names.some((n) => pluginPrefixes.some((prefix) => n.startsWith(prefix)))) return true;
    return p.cmdline.some((a) => nodePluginPaths.some((n) => a.includes(n)));
}

function isCli(p: ProcInfo): boolean {
    return p.comm === "pulumi";
}

export interface Leftover {
    pid: number;
    what: string;
    why: string;
}

/** The processes of dead runs of STACK in PROJECTDIR, from a snapshot of the process table. */
export function findLeftovers(procs: ProcInfo[], projectDir: string, stack: string, self = process.pid): Leftover[] {
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    const liveRuns = new Set(procs.filter(isCli).flatMap((p) => parseMarker(p.marker)?.run ?? []));
    const underCli = (p: ProcInfo): boolean => {
        const seen = new Set<number>();
        for (let q = byPid.get(p.ppid); q && !seen.has(q.pid); q = byPid.get(q.ppid)) {
            if (isCli(q)) return true;
            seen.add(q.pid);
        }
        return false;
    };
    const out: Leftover[] = [];
    for (const p of procs) {
        if (p.pid === self || isCli(p)) continue;
        const what = p.cmdline.slice(0, 2).join(" ") || p.comm;
        const marker = parseMarker(p.marker);
        if (marker) {
            if (marker.stack === stack && marker.projectDir === projectDir && !liveRuns.has(marker.run)) {
                out.push({ pid: p.pid, what, why: `its run ${marker.run} of ${stack} has no pulumi CLI any more` });
            }
        } else if (isPulumiPlugin(p) && p.cwd === projectDir && !underCli(p)) {
            out.push({ pid: p.pid, what, why: `a Pulumi plugin in ${projectDir} whose pulumi CLI is gone` });
        }
    }
    return out;
}

/** The process table from /proc (undefined where there is none, e.g. macOS). */
export function readProcesses(): ProcInfo[] | undefined {
    if (!fs.existsSync("/proc/self/stat")) return undefined;
    const out: ProcInfo[] = [];
    for (const name of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        const info = readProcess(Number(name));
        if (info) out.push(info);
    }
    return out;
}

export function readProcess(pid: number): ProcInfo | undefined {
    const dir = `/proc/${pid}`;
    try {
        const stat = fs.readFileSync(`${dir}/stat`, "utf8");
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        const close = stat.lastIndexOf(")");
        const comm = stat.slice(stat.indexOf("(") + 1, close);
        const ppid = Number(stat.slice(close + 2).split(" ")[1]);
        const cmdline = fs.readFileSync(`${dir}/cmdline`, "utf8").split("\0").filter(Boolean);
        let cwd: string | undefined;
        let marker: string | undefined;
        try {
            cwd = fs.readlinkSync(`${dir}/cwd`);
            const env = fs.readFileSync(`${dir}/environ`, "utf8").split("\0");
            marker = env.find((e) => e.startsWith(`${runMarkerVar}=`))?.slice(runMarkerVar.length + 1);
        } catch {
            // another user's process: its folder and environment are not ours to read
        }
        return { pid, ppid, comm, cmdline, cwd, marker };
    } catch {
        return undefined; // exited while we read
    }
}

/** SIGKILLs each leftover and waits (up to 10 s) until it is gone; returns those still there. */
export async function killLeftovers(leftovers: Leftover[]): Promise<number[]> {
    for (const l of leftovers) {
        try {
            process.kill(l.pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
    const deadline = Date.now() + 10_000;
    let left = leftovers.map((l) => l.pid);
    while (left.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        left = left.filter((pid) => isRunning(pid));
    }
    return left;
}

/** Running and not a zombie (a zombie waits only for its parent to reap it). */
export function isRunning(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        try {
            process.kill(pid, 0);
            return !fs.existsSync("/proc/self/stat");
        } catch (err) {
            return (err as NodeJS.ErrnoException).code === "EPERM";
        }
    }
}
