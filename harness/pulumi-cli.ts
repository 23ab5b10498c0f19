// Runs the real Pulumi CLI against a copy of this project, on Pulumi's local
// file backend with a passphrase secrets provider: no Pulumi Cloud, no plugin
// downloads (the plugins come from scripts/pulumi-plugins.sh).
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pulumiEnv } from "../local-cluster/pulumi-env";

export const repoRoot = path.resolve(__dirname, "..");
export { pulumiEnv };

/** What a copy of the project needs to run (cli/stack.sh runs the policy pack); tests edit the copy's fleet/ freely. */
export const projectEntries = [
    "Pulumi.yaml",
    "package.json",
    "tsconfig.json",
    "index.ts",
    "boot",
    "components",
    "stacks",
    "fleet",
    "policy",
];

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    seconds: number;
}

export class PulumiCliError extends Error {
    constructor(
        readonly args: string[],
        readonly result: RunResult,
    ) {
        super(
            `pulumi ${args.join(" ")} exited ${result.code}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
        );
    }
}

/** A project copy plus a backend folder, both in one temp dir. */
export class PulumiWorkspace {
    readonly dir: string;
    readonly projectDir: string;
    readonly backendDir: string;
    readonly env: NodeJS.ProcessEnv;
    /** Every command run, with its duration, for the test's log. */
    readonly log: { args: string[]; seconds: number; code: number }[] = [];

    constructor(opts: { source?: string; passphrase?: string; projectEntries?: string[] } = {}) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-e2e-"));
        this.projectDir = path.join(this.dir, "project");
        this.backendDir = path.join(this.dir, "backend");
        fs.mkdirSync(this.projectDir);
        fs.mkdirSync(this.backendDir);
        const source = opts.source ?? repoRoot;
        for (const entry of opts.projectEntries ?? projectEntries) {
            fs.cpSync(path.join(source, entry), path.join(this.projectDir, entry), { recursive: true });
        }
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(this.projectDir, "node_modules"));
        this.env = pulumiEnv(this.backendDir, opts.passphrase ?? crypto.randomBytes(24).toString("base64"));
    }

    /** Runs `pulumi ARGS` in the project copy (or opts.cwd, on the same backend); throws PulumiCliError on a non-zero exit unless allowFailure. */
    async run(args: string[], opts: { allowFailure?: boolean; stdin?: string; cwd?: string } = {}): Promise<RunResult> {
        const full = ["--non-interactive", ...args];
        const start = Date.now();
        const result = await new Promise<RunResult>((resolve, reject) => {
            const child = spawn("pulumi", full, {
                cwd: opts.cwd ?? this.projectDir,
                env: this.env,
                stdio: ["pipe", "pipe", "pipe"],
            });
            let stdout = "";
            let stderr = "";
            child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
            child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
            child.on("error", reject);
            child.on("close", (code) =>
                resolve({ code: code ?? -1, stdout, stderr, seconds: (Date.now() - start) / 1000 }),
            );
            child.stdin.end(opts.stdin ?? "");
        });
        this.log.push({ args, seconds: result.seconds, code: result.code });
        // Every command's output, for a failed run kept with PULUMI_E2E_KEEP=1.
        fs.appendFileSync(
            path.join(this.dir, "commands.log"),
            `$ pulumi ${full.join(" ")}  # exit ${result.code}, ${result.seconds}s\n${result.stdout}${result.stderr}\n`,
        );
        if (result.code !== 0 && !opts.allowFailure) throw new PulumiCliError(full, result);
        // The SDKs and the plugins the engine runs must be the same releases (package.json pins them to what is built).
        const mismatch = /resource plugin \S+ is expected to have version \S+, but has \S+/.exec(
            `${result.stdout}\n${result.stderr}`,
        );
        if (mismatch)
            throw new Error(
                `pulumi ${args.join(" ")}: ${mismatch[0]}: the SDK in package.json and the plugin built by scripts/tools.sh differ`,
            );
        return result;
    }

    /** Runs a command with --json and parses its output. */
    async json<T>(args: string[], opts: { allowFailure?: boolean } = {}): Promise<{ result: RunResult; value: T }> {
        const result = await this.run([...args, "--json"], opts);
        return { result, value: JSON.parse(result.stdout) as T };
    }

    /** Creates (and selects) a stack with the passphrase secrets provider. */
    async initStack(stack: string): Promise<void> {
        await this.run(["stack", "init", stack, "--secrets-provider", "passphrase"]);
    }

    async setConfig(
        stack: string,
        values: Record<string, string>,
        secrets: Record<string, string> = {},
    ): Promise<void> {
        for (const [key, value] of Object.entries(values))
            await this.run(["config", "set", "--stack", stack, key, "--", value]);
        // Secrets go through stdin so they never appear in a process list.
        for (const [key, value] of Object.entries(secrets)) {
            await this.run(["config", "set", "--stack", stack, "--secret", key], { stdin: value });
        }
    }

    remove(): void {
        if (process.env.PULUMI_E2E_KEEP)
            console.log(`      kept ${this.dir} (commands.log has every command's output)`);
        else fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** One step of `pulumi preview --json`. */
export interface PreviewStep {
    op: string;
    urn: string;
    diffReasons?: string[];
    detailedDiff?: Record<string, { kind: string }>;
    newState?: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    oldState?: { type: string };
}

export interface PreviewJson {
    steps: PreviewStep[];
    changeSummary: Record<string, number>;
    diagnostics?: { message: string; severity: string; urn?: string }[];
}

/** The resource type of a URN ("...::parent$type::name" -> "type"). */
export function urnType(urn: string): string {
    const parts = urn.split("::");
    return parts[parts.length - 2].split("$").pop() ?? "";
}
