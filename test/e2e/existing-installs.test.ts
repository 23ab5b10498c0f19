// A cluster that already runs someone else's Kyverno, and a destroy that would
// take other teams' cert-manager objects with cert-manager's CRDs: the real
// engine, a real API server (no controllers needed: nothing may get that far)
// and the real kubectl.
import { strict as assert } from "node:assert";
import { CrdsGuardProvider, guardedResources } from "../../components/cert-manager/crds-guard-provider";
import { kubectlList } from "../../components/existing-installs/cluster-reads";
import { stackLabelKey, stackLabelValue } from "../../components/existing-installs/rules";
import { startGitSshServer, GitSshServer, SshKeyPair } from "../../local-cluster/git-server";
import { KubeCluster, startKubeCluster } from "../../local-cluster/control-plane";
import { PulumiWorkspace } from "../../harness/pulumi-cli";
import { apply, crdManifest, kubectl } from "../status/fixtures";

const stack = "staging";

describe("an install the stack did not make (real engine, API server and kubectl)", function () {
    this.timeout(600_000);
    let cluster: KubeCluster;
    let git: GitSshServer;
    let writeKey: SshKeyPair;
    let pulumi: PulumiWorkspace;
    const namespaces = () =>
        kubectl(cluster.kubeconfig, ["get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}"])
            .split(" ")
            .sort();

    before(async () => {
        [cluster, git] = await Promise.all([startKubeCluster({ name: "existing" }), startGitSshServer()]);
        const repoUrl = git.createRepository("fleet");
        writeKey = git.newKey("pulumi-push");
        git.authorize(writeKey.publicKey, "write");
        pulumi = new PulumiWorkspace();
        await pulumi.initStack(stack);
        const settings = {
            gitProvider: "ssh",
            gitUrl: repoUrl,
            gitKnownHosts: git.knownHosts,
            kubeconfig: cluster.kubeconfig,
            kubeContext: cluster.context,
        };
        await pulumi.setConfig(stack, settings, { gitWriteKey: writeKey.privateKey });
        // Someone's Kyverno: its namespace, and a CRD of its Helm release elsewhere.
        const policies = crdManifest({
            group: "kyverno.io",
            kind: "ClusterPolicy",
            plural: "clusterpolicies",
            namespaced: false,
        }) as any;
        policies.metadata.annotations = {
            "meta.helm.sh/release-name": "policy-engine",
            "meta.helm.sh/release-namespace": "platform",
        };
        apply(cluster.kubeconfig, [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "kyverno", labels: { team: "platform" } } },
            policies,
        ]);
    });

    after(async () => {
        pulumi?.remove();
        await git?.stop();
        await cluster?.stop();
    });

    it("stops preview and up before anything is created, naming what is there and the ways on", async () => {
        const before = namespaces();
        for (const command of [["preview"], ["up", "--yes", "--skip-preview"]]) {
            const r = await pulumi.run([...command, "--stack", stack], { allowFailure: true });
            const said = r.stdout + r.stderr;
            assert.notStrictEqual(r.code, 0, `${command[0]} passed:\n${said}`);
            assert.match(said, /This cluster already has Kyverno installed, not by this stack\. Nothing was changed\./);
            assert.match(
                said,
                new RegExp(`- Kyverno: namespace kyverno \\(no ${stackLabelKey.replace(/\./g, "\\.")} label\\)`),
            );
            assert.match(
                said,
                /- Kyverno: CRD clusterpolicies\.kyverno\.io \(Helm release policy-engine in namespace platform\)/,
            );
        }
        assert.deepStrictEqual(namespaces(), before, "the cluster's namespaces changed");
        const labels = JSON.parse(
            kubectl(cluster.kubeconfig, ["get", "namespace", "kyverno", "-o", "jsonpath={.metadata.labels}"]),
        );
        assert.strictEqual(labels[stackLabelKey], undefined, "the foreign namespace was labelled as the stack's");
        assert.strictEqual(
            git.gitIn("fleet", ["for-each-ref", "--format=%(refname)"]).trim(),
            "",
            "the fleet repository was pushed to",
        );
        const exported = await pulumi.run(["stack", "export", "--stack", stack]);
        const value = JSON.parse(exported.stdout) as { deployment: { resources?: { type: string }[] } };
        const created = (value.deployment.resources ?? [])
            .map((r) => r.type)
            .filter((t) => !t.startsWith("pulumi:providers:") && t !== "pulumi:pulumi:Stack");
        assert.deepStrictEqual(
            created.filter((t) => !t.startsWith("gitops-kyverno:") && !t.startsWith("tls:")),
            [],
            "the state holds resources outside Pulumi's own bookkeeping",
        );
    });

    it("reads a namespace labelled as this stack's own as its own, so only the other release's CRD is left", async () => {
        const ours = stackLabelValue("gitops-kyverno", stack);
        kubectl(cluster.kubeconfig, ["label", "namespace", "kyverno", `${stackLabelKey}=${ours}`]);
        const r = await pulumi.run(["preview", "--stack", stack], { allowFailure: true });
        const said = r.stdout + r.stderr;
        assert.notStrictEqual(r.code, 0, said);
        assert.doesNotMatch(said, /- Kyverno: namespace kyverno/);
        assert.match(
            said,
            /- Kyverno: CRD clusterpolicies\.kyverno\.io \(Helm release policy-engine in namespace platform\)/,
        );
    });

    it("refuses to delete cert-manager's CRDs while another team's Certificate is on the cluster", async () => {
        const kinds = [
            { group: "cert-manager.io", kind: "Certificate", plural: "certificates", namespaced: true },
            { group: "cert-manager.io", kind: "Issuer", plural: "issuers", namespaced: true },
            { group: "cert-manager.io", kind: "ClusterIssuer", plural: "clusterissuers", namespaced: false },
        ];
        apply(cluster.kubeconfig, kinds.map(crdManifest));
        kubectl(cluster.kubeconfig, [
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            ...kinds.map((k) => `crd/${k.plural}.${k.group}`),
        ]);
        const target = { kubeconfig: cluster.kubeconfig, context: cluster.context };
        const guard = {
            ...target,
            crdsOnDestroy: "delete" as const,
            keepCommand: "pulumi config set certManagerCrdsOnDestroy keep --stack staging",
        };
        await new CrdsGuardProvider(kubectlList).delete("id", guard);
        apply(cluster.kubeconfig, [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name: "shop-tls", namespace: "shop" },
                spec: {},
            },
        ]);
        assert.deepStrictEqual(
            ((await kubectlList(target, guardedResources, true)) ?? []).map(
                (o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`,
            ),
            ["Certificate shop/shop-tls"],
        );
        await assert.rejects(
            new CrdsGuardProvider(kubectlList).delete("id", guard),
            /with them 1 object\(s\) this stack did not create:\n {2}- Certificate shop\/shop-tls\n/,
        );
        await new CrdsGuardProvider(kubectlList).delete("id", { ...guard, crdsOnDestroy: "keep" });
    });
});
