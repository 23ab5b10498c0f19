// Every way a stack's settings can be wrong stops the program with a message that
// names the key and the command that fixes it.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigSource, loadSettings, SettingsError } from "../../stacks/settings";
import { installMocks, Registered, runProgram, sshGitConfig } from "../../harness/mocks";

function source(
    values: Record<string, string>,
    secrets: string[] = [],
    env: Record<string, string> = {},
): ConfigSource {
    return {
        get: (k) => values[k] || undefined,
        isSecret: (k) => secrets.includes(k),
        env: (n) => env[n],
    };
}

const github = { githubOwner: "acme-platform" };
const token = { GITHUB_TOKEN: "ghp_test_token" };
const ssh = sshGitConfig();

function problems(
    stack: string,
    values: Record<string, string>,
    secrets: string[] = [],
    env: Record<string, string> = token,
): string[] {
    try {
        loadSettings(stack, source(values, secrets, env));
    } catch (err) {
        assert.ok(err instanceof SettingsError, `expected a SettingsError, got ${err}`);
        return err.problems;
    }
    return [];
}

function assertOneProblem(found: string[], key: string, fix: RegExp) {
    assert.strictEqual(found.length, 1, `expected one problem, got:\n${found.join("\n")}`);
    assert.ok(found[0].includes(key), `the message does not name ${key}: ${found[0]}`);
    assert.match(found[0], fix);
}

