// The whole program under Pulumi's mocks, for both stacks.
import * as assert from "assert";
import {
    byType,
    fleetCommitOfMocks,
    dynamicType,
    githubConfig,
    installMocks,
    one,
    Registered,
    runProgram,
} from "../../harness/mocks";

const release = "kubernetes:helm.sh/v3:Release";

async function preview(
    stack: string,
    config = githubConfig(),
): Promise<{ registered: Registered[]; outputs: Record<string, unknown> }> {
    const registered = installMocks(stack, config, ["github:token"]);
    const outputs = await runProgram();
    return { registered, outputs };
}

for (const stack of ["staging", "production"]) {
    describe(`the ${stack} stack`, () => {
        let registered: Registered[];
        let outputs: Record<string, unknown>;
        before(async () => ({ registered, outputs } = await preview(stack)));

        it("installs Kyverno, cert-manager and the Flux Operator from pinned charts in their own namespaces", () => {
            const charts = byType(registered, release).map(
                (r) => `${r.inputs.chart}@${r.inputs.version} -> ${r.inputs.namespace}`,
            );
            assert.ok(charts.includes("kyverno@3.9.1 -> kyverno"), charts.join("; "));
            assert.ok(
                charts.includes("oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator@0.59.0 -> flux-system"),
                charts.join("; "),
            );
            const certManager = one(registered, "kubernetes-cert-manager:index:CertManager");
            // crds.enabled is the chart's key (installCRDs is deprecated); keep: false removes them with the release.
            assert.deepStrictEqual(certManager.inputs.helmOptions.values, { crds: { enabled: true, keep: false } });
            assert.strictEqual(certManager.inputs.installCRDs, undefined);
            assert.strictEqual(certManager.inputs.helmOptions.version, "v1.21.2");
            assert.strictEqual(certManager.inputs.helmOptions.namespace, "cert-manager");
        });

        it("hands the cert-manager component this stack's cluster by name, not through the engine's inheritance", () => {
            const cluster = one(registered, "pulumi:providers:kubernetes");
            const ref = new RegExp(`[:$]pulumi:providers:kubernetes::${cluster.name}::${cluster.name}-id$`);
            const certManager = one(registered, "kubernetes-cert-manager:index:CertManager");
            assert.match(certManager.providers.kubernetes ?? "(no kubernetes provider)", ref);
            const ns = byType(registered, "kubernetes:core/v1:Namespace").find(
                (n) => n.inputs.metadata.name === "cert-manager",
            );
            assert.match(ns?.provider ?? "(no provider)", ref);
        });

        it("labels Kyverno's namespace as the SRE tenant and sizes its admission controller for the environment", () => {
            const ns = byType(registered, "kubernetes:core/v1:Namespace").find(
                (n) => n.inputs.metadata.name === "kyverno",
            );
            assert.deepStrictEqual(ns?.inputs.metadata.labels, {
                "toolkit.fluxcd.io/tenant": "sre-team",
                "gitops-kyverno.io/stack": `gitops-kyverno.${stack}`,
            });
            const kyverno = byType(registered, release).find((r) => r.inputs.chart === "kyverno")!;
            assert.strictEqual(kyverno.inputs.values.admissionController.replicas, stack === "production" ? 3 : 1);
            // Leader-elected controllers: one replica, or a standby beside it when the admission controller is HA.
            const standby = stack === "production" ? 2 : 1;
            for (const c of ["backgroundController", "cleanupController", "reportsController"])
                assert.strictEqual(kyverno.inputs.values[c].replicas, standby, c);
            assert.strictEqual(kyverno.inputs.values.existingImagePullSecrets, undefined);
        });

        it("sends Kyverno's webhooks only the dev-team tenant's namespaces, never Flux's, cert-manager's or kube-system", () => {
            const kyverno = byType(registered, release).find((r) => r.inputs.chart === "kyverno")!;
            assert.deepStrictEqual(kyverno.inputs.values.config?.webhooks, {
                namespaceSelector: {
                    matchExpressions: [{ key: "toolkit.fluxcd.io/tenant", operator: "In", values: ["dev-team"] }],
                },
            });
            // The namespaces the program creates are the SRE tenant's: outside that selector.
            for (const name of ["kyverno", "flux-system", "cert-manager"]) {
                const ns = byType(registered, "kubernetes:core/v1:Namespace").find(
                    (n) => n.inputs.metadata.name === name,
                );
                assert.strictEqual(ns?.inputs.metadata.labels?.["toolkit.fluxcd.io/tenant"], "sre-team", name);
            }
        });

        it("gives Kyverno's admission controller the registry Secrets the stack names, for its digest lookups", async () => {
            const { registered: withSecrets } = await preview(
                stack,
                githubConfig({ kyvernoRegistrySecrets: "ghcr-pull,harbor-pull" }),
            );
            const kyverno = byType(withSecrets, release).find((r) => r.inputs.chart === "kyverno")!;
            assert.deepStrictEqual(kyverno.inputs.values.existingImagePullSecrets, ["ghcr-pull", "harbor-pull"]);
        });

        it("syncs clusters/<env> from the fleet repository over SSH with the deploy key secret", () => {
            const instance = one(registered, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
            assert.strictEqual(
                instance.inputs.spec.sync,
                undefined,
                "the FluxInstance must not own the sync: its deletion strips Flux's finalizers before pruning",
            );
            const source = one(registered, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository");
            // A `flux reconcile source git` between two ups must not make the next one fail on a field conflict.
            assert.strictEqual(source.inputs.metadata.annotations["pulumi.com/patchForce"], "true");
            assert.deepStrictEqual(source.inputs.spec, {
                url: "ssh://git@github.com/acme-platform/fleet-infra.git",
                // Pinned to the commit this stack's up recorded (the mocked push), not the branch head.
                ref: { branch: "main", commit: fleetCommitOfMocks },
                secretRef: { name: "flux-system" },
                interval: "1m",
            });
            const sync = one(registered, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization");
            assert.strictEqual(sync.inputs.metadata.name, "flux-system");
            assert.strictEqual(sync.inputs.spec.path, `./clusters/${stack}`);
            assert.strictEqual(sync.inputs.spec.prune, true);
            assert.strictEqual(sync.inputs.spec.deletionPolicy, "WaitForTermination");
            assert.strictEqual(instance.inputs.spec.distribution.version, "2.9.5");
            const patches = instance.inputs.spec.kustomize.patches as { target: { name: string }; patch: string }[];
            const requeue = patches.find((p) => p.target.name === "kustomize-controller");
            assert.match(
                requeue?.patch ?? "",
                /--requeue-dependency=5s/,
                "a Kustomization waiting on another would wait Flux's default 30 s",
            );
            const secret = one(registered, "kubernetes:core/v1:Secret");
            assert.strictEqual(secret.inputs.metadata.name, "flux-system");
            assert.strictEqual(secret.inputs.metadata.namespace, "flux-system");
            assert.deepStrictEqual(Object.keys(secret.inputs.stringData).sort(), [
                "identity",
                "identity.pub",
                "known_hosts",
            ]);
            assert.match(secret.inputs.stringData.known_hosts, /^github\.com ssh-ed25519 /m);
        });

        it("registers a read-only ED25519 deploy key for this environment on the shared repository", () => {
            const key = one(registered, "tls:index/privateKey:PrivateKey");
            assert.strictEqual(key.inputs.algorithm, "ED25519");
            const deployKey = one(registered, dynamicType("GitHubDeployKey"));
            assert.strictEqual(deployKey.inputs.readOnly, true);
            assert.strictEqual(deployKey.inputs.owner, "acme-platform");
            assert.strictEqual(deployKey.inputs.repository, "fleet-infra");
            assert.strictEqual(deployKey.inputs.title, `flux-${stack}`);
            assert.strictEqual(deployKey.inputs.key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockPublicKey");
            assert.strictEqual(deployKey.inputs.apiUrl, "https://api.github.com");
        });

        it("declares the shared repository private, kept on destroy unless opted in", () => {
            const repo = one(registered, dynamicType("GitHubRepository"));
            assert.strictEqual(repo.inputs.owner, "acme-platform");
            assert.strictEqual(repo.inputs.name, "fleet-infra");
            assert.strictEqual(repo.inputs.private, true);
            assert.strictEqual(repo.inputs.deleteOnDestroy, false);
            // Only a repository the program created is adopted, unless the stack says otherwise.
            assert.strictEqual(repo.inputs.adoptExisting, false);
            assert.strictEqual(repo.inputs.environment, stack);
            assert.strictEqual(repo.inputs.branch, "main");
            assert.ok(!("token" in repo.inputs), "the token is an input of the repository");
        });

        it("commits the shared tree and only this environment's own paths", () => {
            const fleet = one(registered, dynamicType("FleetFiles"));
            const other = stack === "staging" ? "production" : "staging";
            const paths = Object.keys(fleet.inputs.files);
            assert.ok(
                paths.includes(`clusters/${stack}/apps.yaml`) &&
                    paths.includes(`clusters/${stack}/infrastructure.yaml`),
                paths.join(", "),
            );
            assert.ok(paths.includes(`apps/${stack}/kustomization.yaml`));
            assert.ok(paths.includes("apps/base/podinfo/deployment.yaml"));
            assert.ok(paths.some((p) => p.startsWith("infrastructure/configs/policies/")));
            assert.deepStrictEqual(
                paths.filter((p) => p.includes(other)),
                [],
            );
            assert.deepStrictEqual(fleet.inputs.ownedPrefixes, [`apps/${stack}/`, `clusters/${stack}/`]);
            assert.strictEqual(fleet.inputs.branch, "main");
            assert.strictEqual(fleet.inputs.url, "https://github.com/acme-platform/fleet-infra.git");
        });

        it("exports the repository URLs, fingerprint, commit and UI command", () => {
            assert.strictEqual(outputs.environment, stack);
            assert.strictEqual(outputs.repositoryUrl, "https://github.com/acme-platform/fleet-infra");
            assert.strictEqual(outputs.repositoryCloneUrl, "ssh://git@github.com/acme-platform/fleet-infra.git");
            assert.strictEqual(outputs.deployKeyFingerprint, "SHA256:mockfingerprint");
            assert.strictEqual(outputs.fleetCommit, "0123456789abcdef0123456789abcdef01234567");
            assert.strictEqual(
                outputs.fluxUiCommand,
                "kubectl -n flux-system port-forward svc/flux-operator 9080:9080",
            );
        });
    });
}

describe("a stack that allows adopting a repository the program did not create", () => {
    it("passes adoptExistingRepository to the repository", async () => {
        const { registered } = await preview("staging", githubConfig({ adoptExistingRepository: "true" }));
        assert.strictEqual(one(registered, dynamicType("GitHubRepository")).inputs.adoptExisting, true);
    });
});
