// Runs the pinned tools synchronously and returns what they printed: the
// checks quote the tool's own words in their failure messages.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "..", "..");

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface RunOptions {
    cwd?: string;
    input?: string;
    env?: Record<string, string>;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
    const r = spawnSync(cmd, args, {
        cwd: opts.cwd,
        input: opts.input,
        env: { ...process.env, ...opts.env },
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
    });
    if (r.error) return { code: 127, stdout: "", stderr: `${cmd}: ${r.error.message}` };
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** A tool from .tools/bin (built and pinned by scripts/tools.sh), else PATH. */
export { findBinary as tool } from "../../local-cluster/util";

/** The pinned TOOL_VERSION of scripts/tools/<name>.sh, so each version is written once. */
export function pinnedVersion(name: string): string {
    const text = fs.readFileSync(path.join(repoRoot, "scripts", "tools", `${name}.sh`), "utf8");
    const m = /^TOOL_VERSION=(\S+)$/m.exec(text);
    if (!m) throw new Error(`scripts/tools/${name}.sh sets no TOOL_VERSION`);
    return m[1];
}

/** The last lines of a tool's output: enough to name the culprit, short enough to read. */
export function tail(text: string, lines = 25): string {
    const all = text.trimEnd().split("\n");
    return all.slice(-lines).join("\n");
}
