// Every command the settings errors print works as printed, for a user who
// followed the README in a fresh shell: no PULUMI_BACKEND_URL, no `pulumi login`,
// a Pulumi CLI on PATH, `npm run preview -- STACK` on the local file backend that
// cli/stack.sh picks. For each stack below (each wrong in its own ways), the
// test runs the preview, runs every command its errors print exactly as printed
// (only <placeholders> filled in, and the token typed at the prompt), and
// repeats until the settings pass. A command that fails, a `pulumi` command that
// would miss the local backend, or a problem its command does not clear, fails it.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startGitSshServer, GitSshServer } from "../../local-cluster/git-server";
import { projectEntries, repoRoot } from "../../harness/pulumi-cli";

/** Keys whose problems print a command; the last test keeps it in step with stacks/settings.ts. */
const keysWithCommands = [
    "environment",
    "branch",
    "githubOwner",
    "repository",
    "repositoryPrivate",
    "github:token",
    "gitProvider",
    "gitUrl",
    "gitKnownHosts",
    "gitWriteKey",
    "deployKeyPrivateKey",
    "kubeconfig",
    "fluxOperatorChartRepo",
    "fluxOperatorChartVersion",
    "kyvernoChartRepo",
    "kyvernoChartVersion",
    "certManagerChartRepo",
    "certManagerChartVersion",
    "fluxVersion",
    "fluxRegistry",
    "fluxVariant",
    "fluxOperatorImageRegistry",
    "kyvernoImageRegistry",
    "certManagerImageRegistry",
    "kyvernoReplicas",
    "deleteRepositoryOnDestroy",
    "adoptExistingRepository",
    "kyvernoRegistrySecrets",
    "certManagerCrdsOnDestroy",
    "kyvernoPolicyApi",
];

const token = "ghp_typed_at_the_prompt_0123456789";

interface Scenario {
    stack: string;
    /** The stack's config file as the user left it (plain values). */
    config: Record<string, string>;
}

const scenarios: Scenario[] = [
    {
        stack: "staging",
        config: {
            environment: "Staging_1",
            repository: "bad repo",
            branch: "feature..x",
            repositoryPrivate: "maybe",
            "github:token": "ghp_left_in_plaintext",
            kubeconfig: "/nonexistent/kubeconfig",
            fluxOperatorChartRepo: "ghcr.io/x",
            fluxOperatorChartVersion: "latest",
            kyvernoChartRepo: "ftp://x",
            kyvernoChartVersion: "3.x",
            certManagerChartRepo: "charts",
            certManagerChartVersion: "v1",
            fluxVersion: "2.x",
            fluxRegistry: "https://mirror.acme.test/fluxcd/",
            fluxVariant: "alpine",
            fluxOperatorImageRegistry: "mirror.acme.test/",
            kyvernoImageRegistry: "mirror.acme.test/kyverno/kyverno:v1",
            certManagerImageRegistry: "https://mirror.acme.test",
            kyvernoReplicas: "0",
            deleteRepositoryOnDestroy: "maybe",
            adoptExistingRepository: "maybe",
            kyvernoRegistrySecrets: "Not_A_Secret",
            certManagerCrdsOnDestroy: "retain",
            kyvernoPolicyApi: "v2",
        },
    },
    // No token anywhere, and a stack without an overlay of its own.
    { stack: "qa", config: { githubOwner: "acme-platform" } },
    // An SSH server with nothing set yet: the URL first, then its host keys by ssh-keyscan.
    { stack: "production", config: { gitProvider: "ssh", deleteRepositoryOnDestroy: "true" } },
    {
        stack: "edge",
        config: {
            environment: "staging",
            gitProvider: "ssh",
            gitUrl: "https://example.com/x.git",
            gitKnownHosts: "[127.0.0.1]:1 ssh-ed25519 AAAA",
            gitWriteKey: "hunter2",
            deployKeyPrivateKey: "hunter3",
        },
    },
    { stack: "svn", config: { environment: "staging", gitProvider: "gitlab", githubOwner: "acme-platform" } },
];

