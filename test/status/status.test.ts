// `status` against a real API server (etcd + kube-apiserver started here):
// Flux and Kyverno CRDs and objects written by the test, statuses set through
// the status subresource, and a podinfo Deployment.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeCluster, startKubeCluster } from "../../local-cluster/control-plane";
import {
    apply,
    clusterPolicy,
    crdManifest,
    crds,
    generation,
    gitRepository,
    kubectl,
    kustomization,
    kyvernoDeployment,
    podinfoDeployment,
    ready,
    restricted,
    revision,
    setStatus,
} from "./fixtures";

const root = path.resolve(__dirname, "..", "..");
// The project's Node (what `npm run status` uses); absolute paths so any cwd works.
const projectNode = path.join(root, "node_modules", ".bin", "node");
const node = fs.existsSync(projectNode) ? projectNode : process.execPath;
const tsNode = require.resolve("ts-node/register/transpile-only");

function status(
    args: string[],
    cwd = root,
    extraEnv: NodeJS.ProcessEnv = {},
): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(node, ["-r", tsNode, path.join(root, "cli", "status.ts"), ...args], {
        cwd,
        encoding: "utf8",
        timeout: 120_000,
        // KUBECONFIG unusable: only the target chosen by flags or settings may be read.
        env: {
            ...process.env,
            KUBECONFIG: "/nonexistent",
            TS_NODE_PROJECT: path.join(root, "tsconfig.json"),
            GITOPS_KYVERNO_CLI: "",
            ...extraEnv,
        },
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("status (real API server)", function () {
    this.timeout(300_000);
    let cluster: KubeCluster;
    let kc: string;
    let flags: string[];

    const healthy = (): void => {
        apply(kc, [podinfoDeployment, kyvernoDeployment]);
        setStatus(kc, "deployments.apps", kyvernoDeployment.metadata.name, "kyverno", {
            replicas: 1,
            readyReplicas: 1,
            availableReplicas: 1,
        });
        const gitRepo = "gitrepositories.source.toolkit.fluxcd.io";
        setStatus(kc, gitRepo, "flux-system", "flux-system", {
            observedGeneration: generation(kc, gitRepo, "flux-system", "flux-system"),
            conditions: [ready("True", `stored artifact for revision '${revision}'`, "Succeeded")],
            artifact: { revision },
        });
        const ks = "kustomizations.kustomize.toolkit.fluxcd.io";
        for (const k of ["flux-system", "infrastructure", "apps"]) {
            setStatus(kc, ks, k, "flux-system", {
                observedGeneration: generation(kc, ks, k, "flux-system"),
                conditions: [ready("True", `Applied revision: ${revision}`)],
                lastAppliedRevision: revision,
            });
        }
        for (const p of ["add-restricted-security-context", "resolve-image-digest"]) {
            setStatus(kc, "clusterpolicies.kyverno.io", p, undefined, {
                conditions: [ready("True", "Ready", "Succeeded")],
            });
        }
    };

    before(async () => {
        cluster = await startKubeCluster({ name: "status-test" });
        kc = cluster.kubeconfig;
        flags = ["staging", `--kubeconfig=${kc}`, `--context=${cluster.context}`];
        apply(kc, crds.map(crdManifest));
        kubectl(kc, [
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            ...crds.map((c) => `crd/${c.plural}.${c.group}`),
        ]);
        apply(kc, [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } },
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "podinfo" } },
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "kyverno" } },
            gitRepository,
            kustomization("flux-system", "./clusters/staging"),
            kustomization("infrastructure", "./infrastructure/configs"),
            kustomization("apps", "./apps/staging"),
            clusterPolicy("add-restricted-security-context"),
            clusterPolicy("resolve-image-digest"),
        ]);
    });

    after(async () => {
        if (cluster) await cluster.stop();
    });

    it("exits 0 and prints each object's readiness and revision for a healthy environment", () => {
        healthy();
        const r = status(flags);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /environment staging/);
        assert.match(
            r.stdout,
            new RegExp(`ok +GitRepository flux-system/flux-system +Ready=True, revision ${revision}`),
        );
        for (const k of ["apps", "flux-system", "infrastructure"]) {
            assert.match(r.stdout, new RegExp(`ok +Kustomization flux-system/${k} +Ready=True, revision ${revision}`));
        }
        assert.match(r.stdout, /ok +ClusterPolicy add-restricted-security-context +Ready=True/);
        assert.match(r.stdout, /ok +ClusterPolicy resolve-image-digest +Ready=True/);
        assert.match(r.stdout, /ok +Deployment kyverno\/kyverno-admission-controller +1 of 1 replicas available/);
        assert.match(r.stdout, /ok +Deployment podinfo\/podinfo securityContext +restricted on every container/);
        assert.match(
            r.stdout,
            /ok +Deployment podinfo\/podinfo images +ghcr\.io\/stefanprodan\/podinfo:6\.7\.1@sha256:/,
        );
        assert.match(r.stdout, /all ready/);
    });

    it("exits non-zero naming a Kustomization that is not Ready and an image given by tag", () => {
        healthy();
        setStatus(kc, "kustomizations.kustomize.toolkit.fluxcd.io", "apps", "flux-system", {
            conditions: [
                ready("False", "kustomize build failed: accumulating resources: missing podinfo/release.yaml"),
            ],
        });
        kubectl(kc, [
            "-n",
            "podinfo",
            "set",
            "image",
            "deployment/podinfo",
            "podinfod=ghcr.io/stefanprodan/podinfo:6.7.1",
        ]);
        const r = status(flags);
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /not ready \(2\)/);
        assert.match(
            r.stderr,
            /Kustomization flux-system\/apps: Ready=False ReconciliationFailed: kustomize build failed: accumulating resources/,
        );
        assert.match(
            r.stderr,
            /Deployment podinfo\/podinfo images: container podinfod image ghcr\.io\/stefanprodan\/podinfo:6\.7\.1 is not pinned by digest/,
        );
        // What is healthy is not named as a failure.
        assert.doesNotMatch(r.stderr, /GitRepository|infrastructure|ClusterPolicy|securityContext/);
    });

    it("names a ClusterPolicy that is not ready and a container without the restricted securityContext", () => {
        healthy();
        setStatus(kc, "clusterpolicies.kyverno.io", "resolve-image-digest", undefined, {
            conditions: [ready("False", "policy is not ready: webhook not configured", "Failed")],
        });
        const weak = { ...restricted, readOnlyRootFilesystem: false, capabilities: {} };
        kubectl(kc, [
            "-n",
            "podinfo",
            "patch",
            "deployment/podinfo",
            "--type=json",
            "-p",
            JSON.stringify([{ op: "replace", path: "/spec/template/spec/containers/0/securityContext", value: weak }]),
        ]);
        const r = status(flags);
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stderr,
            /ClusterPolicy resolve-image-digest: Ready=False: policy is not ready: webhook not configured/,
        );
        assert.match(
            r.stderr,
            /Deployment podinfo\/podinfo securityContext: container podinfod lacks readOnlyRootFilesystem: true, capabilities\.drop: \[ALL\]/,
        );
        assert.doesNotMatch(r.stderr, /Kustomization|images/);
    });

    it("names Kyverno as the cause when its admission controller is down and Flux's apply was refused by its webhook", () => {
        healthy();
        kubectl(kc, ["-n", "kyverno", "scale", "deployment/kyverno-admission-controller", "--replicas=0"]);
        setStatus(kc, "deployments.apps", kyvernoDeployment.metadata.name, "kyverno", {
            replicas: 0,
            readyReplicas: 0,
            availableReplicas: 0,
        });
        const refused =
            'Deployment/podinfo/podinfo dry-run failed: Internal error occurred: failed calling webhook "mutate.kyverno.svc-fail": failed to call webhook: ' +
            'Post "https://kyverno-svc.kyverno.svc:443/mutate/fail?timeout=15s": dial tcp 10.96.0.20:443: connect: connection refused';
        setStatus(kc, "kustomizations.kustomize.toolkit.fluxcd.io", "apps", "flux-system", {
            conditions: [ready("False", refused)],
        });
        const r = status(flags);
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stderr,
            /Deployment kyverno\/kyverno-admission-controller: scaled to 0: no dev-team Deployment is admitted unmutated .*Fix: kubectl -n kyverno scale deployment kyverno-admission-controller --replicas=1/,
        );
        assert.match(
            r.stderr,
            /Kustomization flux-system\/apps: Ready=False .*connection refused.* \[cause: Kyverno's admission webhook did not answer; see Deployment kyverno\/kyverno-admission-controller\]/,
        );
        assert.doesNotMatch(r.stderr, /infrastructure|ClusterPolicy|podinfo\/podinfo (images|securityContext)/);
        kubectl(kc, ["-n", "kyverno", "scale", "deployment/kyverno-admission-controller", "--replicas=1"]);
    });

    it("names Kyverno as the cause when the require-kyverno-mutation backstop refused Flux's apply", () => {
        healthy();
        const refused =
            "Deployment/podinfo/podinfo dry-run failed: admission webhook denied: ValidatingAdmissionPolicy 'require-kyverno-mutation' " +
            "with binding 'require-kyverno-mutation' denied request: Deployment podinfo: image ghcr.io/stefanprodan/podinfo:6.9.2 is not pinned " +
            "by digest: Kyverno's resolve-image-digest policy did not mutate it";
        setStatus(kc, "kustomizations.kustomize.toolkit.fluxcd.io", "apps", "flux-system", {
            conditions: [ready("False", refused)],
        });
        const r = status(flags);
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stderr,
            /Kustomization flux-system\/apps: Ready=False .*not pinned by digest.* \[cause: Kyverno did not mutate it \(not admitting yet, or down\); see Deployment kyverno\/kyverno-admission-controller\]/,
        );
    });

    it("names a Kustomization whose spec changed but is not reconciled yet", () => {
        healthy();
        kubectl(kc, [
            "-n",
            "flux-system",
            "patch",
            "kustomization.kustomize.toolkit.fluxcd.io/infrastructure",
            "--type=merge",
            "-p",
            JSON.stringify({ spec: { path: "./infrastructure/controllers" } }),
        ]);
        const r = status(flags);
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stderr,
            /Kustomization flux-system\/infrastructure: Ready=True but generation 2 not yet reconciled/,
        );
    });

    it("reads kubeconfig, kubeContext and environment from the stack's settings file", () => {
        healthy();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-settings-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-kyverno\nruntime: nodejs\n");
            fs.writeFileSync(
                path.join(dir, "Pulumi.prod-eu.yaml"),
                `config:\n  gitops-kyverno:kubeconfig: ${kc}\n  gitops-kyverno:kubeContext: ${cluster.context}\n  gitops-kyverno:environment: production\n`,
            );
            const r = status(["prod-eu"], dir);
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.match(
                r.stdout,
                new RegExp(
                    `environment production: kubeconfig ${kc.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}, context status-test`,
                ),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("exits 2 when the cluster cannot be reached", () => {
        const r = status(["staging", `--kubeconfig=${kc}`, "--context=no-such-context"]);
        assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /cannot reach the cluster/);
        assert.match(
            r.stderr,
            /To point stack staging at your cluster: pulumi config set kubeContext <context> --stack staging/,
        );
        // Run by cli/stack.sh on its local backend: the command that reaches it.
        const viaNpm = status(["staging", `--kubeconfig=${kc}`, "--context=no-such-context"], root, {
            GITOPS_KYVERNO_CLI: "npm",
        });
        assert.match(
            viaNpm.stderr,
            /To point stack staging at your cluster: npm run pulumi -- config set kubeContext <context> --stack staging/,
        );
    });

    it("prints its usage as the npm command that runs it", () => {
        const r = status(["--no-such-flag"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^unknown flag --no-such-flag\nusage: npm run status -- STACK \[--kubeconfig PATH\]/);
    });
});
