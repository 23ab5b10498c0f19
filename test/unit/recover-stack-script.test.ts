// cli/stack.sh's part in finishing interrupted runs, against a fake
// `pulumi`: --recover runs cli/recover.ts before the command (removing a
// stale lock, refusing a live one), and whatever a pulumi run leaves running
// is killed once its CLI exits.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const repoRoot = path.resolve(__dirname, "..", "..");
const script = path.join(repoRoot, "cli", "stack.sh");

/** Logs each call; `up` starts a detached `sleep` (as a provider plugin would outlive a killed CLI) and records its pid; `stack export` answers an empty state. */
const fakePulumi = `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_PULUMI_LOG"
case "$1" in
  up) sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "$FAKE_PLUGIN_PID" ;;
  stack) [ "$2" = export ] && echo '{"version":3,"deployment":{}}' ;;
  config) exit 1 ;;
esac
exit 0
`;

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

describe("cli/stack.sh: interrupted runs", () => {
    let dir: string;
    let env: Record<string, string>;
    let lockDir: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-recover-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.mkdirSync(path.join(dir, "home"));
        fs.writeFileSync(path.join(dir, "bin", "pulumi"), fakePulumi, { mode: 0o755 });
        lockDir = path.join(dir, "backend", ".pulumi", "locks", "organization", "gitops-kyverno", "staging");
        fs.mkdirSync(lockDir, { recursive: true });
        env = {
            PATH: [path.join(dir, "bin"), "/usr/local/bin", "/usr/bin", "/bin"].join(path.delimiter),
            HOME: path.join(dir, "home"),
            PULUMI_CONFIG_PASSPHRASE: "test",
            PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
            FAKE_PULUMI_LOG: path.join(dir, "calls.log"),
            FAKE_PLUGIN_PID: path.join(dir, "plugin.pid"),
        };
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (args: string[]) => spawnSync("bash", [script, ...args], { encoding: "utf8", env });
    const calls = () => fs.readFileSync(env.FAKE_PULUMI_LOG, "utf8").trim().split("\n");
    const writeLock = (pid: number) =>
        fs.writeFileSync(
            path.join(lockDir, "x.json"),
            JSON.stringify({ pid, username: "me", hostname: os.hostname(), timestamp: "2026-01-01T00:00:00Z" }),
        );

    it("kills what a pulumi run left running once its CLI has exited", function () {
        if (!fs.existsSync("/proc/self/environ")) this.skip();
        const r = run(["up", "staging", "--yes"]);
        assert.equal(r.status, 0, r.stderr);
        const pid = Number(fs.readFileSync(env.FAKE_PLUGIN_PID, "utf8"));
        assert.ok(pid > 0);
        assert.equal(alive(pid), false, `the process ${pid} the fake CLI left is still running`);
        assert.match(r.stderr, new RegExp(`killed 1 process\\(es\\) the pulumi CLI left running: ${pid}`));
    });

    it("--recover removes a lock whose pid is gone, then runs up without the flag", () => {
        const gone = spawnSync("true").pid!;
        writeLock(gone);
        const r = run(["up", "staging", "--recover", "--yes"]);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(fs.readdirSync(lockDir), []);
        assert.match(
            r.stderr,
            new RegExp(`removed the stale lock .*x\\.json: pid ${gone} is not running on this host`),
        );
        assert.deepEqual(
            calls().filter((c) => c.startsWith("up")),
            [`up --stack staging --policy-pack ${path.join(repoRoot, "policy")} --yes`],
        );
    });

    it("--recover refuses, and runs nothing, while a pulumi process holds the lock", async () => {
        // A live process whose command is `pulumi`: sleep, started through a link of that name.
        fs.mkdirSync(path.join(dir, "holder"));
        fs.symlinkSync(
            spawnSync("bash", ["-c", "command -v sleep"], { encoding: "utf8" }).stdout.trim(),
            path.join(dir, "holder", "pulumi"),
        );
        const sleeper = spawn(path.join(dir, "holder", "pulumi"), ["30"], { stdio: "ignore" });
        try {
            await new Promise((r) => setTimeout(r, 200));
            writeLock(sleeper.pid!);
            const r = run(["destroy", "staging", "--recover", "--yes"]);
            assert.equal(r.status, 1, r.stderr);
            assert.match(
                r.stderr,
                new RegExp(
                    `locked by me@${os.hostname()} \\(pid ${sleeper.pid}.*pulumi still runs as pid ${sleeper.pid}.*kill ${sleeper.pid}`,
                ),
            );
            assert.deepEqual(fs.readdirSync(lockDir), ["x.json"]);
            assert.ok(
                !fs.existsSync(env.FAKE_PULUMI_LOG) || !calls().some((c) => c.startsWith("destroy")),
                "destroy ran despite the live lock",
            );
        } finally {
            sleeper.kill("SIGKILL");
        }
    });

    it("--cancel-lock without --recover is refused with the full command", () => {
        const r = run(["up", "staging", "--cancel-lock"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /--cancel-lock goes with --recover: cli\/stack.sh up staging --recover --cancel-lock/);
    });
});
