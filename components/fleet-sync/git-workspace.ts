// Git plumbing for the fleet-sync dynamic provider: a throw-away clone of one
// branch, authenticated by an SSH key or a token, that applies a set of file
// writes and removals as ONE commit and pushes it, retrying when another
// environment pushed first. Runs inside Pulumi's dynamic provider process, so
// everything here is plain Node with no Pulumi imports.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type GitAuth = { kind: "ssh"; privateKey: string; knownHosts: string } | { kind: "token"; token: string };

export interface GitTarget {
    url: string;
    branch: string;
    auth: GitAuth;
}

export interface CommitPlan {
    /** Files to write, by repository path. */
    write: Record<string, string>;
    /** Files to write only where the branch has no file at that path. */
    writeIfAbsent?: Record<string, string>;
    /** Repository paths to remove if present. */
    remove: string[];
    /** The commit message, or a function of the paths the commit adds or changes. */
    message: string | ((written: string[]) => string);
    author: { name: string; email: string };
}

/**
 * A failed git command: a plain Error with the command and what git said. Not a
 * subclass: this code runs in a dynamic provider, whose closure serialization
 * turns `class X extends Error` into a constructor that drops the message (the
 * engine then printed `error: undefined`). Its message never holds a credential.
 */
export interface GitFailure extends Error {
    gitCommand: string;
    gitOutput: string;
}

export function isGitFailure(err: unknown): err is GitFailure {
    return err instanceof Error && typeof (err as Partial<GitFailure>).gitOutput === "string";
}

const maxPushAttempts = 6;

/** Applies plan on top of the branch head and pushes; returns the resulting head commit ("" for an empty new branch). */
export async function commitAndPush(target: GitTarget, plan: CommitPlan): Promise<string> {
    return withWorkspace(target, async (git) => {
        for (let attempt = 1; ; attempt++) {
            const exists = await checkoutBranch(git, target.branch);
            const absent = Object.entries(plan.writeIfAbsent ?? {}).filter(
                ([rel]) => !fs.existsSync(path.join(git.dir, rel)),
            );
            for (const [rel, content] of [...Object.entries(plan.write), ...absent]) {
                const file = path.join(git.dir, rel);
                fs.mkdirSync(path.dirname(file), { recursive: true });
                fs.writeFileSync(file, content);
            }
            for (const rel of plan.remove) fs.rmSync(path.join(git.dir, rel), { force: true });
            await git.run(["add", "--all"]);
            const status = await git.run(["status", "--porcelain", "--no-renames"]);
            if (status.trim() === "") {
                return exists ? (await git.run(["rev-parse", "HEAD"])).trim() : "";
            }
            const written = status
                .split("\n")
                .filter((l) => /^[AM]/.test(l))
                .map((l) => l.slice(3));
            const message = typeof plan.message === "function" ? plan.message(written) : plan.message;
            await git.run([
                "-c",
                `user.name=${plan.author.name}`,
                "-c",
                `user.email=${plan.author.email}`,
                "commit",
                "--quiet",
                "--no-verify",
                "-m",
                message,
            ]);
            try {
                await git.run(["push", "--quiet", "--porcelain", "origin", `HEAD:refs/heads/${target.branch}`]);
                return (await git.run(["rev-parse", "HEAD"])).trim();
            } catch (err) {
                // Another environment pushed first: start again from the new head.
                if (!isRejectedPush(err)) throw err;
                if (attempt >= maxPushAttempts) {
                    throw new Error(
                        `pushing to ${target.url} (branch ${target.branch}) was rejected ${attempt} times because other pushes kept moving the branch; ` +
                            `nothing of this change was pushed. Run the same command again. Last answer: ${(err as GitFailure).gitOutput}`,
                        { cause: err },
                    );
                }
                await sleep(200 * attempt + Math.floor(Math.random() * 300));
            }
        }
    });
}

/** Reads the given paths at the branch head; absent paths are omitted. Returns the head commit too. */
export async function readFiles(
    target: GitTarget,
    paths: string[],
): Promise<{ commit: string; files: Record<string, string> }> {
    return withWorkspace(target, async (git) => {
        const exists = await checkoutBranch(git, target.branch);
        const files: Record<string, string> = {};
        if (!exists) return { commit: "", files };
        for (const rel of paths) {
            const file = path.join(git.dir, rel);
            if (fs.existsSync(file)) files[rel] = fs.readFileSync(file, "utf8");
        }
        return { commit: (await git.run(["rev-parse", "HEAD"])).trim(), files };
    });
}

interface Git {
    dir: string;
    run(args: string[]): Promise<string>;
}

/** Fetches the branch head and checks it out; on a repository or branch with no commit, starts an orphan branch. */
async function checkoutBranch(git: Git, branch: string): Promise<boolean> {
    const heads = await git.run(["ls-remote", "--heads", "origin", `refs/heads/${branch}`]);
    if (heads.trim() === "") {
        await git.run(["checkout", "--quiet", "--orphan", branch]);
        await git.run(["rm", "-r", "--quiet", "--cached", "--ignore-unmatch", "."]);
        return false;
    }
    await git.run(["fetch", "--quiet", "--depth=1", "origin", `refs/heads/${branch}`]);
    await git.run(["checkout", "--quiet", "--force", "-B", branch, "FETCH_HEAD"]);
    await git.run(["clean", "-fdq"]);
    return true;
}