describe("stack settings", () => {
    it("accept a GitHub stack with only an owner and a token, filling pinned defaults", () => {
        const s = loadSettings("staging", source(github, [], token));
        assert.strictEqual(s.environment, "staging");
        assert.strictEqual(s.git.provider, "github");
        assert.strictEqual(s.git.branch, "main");
        assert.strictEqual(s.kyvernoReplicas, 1);
        assert.strictEqual(s.charts.kyverno.version, "3.9.1");
        assert.strictEqual(s.deleteRepositoryOnDestroy, false);
        assert.strictEqual(s.adoptExistingRepository, false);
        assert.strictEqual(loadSettings("production", source(github, [], token)).kyvernoReplicas, 3);
    });

    it("reject a missing owner", () => {
        assertOneProblem(
            problems("staging", {}),
            "gitops-kyverno:githubOwner",
            /pulumi config set githubOwner <github-user-or-org> --stack staging/,
        );
    });

    it("reject an empty or malformed owner", () => {
        assertOneProblem(problems("staging", { githubOwner: "-bad-" }), "githubOwner", /not a valid GitHub user/);
    });

    it("reject a missing token, naming both ways to give one", () => {
        // No value on the command line: the CLI asks for it, so no log or history holds the token.
        assertOneProblem(
            problems("staging", github, [], {}),
            "GITHUB_TOKEN",
            /export GITHUB_TOKEN=<token>, or .*: pulumi config set github:token --secret --stack staging$/,
        );
    });

    it("reject a token kept in plaintext config", () => {
        assertOneProblem(problems("staging", { ...github, "github:token": "ghp_x" }), "github:token", /--secret/);
    });

    it("accept a token kept as a secret", () => {
        assert.deepStrictEqual(problems("staging", { ...github, "github:token": "ghp_x" }, ["github:token"], {}), []);
    });

    it("reject an environment without an overlay", () => {
        assertOneProblem(problems("qa", github), "environment", /create fleet\/apps\/qa\/kustomization\.yaml/);
    });

    it("reject an invalid environment name", () => {
        assertOneProblem(
            problems("staging", { ...github, environment: "Staging_1" }),
            "environment",
            /not a valid environment name/,
        );
    });

    it("reject an invalid repository name and branch", () => {
        const found = problems("staging", { ...github, repository: "bad repo", branch: "feature..x" });
        assert.strictEqual(found.length, 2, found.join("\n"));
        assert.ok(found.some((p) => p.includes("gitops-kyverno:repository")));
        assert.ok(found.some((p) => p.includes("gitops-kyverno:branch")));
    });

    it("reject an unknown Git provider", () => {
        assertOneProblem(problems("staging", { gitProvider: "gitlab" }), "gitProvider", /not one of github, ssh/);
    });

    it("reject unpinned or malformed chart settings", () => {
        const found = problems("staging", {
            ...github,
            kyvernoChartVersion: "3.x",
            fluxOperatorChartRepo: "ghcr.io/x",
            certManagerChartVersion: "latest",
        });
        assert.strictEqual(found.length, 3, found.join("\n"));
        assert.ok(found.some((p) => p.includes("kyvernoChartVersion") && p.includes("--stack staging")));
        assert.ok(found.some((p) => p.includes("fluxOperatorChartRepo")));
        assert.ok(found.some((p) => p.includes("certManagerChartVersion")));
    });

    it("reject a bad replica count and Flux version", () => {
        const found = problems("staging", { ...github, kyvernoReplicas: "0", fluxVersion: "2.x" });
        assert.strictEqual(found.length, 2, found.join("\n"));
    });

    it("reject 2 Kyverno replicas, naming 1 and 3 or more as the choices", () => {
        // Kyverno's HA minimum for the admission controller is three; two only looks highly available.
        assertOneProblem(
            problems("production", { ...github, kyvernoReplicas: "2" }),
            "gitops-kyverno:kyvernoReplicas",
            /use 1 without HA, or 3 or more for HA/,
        );
        assert.strictEqual(
            loadSettings("production", source({ ...github, kyvernoReplicas: "3" }, [], token)).kyvernoReplicas,
            3,
        );
        assert.strictEqual(
            loadSettings("staging", source({ ...github, kyvernoReplicas: "1" }, [], token)).kyvernoReplicas,
            1,
        );
    });

    it("read Kyverno's registry Secrets as a comma-separated list of Secret names, none by default", () => {
        assert.deepStrictEqual(loadSettings("staging", source(github, [], token)).kyvernoRegistrySecrets, []);
        const s = loadSettings(
            "staging",
            source({ ...github, kyvernoRegistrySecrets: "ghcr-pull, harbor.pull" }, [], token),
        );
        assert.deepStrictEqual(s.kyvernoRegistrySecrets, ["ghcr-pull", "harbor.pull"]);
        assertOneProblem(
            problems("staging", { ...github, kyvernoRegistrySecrets: "ok,Bad_Name" }),
            "kyvernoRegistrySecrets",
            /"Bad_Name", which is not a Secret name/,
        );
    });

    it("reject a kubeconfig path that does not exist", () => {
        assertOneProblem(
            problems("staging", { ...github, kubeconfig: "/nonexistent/kubeconfig" }),
            "kubeconfig",
            /does not exist/,
        );
    });

    it("expand ~ in the kubeconfig path", () => {
        const dir = fs.mkdtempSync(path.join(os.homedir(), ".gk-test-"));
        try {
            fs.writeFileSync(path.join(dir, "config"), "");
            const s = loadSettings(
                "staging",
                source({ ...github, kubeconfig: `~/${path.basename(dir)}/config` }, [], token),
            );
            assert.strictEqual(s.kubeconfig, path.join(dir, "config"));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("accept an SSH Git server with URL, host key and a secret write key", () => {
        const s = loadSettings("staging", source(ssh, ["gitWriteKey"], {}));
        assert.strictEqual(s.git.provider, "ssh");
    });

    it("reject an SSH Git server's missing settings, one message each", () => {
        const found = problems("staging", { gitProvider: "ssh" }, [], {});
        assert.strictEqual(found.length, 3, found.join("\n"));
        for (const key of ["gitUrl", "gitKnownHosts", "gitWriteKey"])
            assert.ok(
                found.some((p) => p.includes(`gitops-kyverno:${key}`)),
                key,
            );
    });

    it("reject a write key in plaintext, a non-key, and a non-ssh URL", () => {
        const found = problems(
            "staging",
            { ...ssh, gitUrl: "https://example.com/x.git", gitWriteKey: "hunter2" },
            [],
            {},
        );
        assert.strictEqual(found.length, 3, found.join("\n"));
        assert.ok(found.some((p) => p.includes("gitUrl")));
        assert.ok(found.filter((p) => p.includes("gitWriteKey")).length === 2);
        assert.ok(
            found.every((p) => !p.includes("hunter2")),
            "a message repeats the secret",
        );
    });

    it("accept adoptExistingRepository on GitHub; reject it on an SSH server and as a non-boolean", () => {
        assert.strictEqual(
            loadSettings("staging", source({ ...github, adoptExistingRepository: "true" }, [], token))
                .adoptExistingRepository,
            true,
        );
        assertOneProblem(
            problems("staging", { ...ssh, adoptExistingRepository: "true" }, ["gitWriteKey"], {}),
            "adoptExistingRepository",
            /only applies to GitHub/,
        );
        assertOneProblem(
            problems("staging", { ...github, adoptExistingRepository: "yes" }),
            "adoptExistingRepository",
            /true or false.*pulumi config set adoptExistingRepository false --stack staging/,
        );
    });

    it("give the write key's fix as a file read on stdin, never the key on a command line", () => {
        const found = problems("staging", { gitProvider: "ssh" }, [], {});
        const key = found.find((p) => p.includes("gitWriteKey"));
        assert.match(key ?? "", /Fix: pulumi config set gitWriteKey --secret --stack staging < ~\/\.ssh\/fleet_push$/);
    });

    it("give ssh-keyscan for the configured server, and no guessed host without one", () => {
        const scan = (url: string) =>
            problems("staging", { gitProvider: "ssh", gitUrl: url }, [], {}).find((p) => p.includes("gitKnownHosts")) ??
            "";
        assert.match(
            scan("ssh://git@127.0.0.1:2222/srv/fleet.git"),
            /Fix: pulumi config set gitKnownHosts "\$\(ssh-keyscan -p 2222 127\.0\.0\.1\)" --stack staging$/,
        );
        assert.match(
            scan("ssh://git@git.acme.test/fleet.git"),
            /Fix: pulumi config set gitKnownHosts "\$\(ssh-keyscan git\.acme\.test\)" --stack staging$/,
        );
        const without =
            problems("staging", { gitProvider: "ssh" }, [], {}).find((p) => p.includes("gitKnownHosts")) ?? "";
        assert.match(without, /set gitUrl first/);
        assert.doesNotMatch(without, /config set gitKnownHosts/);
    });

    it("fix a kubeconfig that does not exist by falling back to $KUBECONFIG", () => {
        assertOneProblem(
            problems("staging", { ...github, kubeconfig: "/nonexistent/kubeconfig" }),
            "kubeconfig",
            /Fix: pulumi config rm kubeconfig --stack staging$/,
        );
    });

    it("print `npm run pulumi --` commands when cli/stack.sh chose the backend, plain `pulumi` otherwise", () => {
        // One problem of each shape: a value, a rm, ssh-keyscan, a key file, the overlay's, the token's.
        const each = (cli: Record<string, string>) => [
            ...problems("staging", { ...github, kyvernoReplicas: "0", kubeconfig: "/nonexistent" }, [], {
                ...token,
                ...cli,
            }),
            ...problems("staging", { gitProvider: "ssh", gitUrl: "ssh://git@h/x.git" }, [], cli),
            ...problems("qa", github, [], { ...token, ...cli }),
            ...problems("staging", github, [], cli),
        ];
        const viaNpm = each({ GITOPS_KYVERNO_CLI: "npm" });
        assert.strictEqual(viaNpm.length, 6, viaNpm.join("\n"));
        for (const p of viaNpm)
            assert.match(p, /: npm run pulumi -- config (set|rm) [^\n]+ --stack (staging|qa)( < \S+)?$/, p);
        for (const p of each({})) assert.match(p, /: pulumi config (set|rm) [^\n]+ --stack (staging|qa)( < \S+)?$/, p);
        // Anything else in that variable is not taken as a command prefix.
        for (const p of each({ GITOPS_KYVERNO_CLI: "rm -rf /;" })) assert.match(p, /: pulumi config (set|rm) /, p);
    });

    it("reject deleteRepositoryOnDestroy on an SSH server and non-boolean values", () => {
        assertOneProblem(
            problems("staging", { ...ssh, deleteRepositoryOnDestroy: "true" }, ["gitWriteKey"], {}),
            "deleteRepositoryOnDestroy",
            /only applies to GitHub/,
        );
        assertOneProblem(
            problems("staging", { ...github, deleteRepositoryOnDestroy: "yes" }),
            "deleteRepositoryOnDestroy",
            /true or false/,
        );
    });
});

describe("the program with bad settings", () => {
    it("registers no resource and fails with every problem", async () => {
        const registered: Registered[] = installMocks("staging", { githubOwner: "", kyvernoReplicas: "many" });
        const saved = process.env.GITHUB_TOKEN;
        delete process.env.GITHUB_TOKEN;
        try {
            await assert.rejects(runProgram(), (err: Error) => {
                assert.match(err.message, /githubOwner is missing/);
                assert.match(err.message, /kyvernoReplicas/);
                assert.match(err.message, /no GitHub token/);
                return true;
            });
        } finally {
            if (saved !== undefined) process.env.GITHUB_TOKEN = saved;
        }
        assert.deepStrictEqual(registered, []);
    });
});
