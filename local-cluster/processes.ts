// Host processes of the local cluster: each in its own process group with its
// log in the cluster's folder, stopped with SIGTERM then SIGKILL, and killed
// when the Node process exits or is signalled without stopping them (no orphan
// daemons, no temp folders left).
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const running = new Set<ChildProcess>();
/** Temp folders to remove at exit, each with the variable that keeps it (for debugging), if any. */
const tempDirs = new Map<string, string | undefined>();

function cleanUp(): void {
    for (const p of running) killGroup(p, "SIGKILL");
    for (const [dir, keepVar] of tempDirs)
        if (!(keepVar && process.env[keepVar])) fs.rmSync(dir, { recursive: true, force: true });
}

// Installed with the first process or folder to clean up, not at import.
// A signal ends Node without "exit" unless someone listens. When nobody else
// handles it (the demo does, and stops everything itself), clean up and die of
// the same signal, so a test killed by a timeout or Ctrl-C leaves no daemon behind.
let cleanUpInstalled = false;
function installCleanUp(): void {
    if (cleanUpInstalled) return;
    cleanUpInstalled = true;
    process.on("exit", cleanUp);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        const onSignal = (): void => {
            if (process.listenerCount(signal) > 1) return;
            cleanUp();
            process.removeListener(signal, onSignal);
            process.kill(process.pid, signal);
        };
        process.on(signal, onSignal);
    }
}

/** Removes DIR when the Node process exits or is signalled, unless the variable keepVar is set. */
export function removeOnExit(dir: string, keepVar?: string): string {
    installCleanUp();
    tempDirs.set(dir, keepVar);
    return dir;
}

export interface LaunchOptions {
    /** Working folder. */
    dir: string;
    /** The log file; defaults to DIR/<binary>.log. */
    logFile?: string;
    /** Extra environment on top of this process's. */
    env?: NodeJS.ProcessEnv;
}

export function launch(bin: string, args: string[], opts: LaunchOptions): ChildProcess {
    const logFile = opts.logFile ?? logPath(opts.dir, path.basename(bin));
    const out = fs.openSync(logFile, "a");
    // detached: its own process group, so stopProcess() reaches its children too.
    const p = spawn(bin, args, {
        cwd: opts.dir,
        detached: true,
        stdio: ["ignore", out, out],
        env: { ...process.env, ...opts.env },
    });
    fs.closeSync(out);
    installCleanUp();
    running.add(p);
    p.on("exit", () => running.delete(p));
    return p;
}

/** Process group ids of every host process this Node process started and that still runs. */
export function runningProcessGroups(): number[] {
    return [...running].flatMap((p) => (p.pid === undefined || hasExited(p) ? [] : [p.pid]));
}

export function logPath(dir: string, logName: string): string {
    return path.join(dir, `${logName}.log`);
}

export function hasExited(p: ChildProcess): boolean {
    return p.exitCode !== null || p.signalCode !== null;
}

/** The last lines of a log, for error messages. */
export function logTail(file: string, lines = 20): string {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "";
}

export function killGroup(p: ChildProcess, signal: NodeJS.Signals): void {
    if (p.pid === undefined) return;
    try {
        process.kill(-p.pid, signal);
    } catch {
        // already gone
    }
}

export async function stopProcess(p: ChildProcess, graceMs = 10_000): Promise<void> {
    if (hasExited(p)) return;
    const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
    killGroup(p, "SIGTERM");
    const timer = setTimeout(() => killGroup(p, "SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
}
