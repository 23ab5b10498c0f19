// A stack that targets its own Git server over SSH instead of GitHub.
import * as assert from "assert";
import {
    byType,
    fleetCommitOfMocks,
    dynamicType,
    installMocks,
    one,
    Registered,
    runProgram,
    sshGitConfig,
} from "../../harness/mocks";

const config = sshGitConfig({
    branch: "fleet",
    kyvernoChartRepo: "http://127.0.0.1:8879",
    fluxOperatorChartRepo: "http://127.0.0.1:8879",
    certManagerChartRepo: "http://127.0.0.1:8879",
});

describe("a stack on an SSH Git server", () => {
    let registered: Registered[];
    let outputs: Record<string, unknown>;
    before(async () => {
        registered = installMocks("staging", config, ["gitWriteKey"]);
        outputs = await runProgram();
    });

    it("registers nothing on GitHub", () => {
        assert.deepStrictEqual(
            registered
                .filter(
                    (r) =>
                        r.type.startsWith("github:") ||
                        r.type === "pulumi:providers:github" ||
                        r.type.startsWith(dynamicType("GitHub")),
                )
                .map((r) => r.type),
            [],
        );
    });

    it("points Flux at the server with its host key and the configured branch", () => {
        const source = one(registered, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository");
        assert.strictEqual(source.inputs.spec.url, config.gitUrl);
        assert.deepStrictEqual(source.inputs.spec.ref, { branch: "fleet", commit: fleetCommitOfMocks });
        assert.strictEqual(
            one(registered, "kubernetes:core/v1:Secret").inputs.stringData.known_hosts,
            config.gitKnownHosts,
        );
    });

    it("pushes over SSH with the server's host key, reading the write key at each push instead of storing it", () => {
        const files = one(registered, dynamicType("FleetFiles"));
        assert.strictEqual(files.inputs.url, config.gitUrl);
        assert.deepStrictEqual(files.inputs.access, { kind: "ssh", knownHosts: config.gitKnownHosts });
        assert.ok(
            !JSON.stringify(files.inputs).includes("write-key-material"),
            "the write key is an input of FleetFiles",
        );
    });

    it("installs every chart from the mirror's repository", () => {
        for (const r of byType(registered, "kubernetes:helm.sh/v3:Release")) {
            assert.deepStrictEqual(r.inputs.repositoryOpts, { repo: "http://127.0.0.1:8879" }, r.name);
            assert.doesNotMatch(r.inputs.chart, /:\/\//);
        }
        const cm = one(registered, "kubernetes-cert-manager:index:CertManager");
        assert.deepStrictEqual(cm.inputs.helmOptions.repositoryOpts, { repo: "http://127.0.0.1:8879" });
    });

    it("exports the deploy key's public half for the operator to register read-only", () => {
        assert.match(String(outputs.deployKeyPublic), /^ssh-ed25519 /);
        assert.strictEqual(outputs.repositoryCloneUrl, config.gitUrl);
    });
});