async function withWorkspace<T>(target: GitTarget, body: (git: Git) => Promise<T>): Promise<T> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-sync-"));
    try {
        const dir = path.join(root, "work");
        const env = gitEnv(root, target.auth);
        const secrets = target.auth.kind === "ssh" ? [target.auth.privateKey] : [target.auth.token];
        const git: Git = { dir, run: (args) => runGit(args, dir, env, secrets, target.url) };
        fs.mkdirSync(dir);
        await git.run(["init", "--quiet"]);
        await git.run(["remote", "add", "origin", target.url]);
        return await body(git);
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/** The environment git runs in: no user or system config, no prompt, and the SSH key or token written under root. */
export function gitEnv(root: string, auth: GitAuth): NodeJS.ProcessEnv {
    // Ignore the user's and the system's git config: hooks, signing and credential
    // helpers there must not change what is pushed or prompt for anything.
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: path.join(root, "gitconfig"),
        GIT_TERMINAL_PROMPT: "0",
        GIT_ASKPASS: "true",
    };
    fs.writeFileSync(env.GIT_CONFIG_GLOBAL!, "[init]\n\tdefaultBranch = main\n");
    if (auth.kind === "ssh") {
        const key = path.join(root, "id");
        const knownHosts = path.join(root, "known_hosts");
        fs.writeFileSync(key, auth.privateKey.endsWith("\n") ? auth.privateKey : `${auth.privateKey}\n`, {
            mode: 0o600,
        });
        fs.writeFileSync(knownHosts, auth.knownHosts.endsWith("\n") ? auth.knownHosts : `${auth.knownHosts}\n`);
        env.GIT_SSH_COMMAND = [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            shellQuote(key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            `UserKnownHostsFile=${shellQuote(knownHosts)}`,
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ConnectTimeout=20",
        ].join(" ");
    } else {
        // The token travels as an HTTP header set through the environment, so it is in
        // no URL, no argument list and no error message.
        const basic = Buffer.from(`x-access-token:${auth.token}`).toString("base64");
        env.GIT_CONFIG_COUNT = "1";
        env.GIT_CONFIG_KEY_0 = "http.extraHeader";
        env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
    }
    return env;
}

function runGit(args: string[], cwd: string, env: NodeJS.ProcessEnv, secrets: string[], url: string): Promise<string> {
    return new Promise((resolve, reject) => {
        childProcess.execFile(
            "git",
            args,
            { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
            (err, stdout, stderr) => {
                if (!err) return resolve(stdout);
                const command = `git ${args
                    .filter((a) => !a.startsWith("user."))
                    .slice(0, 3)
                    .join(" ")}`;
                const said =
                    redact(`${stderr}${stdout}`.trim(), secrets) ||
                    (err.killed ? "no answer within 120 s" : redact(err.message, secrets));
                const hint = gitHint(said, url);
                reject(
                    Object.assign(new Error(`${command} failed against ${url}: ${said}${hint ? `\n${hint}` : ""}`), {
                        gitCommand: command,
                        gitOutput: said,
                    }),
                );
            },
        );
    });
}

/** What git (or ssh under it) says when the server cannot be reached, or shows a host key the settings do not list. */
export const gitSaid = {
    unreachable:
        /Connection refused|Failed to connect|Could not resolve host|Name or service not known|Connection timed out|No route to host|Network is unreachable|no answer within/i,
    wrongHostKey:
        /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (ED25519|RSA|ECDSA) host key is known/i,
};

/** What to do about the git failures a user can fix. */
export function gitHint(said: string, url: string): string {
    if (gitSaid.unreachable.test(said)) {
        return `The Git server of ${url} cannot be reached: start it (or fix the URL in the settings), then run the same command again; nothing was pushed.`;
    }
    if (gitSaid.wrongHostKey.test(said)) {
        return "The server's SSH host key is not the one in the settings: set gitKnownHosts to its `ssh-keyscan` line, then run the same command again.";
    }
    if (
        /Permission denied \(publickey|Authentication failed|HTTP 401|returned error: 40[13]|could not read Username/i.test(
            said,
        )
    ) {
        return "The server refused the program's credential: give gitWriteKey write access to the repository (GitHub: a token with Contents write), then run the same command again.";
    }
    if (/protected branch|GH006|pre-receive hook declined/i.test(said)) {
        return "The branch refuses direct pushes (a protected branch or a server hook): let the program's credential push to it, or point the stack at another branch (setting branch).";
    }
    return "";
}

function isRejectedPush(err: unknown): boolean {
    return (
        isGitFailure(err) &&
        /\[rejected\]|non-fast-forward|fetch first|stale info|failed to update ref|cannot lock ref/.test(err.gitOutput)
    );
}

function redact(text: string, secrets: string[]): string {
    let out = text;
    for (const s of secrets) if (s) out = out.split(s).join("[secret]");
    return out;
}

function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
