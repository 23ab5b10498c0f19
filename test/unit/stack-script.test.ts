// cli/stack.sh against a fake `pulumi` on PATH that records each call's
// arguments and the backend it was given: which flags reach which command, and
// what is refused before any call.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const repoRoot = path.resolve(__dirname, "..", "..");
const script = path.join(repoRoot, "cli", "stack.sh");

interface Call {
    args: string[];
    backend: string;
    cli: string;
}

/** The fake CLI: one line per call, fields separated by \x1f; `config get deleteRepositoryOnDestroy` answers $FAKE_DELETE_REPO. */
const fakePulumi = `#!/usr/bin/env bash
{ printf '%s\\x1f' "\${PULUMI_BACKEND_URL:-}" "\${GITOPS_KYVERNO_CLI:-}" "$@"; printf '\\n'; } >> "$FAKE_PULUMI_LOG"
if [ "$1" = config ] && [ "$2" = get ] && [ "$3" = deleteRepositoryOnDestroy ]; then
  if [ -n "\${FAKE_DELETE_REPO:-}" ]; then echo "$FAKE_DELETE_REPO"; exit 0; fi
  echo "error: configuration key 'gitops-kyverno:deleteRepositoryOnDestroy' not found" >&2; exit 255
fi
exit 0
`;