describe("commands the settings errors print", function () {
    this.timeout(900000);
    let tmp: string;
    let project: string;
    let env: NodeJS.ProcessEnv;
    let git: GitSshServer;
    const ran: string[] = [];

    before(async () => {
        const cli = path.join(repoRoot, ".tools", "bin", "pulumi");
        assert.ok(fs.existsSync(cli), `${cli} is missing: run npm run tools`);
        git = await startGitSshServer();
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "printed-commands-"));
        const home = path.join(tmp, "home");
        project = path.join(tmp, "project");
        for (const entry of projectEntries) {
            fs.cpSync(path.join(repoRoot, entry), path.join(project, entry), { recursive: true });
        }
        fs.mkdirSync(path.join(project, "cli"));
        fs.copyFileSync(path.join(repoRoot, "cli", "stack.sh"), path.join(project, "cli", "stack.sh"));
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(project, "node_modules"));
        // The user's shell: a Pulumi CLI on PATH, their own ~/.pulumi (holding the
        // plugins this offline machine cannot download), no login, no backend URL.
        const bin = path.join(tmp, "bin");
        fs.mkdirSync(bin);
        fs.symlinkSync(fs.realpathSync(cli), path.join(bin, "pulumi"));
        // The policy pack's launcher, part of a Pulumi install (scripts/tools builds ours beside the CLI).
        const launcher = path.join(repoRoot, ".tools", "bin", "pulumi-analyzer-policy");
        fs.symlinkSync(fs.realpathSync(launcher), path.join(bin, "pulumi-analyzer-policy"));
        fs.mkdirSync(path.join(home, ".pulumi"), { recursive: true });
        const plugins = path.join(
            process.env.GITOPS_PULUMI_HOME ?? path.join(os.homedir(), ".cache", "gitops-kyverno", "pulumi-home"),
            "plugins",
        );
        fs.symlinkSync(plugins, path.join(home, ".pulumi", "plugins"));
        fs.mkdirSync(path.join(home, ".ssh"), { mode: 0o700 });
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(home, ".ssh", "fleet_push")]);
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(home, ".ssh", "flux_deploy")]);
        const systemPath = (process.env.PATH ?? "")
            .split(path.delimiter)
            .filter((p) => p && !p.startsWith(repoRoot) && !p.includes("node_modules"));
        env = {
            PATH: [bin, ...systemPath].join(path.delimiter),
            HOME: home,
            USER: os.userInfo().username,
            LANG: "C.UTF-8",
            PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(12).toString("hex"),
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            NO_COLOR: "1",
            npm_config_update_notifier: "false",
        };
    });

    after(async () => {
        await git?.stop();
        if (tmp && !process.env.PULUMI_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    });

    function sh(command: string, input = ""): { code: number; out: string } {
        const r = spawnSync("bash", ["-c", command], { cwd: project, env, input, encoding: "utf8", timeout: 300000 });
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    }

    /** What a user types for each placeholder. */
    function fillIn(command: string): string {
        const filled = command
            .replace(/<github-user-or-org>/g, "acme-platform")
            .replace(/<git-host>/g, `127.0.0.1:${git.port}`);
        assert.doesNotMatch(filled, /<[a-z-]+>/, `a placeholder the test does not know: ${command}`);
        return filled;
    }

    for (const scenario of scenarios) {
        it(`clear every problem of stack ${scenario.stack} by running the printed commands`, () => {
            const lines = Object.entries(scenario.config).map(
                ([k, v]) => `  ${k.includes(":") ? k : `gitops-kyverno:${k}`}: ${JSON.stringify(v)}`,
            );
            fs.writeFileSync(path.join(project, `Pulumi.${scenario.stack}.yaml`), `config:\n${lines.join("\n")}\n`);
            for (let round = 1; ; round++) {
                const preview = sh(`npm run preview -- ${scenario.stack}`);
                if (!preview.out.includes("The stack's settings have")) break;
                assert.ok(
                    round <= 3,
                    `the printed commands did not clear the problems after ${round - 1} round(s):\n${preview.out}`,
                );
                assert.notStrictEqual(preview.code, 0);
                // Nothing tells the user to run a plain `pulumi`: it would miss the local backend.
                assert.doesNotMatch(preview.out, /(^|[^-\w])pulumi config /m, preview.out);
                const problemLines = preview.out
                    .split("\n")
                    .filter((l) => /^\s*- (gitops-kyverno:|github:|no GitHub token)/.test(l));
                assert.ok(problemLines.length > 0, preview.out);
                const commands = new Set<string>();
                for (const line of problemLines) {
                    const m = / (npm run pulumi -- .*)$/.exec(line);
                    if (m) commands.add(m[1].trim());
                    else assert.match(line, /gitKnownHosts .*set gitUrl first/, `a problem without a command: ${line}`);
                }
                for (const command of commands) {
                    const r = sh(fillIn(command), token);
                    assert.strictEqual(r.code, 0, `printed command failed: ${command}\n${r.out}`);
                    ran.push(command);
                    if (process.env.PRINTED_COMMANDS_LOG) console.log(`      $ ${command}`);
                }
            }
            // The secrets went in encrypted, from the prompt or the key file.
            const stackFile = fs.readFileSync(path.join(project, `Pulumi.${scenario.stack}.yaml`), "utf8");
            for (const secret of ["github:token", "gitops-kyverno:gitWriteKey", "gitops-kyverno:deployKeyPrivateKey"]) {
                if (stackFile.includes(`${secret}:`))
                    assert.match(stackFile, new RegExp(`${secret}:\\s*\\n\\s*secure: `), stackFile);
            }
            assert.ok(!stackFile.includes(token) && !stackFile.includes("PRIVATE KEY"), "a secret is in plaintext");
        });
    }

    it("ran a command for every key that has one, and read the token and the key as secrets", () => {
        const source = fs.readFileSync(path.join(repoRoot, "stacks", "settings.ts"), "utf8");
        const named = [
            ...source.matchAll(
                /\b(?:problem|problemWith|registryProblem|fix|fixSecret|qualified|bool)\(\s*"([\w:]+)"/g,
            ),
        ].map((m) => m[1]);
        const charts = ["fluxOperator", "kyverno", "certManager"].flatMap((c) => [
            `${c}ChartRepo`,
            `${c}ChartVersion`,
            `${c}ImageRegistry`,
        ]);
        assert.deepStrictEqual(
            [...new Set([...named, ...charts])].sort(),
            [...keysWithCommands].sort(),
            "stacks/settings.ts and this test name different keys",
        );
        for (const key of keysWithCommands) {
            assert.ok(
                ran.some(
                    (c) =>
                        c.startsWith(`npm run pulumi -- config set ${key} `) ||
                        c.startsWith(`npm run pulumi -- config rm ${key} `),
                ),
                `no command was run for ${key}`,
            );
        }
        assert.ok(ran.includes("npm run pulumi -- config set github:token --secret --stack qa"), ran.join("\n"));
        assert.ok(
            ran.some((c) => c.endsWith("--stack production < ~/.ssh/fleet_push")),
            ran.join("\n"),
        );
        assert.ok(
            ran.some((c) => c.includes(`"$(ssh-keyscan -p ${git.port} 127.0.0.1)"`)),
            ran.join("\n"),
        );
    });
});
