// A Pulumi dynamic provider whose resource is "Flux's deploy key may read the
// fleet repository": its create and update run `git ls-remote` against the URL
// Flux clones, with the deploy key and the server's host keys, exactly as Flux
// will. A key the server refuses fails the `up` within seconds (instead of Flux
// waiting minutes on its GitRepository), printing the public key to authorize
// and the command to run next. The server gets a short grace window, for those
// that take a moment to register a key.
//
// Runs inside Pulumi's dynamic provider process, closure-serialized: plain Node,
// no Pulumi imports, and plain Errors only (a serialized Error subclass loses
// its message).
import type * as pulumi from "@pulumi/pulumi";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gitEnv, gitSaid } from "../fleet-sync/git-workspace";

export interface DeployKeyAccessInputs {
    /** The ssh:// URL Flux clones. */
    url: string;
    knownHosts: string;
    /** Secret; an input only, never an output. */
    privateKey: string;
    publicKey: string;
    stack: string;
    /** The command that runs `up` again, as the project prints commands. */
    upCommand: string;
    /** How long a refused key is tried again. */
    graceSeconds: number;
}

/** What the state keeps: what was checked, never the private key. */
export interface DeployKeyAccessOutputs {
    url: string;
    knownHosts: string;
    publicKey: string;
}

/** The inputs whose change means the check must run again. */
const checkedFields = ["url", "knownHosts", "publicKey"] as const;

export type LsRemote = (
    url: string,
    privateKey: string,
    knownHosts: string,
) => Promise<{ ok: true } | { ok: false; said: string }>;

export class DeployKeyAccessProvider implements pulumi.dynamic.ResourceProvider<
    DeployKeyAccessInputs,
    DeployKeyAccessOutputs
> {
    constructor(private readonly lsRemote: LsRemote = gitLsRemote) {}

    async diff(
        _id: string,
        olds: DeployKeyAccessOutputs,
        news: DeployKeyAccessInputs,
    ): Promise<pulumi.dynamic.DiffResult> {
        // Only what decides the answer: a change of the printed command alone is no change.
        const changed = checkedFields.filter((f) => olds[f] !== news[f]);
        return { changes: changed.length > 0 };
    }

    async create(inputs: DeployKeyAccessInputs): Promise<pulumi.dynamic.CreateResult<DeployKeyAccessOutputs>> {
        await checkReadAccess(inputs, this.lsRemote);
        return { id: `${inputs.stack}-deploy-key-read-access`, outs: outputsOf(inputs) };
    }

    async update(
        _id: string,
        _olds: DeployKeyAccessOutputs,
        news: DeployKeyAccessInputs,
    ): Promise<pulumi.dynamic.UpdateResult<DeployKeyAccessOutputs>> {
        await checkReadAccess(news, this.lsRemote);
        return { outs: outputsOf(news) };
    }

    async delete(): Promise<void> {
        // Nothing exists outside the state.
    }
}

function outputsOf(inputs: DeployKeyAccessInputs): DeployKeyAccessOutputs {
    return { url: inputs.url, knownHosts: inputs.knownHosts, publicKey: inputs.publicKey };
}

/** Resolves once the deploy key can list the repository's refs; otherwise rejects with what to do. */
export async function checkReadAccess(inputs: DeployKeyAccessInputs, lsRemote: LsRemote = gitLsRemote): Promise<void> {
    const deadline = Date.now() + inputs.graceSeconds * 1000;
    for (;;) {
        const result = await lsRemote(inputs.url, inputs.privateKey, inputs.knownHosts);
        if (result.ok) return;
        const kind = failureKind(result.said);
        if ((kind === "refused" || kind === "missing") && Date.now() + 1000 < deadline) {
            await new Promise((r) => setTimeout(r, 1000));
            continue;
        }
        throw new Error(failureMessage(kind, result.said, inputs));
    }
}

type FailureKind = "refused" | "missing" | "hostKey" | "unreachable" | "other";

function failureKind(said: string): FailureKind {
    if (gitSaid.wrongHostKey.test(said)) return "hostKey";
    if (/Permission denied|not authori[sz]ed|access denied|\bDENIED\b|Authentication failed/i.test(said))
        return "refused";
    // Servers answer "not found" for a repository the key may not see.
    if (/not found|does not appear to be a git repository|does not exist|No such repository/i.test(said))
        return "missing";
    if (gitSaid.unreachable.test(said)) return "unreachable";
    return "other";
}

function failureMessage(kind: FailureKind, said: string, inputs: DeployKeyAccessInputs): string {
    const authorize =
        "Authorize this public key READ-ONLY on the Git server (as a read-only deploy key of the repository, or a key of its git user that may only fetch):\n" +
        `    ${inputs.publicKey.trim()}\n` +
        `then run: ${inputs.upCommand}`;
    const git = `(git: ${said})`;
    switch (kind) {
        case "refused":
            return `the fleet repository at ${inputs.url} refuses the deploy key of stack ${inputs.stack} ${git}.\n${authorize}`;
        case "missing":
            return `the Git server has no repository at ${inputs.url} that the deploy key of stack ${inputs.stack} may read ${git}. Check the setting gitUrl; if it is right:\n${authorize}`;
        case "hostKey":
            return (
                `the Git server of ${inputs.url} does not present a host key listed in the setting gitKnownHosts ${git}: ` +
                `set gitKnownHosts to the server's ssh-keyscan lines, then run: ${inputs.upCommand}`
            );
        case "unreachable":
            return `cannot reach the Git server of ${inputs.url} to check the deploy key of stack ${inputs.stack} ${git}: start it (or fix gitUrl), then run: ${inputs.upCommand}`;
        default:
            return `cannot check that the deploy key of stack ${inputs.stack} may read ${inputs.url} ${git}. Once git can list the repository's refs with it, run: ${inputs.upCommand}`;
    }
}

const lsRemoteTimeoutMs = 30_000;

/** git ls-remote URL with the key and host keys alone (no user or system ssh or git config). */
export async function gitLsRemote(
    url: string,
    privateKey: string,
    knownHosts: string,
): Promise<{ ok: true } | { ok: false; said: string }> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-key-access-"));
    try {
        const env = gitEnv(root, { kind: "ssh", privateKey, knownHosts });
        return await new Promise((resolve) => {
            childProcess.execFile(
                "git",
                ["ls-remote", "--heads", url],
                { cwd: root, env, timeout: lsRemoteTimeoutMs },
                (err, _stdout, stderr) => {
                    if (!err) return resolve({ ok: true });
                    const said =
                        stderr.trim() || (err.killed ? `no answer within ${lsRemoteTimeoutMs / 1000} s` : err.message);
                    // One line, without git's generic advice after the server's own words.
                    const lines = said
                        .split(/\r?\n|\r/)
                        .map((l) => l.trim())
                        .filter((l) => l !== "" && !/^(Please make sure|and the repository exists)/.test(l));
                    resolve({ ok: false, said: lines.join(" ").split(privateKey).join("[secret]") });
                },
            );
        });
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}