describe("cli/stack.sh", () => {
    let dir: string;
    let log: string;
    let bin: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-sh-"));
        bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.join(dir, "home"));
        fs.writeFileSync(path.join(bin, "pulumi"), fakePulumi, { mode: 0o755 });
        log = path.join(dir, "calls.log");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function run(
        args: string[],
        env: Record<string, string | undefined> = {},
    ): { code: number; stderr: string; calls: Call[] } {
        // A fresh environment: only the fake CLI, the system's tools, a temp HOME.
        const full: Record<string, string | undefined> = {
            PATH: [bin, "/usr/local/bin", "/usr/bin", "/bin"].join(path.delimiter),
            HOME: path.join(dir, "home"),
            PULUMI_CONFIG_PASSPHRASE: "test",
            FAKE_PULUMI_LOG: log,
            ...env,
        };
        const r = spawnSync("bash", [script, ...args], {
            encoding: "utf8",
            env: Object.fromEntries(Object.entries(full).filter((e): e is [string, string] => e[1] !== undefined)),
        });
        const lines = fs.existsSync(log)
            ? fs
                  .readFileSync(log, "utf8")
                  .split("\n")
                  .filter((l) => l !== "")
            : [];
        const calls = lines.map((l) => {
            const [backend, cli, ...rest] = l.split("\x1f");
            return { backend, cli, args: rest.slice(0, -1) };
        });
        return { code: r.status ?? -1, stderr: r.stderr, calls };
    }
    const argv = (calls: Call[]) => calls.map((c) => c.args);

    describe("destroy", () => {
        it("gives destroy-only flags to destroy alone, not to the up that records --delete-repository", () => {
            const r = run([
                "destroy",
                "staging",
                "--delete-repository",
                "--yes",
                "--target-dependents",
                "--exclude-protected",
                "--remove",
                "--continue-on-error",
                "-m",
                "tear down",
                "--color=never",
            ]);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(argv(r.calls), [
                ["config", "get", "deleteRepositoryOnDestroy", "--stack", "staging"],
                ["config", "set", "deleteRepositoryOnDestroy", "true", "--stack", "staging"],
                ["up", "--stack", "staging", "--yes", "-m", "tear down", "--color=never"],
                [
                    "destroy",
                    "--stack",
                    "staging",
                    "--yes",
                    "--target-dependents",
                    "--exclude-protected",
                    "--remove",
                    "--continue-on-error",
                    "-m",
                    "tear down",
                    "--color=never",
                ],
            ]);
        });

        it("with no flags at all, records the change and destroys with no stray argument", () => {
            const r = run(["destroy", "staging"], { FAKE_DELETE_REPO: "true" });
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(argv(r.calls), [
                ["config", "get", "deleteRepositoryOnDestroy", "--stack", "staging"],
                ["config", "set", "deleteRepositoryOnDestroy", "false", "--stack", "staging"],
                ["up", "--stack", "staging"],
                ["destroy", "--stack", "staging"],
            ]);
        });

        it("runs no up when the recorded setting already matches", () => {
            const r = run(["destroy", "staging", "--delete-repository", "--yes"], { FAKE_DELETE_REPO: "true" });
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(argv(r.calls), [
                ["config", "get", "deleteRepositoryOnDestroy", "--stack", "staging"],
                ["destroy", "--stack", "staging", "--yes"],
            ]);
        });

        it("refuses a targeted destroy that would need a whole-stack up to record the setting", () => {
            const r = run([
                "destroy",
                "staging",
                "--delete-repository",
                "--target",
                "urn:pulumi:staging::x::y::z",
                "--yes",
            ]);
            assert.strictEqual(r.code, 2);
            assert.match(r.stderr, /cannot change it to true/);
            assert.match(
                r.stderr,
                /npm run pulumi -- config set deleteRepositoryOnDestroy true --stack staging && npm run up -- staging/,
            );
            assert.deepStrictEqual(argv(r.calls), [
                ["config", "get", "deleteRepositoryOnDestroy", "--stack", "staging"],
            ]);
        });

        it("passes a targeted destroy through when the setting does not change", () => {
            const r = run(["destroy", "staging", "--target", "urn:pulumi:staging::x::y::z", "--yes"]);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(argv(r.calls).pop(), [
                "destroy",
                "--stack",
                "staging",
                "--target",
                "urn:pulumi:staging::x::y::z",
                "--yes",
            ]);
        });
    });

    it("refuses a stack name that is a flag, before calling pulumi", () => {
        for (const cmd of ["preview", "up", "destroy", "refresh", "status", "wait"]) {
            const r = run([cmd, "--yes", "staging"]);
            assert.strictEqual(r.code, 2, `${cmd}: ${r.stderr}`);
            assert.match(r.stderr, new RegExp(`the stack name comes first.*npm run ${cmd} -- STACK.*got '--yes'`));
        }
        assert.match(run(["up", "-staging"]).stderr, /got '-staging'/);
        assert.deepStrictEqual(run(["up", "--yes", "staging"]).calls, []);
    });

    const pack = ["--policy-pack", path.join(repoRoot, "policy")];
    // The up itself (a state check, cli/recover/legacy-github.ts, may read the stack first).
    const ups = (calls: Call[]) => argv(calls).filter((a) => a[0] === "up");
    it("up passes the policy pack and every flag but --wait", () => {
        const plain = argv(run(["up", "staging"]).calls);
        assert.deepStrictEqual(plain[0], ["stack", "select", "--create", "--stack", "staging"]);
        fs.rmSync(log);
        assert.deepStrictEqual(ups(run(["up", "staging"]).calls), [["up", "--stack", "staging", ...pack]]);
        fs.rmSync(log);
        assert.deepStrictEqual(ups(run(["up", "staging", "--yes", "--skip-preview"]).calls)[0], [
            "up",
            "--stack",
            "staging",
            ...pack,
            "--yes",
            "--skip-preview",
        ]);
    });

    it("preview passes --diff, the policy pack and the given flags", () => {
        assert.deepStrictEqual(argv(run(["preview", "staging", "--json"]).calls)[1], [
            "preview",
            "--stack",
            "staging",
            "--diff",
            ...pack,
            "--json",
        ]);
    });

    describe("pulumi (npm run pulumi -- ARGS)", () => {
        it("runs any command on the local backend and tells the program to print `npm run pulumi --`", () => {
            const r = run(["pulumi", "config", "set", "githubOwner", "acme", "--stack", "staging"]);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(r.calls, [
                {
                    backend: `file://${path.join(dir, "home", ".pulumi-local")}`,
                    cli: "npm",
                    args: ["config", "set", "githubOwner", "acme", "--stack", "staging"],
                },
            ]);
        });

        it("keeps your own backend, and plain `pulumi` in what the program prints", () => {
            const r = run(["pulumi", "stack", "ls"], {
                PULUMI_BACKEND_URL: "s3://bucket/prefix",
                GITOPS_KYVERNO_CLI: "npm",
            });
            assert.deepStrictEqual(r.calls, [{ backend: "s3://bucket/prefix", cli: "", args: ["stack", "ls"] }]);
        });

        it("says when it leaves your own `pulumi login` aside, and does not change it", () => {
            const creds = path.join(dir, "home", ".pulumi", "credentials.json");
            fs.mkdirSync(path.dirname(creds), { recursive: true });
            const login = JSON.stringify(
                { current: "https://api.pulumi.com", accessTokens: { "https://api.pulumi.com": "pul-x" } },
                null,
                4,
            );
            fs.writeFileSync(creds, login);
            const r = run(["pulumi", "stack", "ls"]);
            assert.match(
                r.stderr,
                /you are logged in to https:\/\/api\.pulumi\.com; this stack uses file:\/\/.*\.pulumi-local \(to use your login: export PULUMI_BACKEND_URL=https:\/\/api\.pulumi\.com\)/,
            );
            assert.strictEqual(r.calls[0].cli, "npm");
            assert.strictEqual(fs.readFileSync(creds, "utf8"), login);
            assert.doesNotMatch(
                run(["pulumi", "stack", "ls"], { PULUMI_BACKEND_URL: "https://api.pulumi.com" }).stderr,
                /logged in/,
            );
        });

        it("refuses the local backend without a passphrase, before calling pulumi", () => {
            const r = run(["pulumi", "stack", "ls"], { PULUMI_CONFIG_PASSPHRASE: undefined });
            assert.strictEqual(r.code, 2);
            assert.match(r.stderr, /set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/);
            assert.deepStrictEqual(r.calls, []);
        });
    });

    it("guards every expansion of an array that may be empty (bash before 4.4 calls it unbound under set -u)", () => {
        const text = fs.readFileSync(script, "utf8");
        const mayBeEmpty = [...text.matchAll(/\b([a-z_]+)=\(\)/g)].map((m) => m[1]);
        assert.ok(mayBeEmpty.includes("args"), "expected the script's flag arrays");
        for (const name of mayBeEmpty) {
            const bare = text
                .split(`\${${name}[@]+"\${${name}[@]}"}`)
                .join("")
                .match(new RegExp(`"\\$\\{${name}\\[@\\]\\}"`, "g"));
            assert.strictEqual(bare, null, `"\${${name}[@]}" unguarded; write \${${name}[@]+"\${${name}[@]}"}`);
        }
    });
});
