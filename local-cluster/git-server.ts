// A Git server over SSH on 127.0.0.1 for the tests and the demo: Debian's sshd,
// started on a free high port from a temp dir with its own host key and
// config (never the system service), serving bare repositories to the current
// user. Write keys may push; read-only keys (Flux deploy keys) are bound to a
// forced command that allows git-upload-pack only.
//
//   const git = await startGitSshServer();
//   const repo = git.createRepository("fleet");  // ssh://USER@127.0.0.1:PORT/<dir>/fleet.git
//   git.authorize(writeKey.publicKey, "write");
//   git.authorize(deployKeyPublic, "read");
//   await git.stop();
import { ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { launch, removeOnExit } from "./processes";
import { canConnect, freePort, waitFor } from "./util";

export interface SshKeyPair {
    /** OpenSSH private key (unencrypted). */
    privateKey: string;
    /** One authorized_keys / known_hosts style line: "ssh-ed25519 AAAA... comment". */
    publicKey: string;
    /** File holding privateKey (mode 0600). */
    file: string;
}

export interface GitSshServer {
    port: number;
    user: string;
    dir: string;
    /** known_hosts line for this server ("[127.0.0.1]:PORT ssh-ed25519 ..."). */
    knownHosts: string;
    /** Creates a bare repository (default branch main) and returns its ssh:// URL. */
    createRepository(name: string): string;
    /** Adds a key; "read" keys may only fetch. */
    authorize(publicKey: string, access: "read" | "write"): void;
    /** Generates a key pair in the server's dir. */
    newKey(name: string): SshKeyPair;
    /** Stores a private key made elsewhere (e.g. a deploy key read back from a cluster) for gitAs. */
    importKey(name: string, privateKey: string): SshKeyPair;
    /** Runs git against a bare repository on the server's disk (no SSH). */
    gitIn(repoName: string, args: string[]): string;
    /** Runs git with a key over SSH, as a client would; returns stdout. */
    gitAs(key: SshKeyPair, args: string[], cwd?: string): string;
    /** Stops the SSH daemon, keeping every repository and key: the server is down until resume(). */
    pause(): Promise<void>;
    /** Starts the daemon again on the same port with the same host key. */
    resume(): Promise<void>;
    stop(): Promise<void>;
}

const sshdBinary = "/usr/sbin/sshd";

export async function startGitSshServer(opts: { dir?: string } = {}): Promise<GitSshServer> {
    if (!fs.existsSync(sshdBinary)) {
        throw new Error(`${sshdBinary} not found: run scripts/install-system-deps.sh (Debian openssh-server)`);
    }
    const dir = opts.dir ?? removeOnExit(fs.mkdtempSync(path.join(os.tmpdir(), "git-ssh-")), "GIT_SSH_SERVER_KEEP");
    fs.mkdirSync(dir, { recursive: true });
    const user = os.userInfo().username;
    const port = await freePort();
    const hostKey = path.join(dir, "host_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test-git-server", "-f", hostKey]);
    const authorizedKeys = path.join(dir, "authorized_keys");
    fs.writeFileSync(authorizedKeys, "", { mode: 0o600 });
    const readOnly = path.join(dir, "git-read-only");
    fs.writeFileSync(readOnly, readOnlyCommand, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "repos"));
    const config = path.join(dir, "sshd_config");
    fs.writeFileSync(config, sshdConfig({ port, hostKey, authorizedKeys, pidFile: path.join(dir, "sshd.pid"), user }));
    // sshd running as root wants its privilege separation directory.
    if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

    // The daemon can be stopped and started again on the same port (an outage), the server's files kept.
    let sshd: ChildProcess | undefined;
    let exited = true;
    const startDaemon = async () => {
        const proc = launch(sshdBinary, ["-D", "-e", "-f", config], { dir, logFile: path.join(dir, "sshd.log") });
        exited = false;
        proc.on("exit", () => (exited = true));
        sshd = proc;
        await waitFor(
            "sshd listening",
            () => canConnect(port),
            20_000,
            () => (exited ? `sshd exited: ${fs.readFileSync(path.join(dir, "sshd.log"), "utf8")}` : undefined),
        );
    };
    const stopDaemon = async () => {
        if (exited || !sshd) return;
        const proc = sshd;
        try {
            process.kill(-proc.pid!, "SIGTERM");
        } catch {
            /* already gone */
        }
        await waitFor(
            "sshd exit",
            async () => exited,
            10_000,
            () => undefined,
        ).catch(() => proc.kill("SIGKILL"));
    };
    try {
        await startDaemon();
    } catch (err) {
        if (!exited) sshd?.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
    }
    const hostPublic = fs.readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    const knownHosts = `[127.0.0.1]:${port} ${hostPublic}`;
    const knownHostsFile = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHostsFile, `${knownHosts}\n`);
    let keys = 0;

    const server: GitSshServer = {
        port,
        user,
        dir,
        knownHosts,
        createRepository(name) {
            const repo = path.join(dir, "repos", `${name}.git`);
            execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", repo]);
            return `ssh://${user}@127.0.0.1:${port}${repo}`;
        },
        authorize(publicKey, access) {
            const key = publicKey.trim();
            if (!/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+/.test(key)) {
                throw new Error(`not an OpenSSH public key: ${key.slice(0, 40)}`);
            }
            const options = access === "read" ? `restrict,command="${readOnly}"` : "restrict";
            fs.appendFileSync(authorizedKeys, `${options} ${key}\n`);
        },
        newKey(name) {
            const file = path.join(dir, `key-${++keys}-${name}`);
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
            return {
                file,
                privateKey: fs.readFileSync(file, "utf8"),
                publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim(),
            };
        },
        importKey(name, privateKey) {
            const file = path.join(dir, `key-${++keys}-${name}`);
            fs.writeFileSync(file, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
            const publicKey = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
            fs.writeFileSync(`${file}.pub`, `${publicKey}\n`);
            return { file, privateKey, publicKey };
        },
        gitIn(repoName, args) {
            return execFileSync("git", ["-C", path.join(dir, "repos", `${repoName}.git`), ...args], {
                encoding: "utf8",
            });
        },
        gitAs(key, args, cwd) {
            const ssh = `ssh -i ${key.file} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHostsFile} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
            return execFileSync("git", args, {
                cwd,
                encoding: "utf8",
                env: { ...process.env, GIT_SSH_COMMAND: ssh, GIT_TERMINAL_PROMPT: "0" },
                stdio: ["ignore", "pipe", "pipe"],
            });
        },
        pause: stopDaemon,
        resume: startDaemon,
        async stop() {
            await stopDaemon();
            if (!process.env.GIT_SSH_SERVER_KEEP) fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    return server;
}

// Forced command of read-only keys: fetches and clones only. git-shell checks
// the command's form and runs git-upload-pack on the quoted path.
const readOnlyCommand = `#!/bin/sh
case "$SSH_ORIGINAL_COMMAND" in
  "git-upload-pack "*) exec git-shell -c "$SSH_ORIGINAL_COMMAND" ;;
esac
echo "this key is read-only: only git-upload-pack (fetch, clone) is allowed" >&2
exit 1
`;

function sshdConfig(o: {
    port: number;
    hostKey: string;
    authorizedKeys: string;
    pidFile: string;
    user: string;
}): string {
    return [
        `Port ${o.port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${o.hostKey}`,
        `PidFile ${o.pidFile}`,
        `AuthorizedKeysFile ${o.authorizedKeys}`,
        `AllowUsers ${o.user}`,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        // The temp dir's modes are the test's business, not sshd's.
        "StrictModes no",
        "PrintMotd no",
        "LogLevel VERBOSE",
        "",
    ].join("\n");
}
