// The Pulumi CLI calls recovery makes, on the backend and CLI of the caller's
// environment (cli/stack.sh sets both).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PendingOperation, StateResource } from "./pending";

export interface Deployment {
    resources?: StateResource[];
    pending_operations?: PendingOperation[];
    [key: string]: unknown;
}

export interface StackState {
    version: number;
    deployment: Deployment;
}

export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
}

export class PulumiCli {
    constructor(
        readonly stack: string,
        readonly cwd: string,
    ) {}

    /** Runs pulumi; with show, its output streams to stderr (a refresh's progress). */
    run(args: string[], opts: { show?: boolean } = {}): Promise<CliResult> {
        return new Promise((resolve, reject) => {
            const child = spawn("pulumi", [...args, "--stack", this.stack, "--non-interactive"], {
                cwd: this.cwd,
                stdio: ["ignore", "pipe", "pipe"],
            });
            let stdout = "";
            let stderr = "";
            child.stdout.setEncoding("utf8").on("data", (d: string) => {
                stdout += d;
                if (opts.show) process.stderr.write(d);
            });
            child.stderr.setEncoding("utf8").on("data", (d: string) => {
                stderr += d;
                if (opts.show) process.stderr.write(d);
            });
            child.on("error", (err) => reject(new Error(`running pulumi ${args.join(" ")}: ${err.message}`)));
            child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
    }

    async mustRun(args: string[], opts: { show?: boolean } = {}): Promise<CliResult> {
        const r = await this.run(args, opts);
        if (r.code !== 0) {
            const said = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-15).join("\n");
            throw new Error(`pulumi ${args.join(" ")} --stack ${this.stack} exited ${r.code}:\n${said}`);
        }
        return r;
    }

    /** The stack's state, or undefined when the stack does not exist yet. */
    async exportState(): Promise<StackState | undefined> {
        const r = await this.run(["stack", "export"]);
        if (r.code !== 0) {
            if (/no stack named|stack .* not found|does not exist/i.test(r.stderr)) return undefined;
            throw new Error(`pulumi stack export --stack ${this.stack} exited ${r.code}: ${r.stderr.trim()}`);
        }
        return JSON.parse(r.stdout) as StackState;
    }

    async importState(state: StackState): Promise<void> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recover-state-"));
        const file = path.join(dir, "state.json");
        try {
            // The exported state holds secrets only as ciphertext; still, only this user reads it.
            fs.writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
            await this.mustRun(["stack", "import", "--file", file]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    /**
     * One refresh that imports the pending creates given by ID and, with
     * clearOtherCreates, drops every other pending create (the engine drops the
     * other pending operations itself). Not targeted: a pending create is no
     * resource yet, so --target cannot name it. It must be one command, on the
     * state as the killed run left it: `pulumi stack import` drops pending operations.
     */
    async importPendingCreates(imports: { urn: string; id: string }[], clearOtherCreates: boolean): Promise<void> {
        const args = ["refresh", "--yes", "--skip-preview"];
        for (const i of imports) args.push("--import-pending-creates", i.urn, "--import-pending-creates", i.id);
        if (clearOtherCreates) args.push("--clear-pending-creates");
        await this.mustRun(args, { show: true });
    }

    /** A setting of the project's namespace, or undefined when it is not set. */
    async config(key: string): Promise<string | undefined> {
        const r = await this.run(["config", "get", key]);
        return r.code === 0 ? r.stdout.trim() : undefined;
    }
}

/** The project's name, from Pulumi.yaml in DIR. */
export function projectName(dir: string): string {
    const text = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    const m = /^name:\s*["']?([^"'\s#]+)/m.exec(text);
    if (!m) throw new Error(`${path.join(dir, "Pulumi.yaml")} has no name:`);
    return m[1];
}
