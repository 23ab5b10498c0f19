// The identity the preview workflow's jobs run as (components/preview-access.ts),
// against a real API server: the objects the program applies, applied as it
// renders them, then requests with a token of the preview ServiceAccount. Its
// dry runs (create, server-side apply, update, delete) go through; the same
// requests for real are refused by the policy, which names itself; reads work;
// the admin is not affected. Then the kubeconfig cli/preview-kubeconfig.ts
// mints, used by kubectl and by `flux diff` as the flux-diff job runs it.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { renderFleetTree } from "../../components/fleet-tree";
import {
    previewAccessManifests,
    previewDryRunKinds,
    previewIdentity,
    previewPolicyName,
} from "../../components/preview-access";
import { diffOne, kustomizationsOf } from "../../scripts/pr-comment/flux-diff-run";
import { defaultFleetDir } from "../../stacks/settings";
import { KubeCluster, startKubeCluster } from "../../local-cluster/control-plane";
import { apply, crdManifest, crds, kubectl } from "../status/fixtures";

const root = path.resolve(__dirname, "..", "..");
const PATH = [path.join(root, ".tools", "bin"), path.join(root, "node_modules", ".bin"), process.env.PATH].join(
    path.delimiter,
);
const { namespace: ns, serviceAccount: sa, group } = previewIdentity;
const testNs = "preview-probe";

interface Reply {
    status: number;
    text: string;
    json: any;
}

type Auth = { token: string } | { admin: true; impersonate?: { user: string; groups: string[] } };

function call(
    cluster: KubeCluster,
    auth: Auth,
    method: string,
    apiPath: string,
    body?: unknown,
    contentType = "application/json",
): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | string[]> = {
        Accept: "application/json",
        ...(payload ? { "Content-Type": contentType } : {}),
    };
    const tls: https.RequestOptions = { ca: fs.readFileSync(cluster.certs.caCert) };
    if ("token" in auth) headers.Authorization = `Bearer ${auth.token}`;
    else {
        tls.cert = fs.readFileSync(cluster.certs.adminCert);
        tls.key = fs.readFileSync(cluster.certs.adminKey);
        if (auth.impersonate) {
            headers["Impersonate-User"] = auth.impersonate.user;
            headers["Impersonate-Group"] = auth.impersonate.groups;
        }
    }
    return new Promise((resolve, reject) => {
        const req = https.request(
            `${cluster.server}${apiPath}`,
            { method, ...tls, headers, timeout: 30_000 },
            (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (d: string) => (text += d));
                res.on("end", () => {
                    let json: any;
                    try {
                        json = text ? JSON.parse(text) : undefined;
                    } catch {
                        json = undefined;
                    }
                    resolve({ status: res.statusCode ?? 0, text, json });
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: timed out`)));
        req.on("error", reject);
        req.end(payload);
    });
}

const policyRefusal = new RegExp(
    `ValidatingAdmissionPolicy '${previewPolicyName}' with binding '${previewPolicyName}' denied request: .*may only dry-run.*components/preview-access\\.ts`,
);

function assertRefusedByPolicy(r: Reply, what: string): void {
    assert.equal(r.status, 403, `${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    assert.match(r.json?.message ?? r.text, policyRefusal, what);
}

function assertOk(r: Reply, what: string): void {
    assert.ok(r.status >= 200 && r.status < 300, `${what}: HTTP ${r.status} ${r.text.slice(0, 400)}`);
}

const deployment = (name: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: testNs },
    spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: "c", image: "registry.example/app:1" }] },
        },
    },
});
const service = (name: string) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: testNs },
    spec: { selector: { app: name }, ports: [{ port: 80 }] },
});

/** One object of each kind the preview identity dry-runs, and where it is applied. */
const samples: Record<string, { collection: string; object: Record<string, any> }> = {
    Namespace: {
        collection: "/api/v1/namespaces",
        object: { apiVersion: "v1", kind: "Namespace", metadata: { name: "probe-namespace" } },
    },
    ServiceAccount: {
        collection: `/api/v1/namespaces/${testNs}/serviceaccounts`,
        object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "probe", namespace: testNs } },
    },
    Service: { collection: `/api/v1/namespaces/${testNs}/services`, object: service("probe") },
    Deployment: { collection: `/apis/apps/v1/namespaces/${testNs}/deployments`, object: deployment("probe") },
    ClusterPolicy: {
        collection: "/apis/kyverno.io/v1/clusterpolicies",
        object: {
            apiVersion: "kyverno.io/v1",
            kind: "ClusterPolicy",
            metadata: { name: "probe" },
            spec: { rules: [] },
        },
    },
    MutatingPolicy: {
        collection: "/apis/policies.kyverno.io/v1/mutatingpolicies",
        object: {
            apiVersion: "policies.kyverno.io/v1",
            kind: "MutatingPolicy",
            metadata: { name: "probe" },
            spec: {},
        },
    },
    FluxInstance: {
        collection: `/apis/fluxcd.controlplane.io/v1/namespaces/${testNs}/fluxinstances`,
        object: {
            apiVersion: "fluxcd.controlplane.io/v1",
            kind: "FluxInstance",
            metadata: { name: "flux", namespace: testNs },
            spec: {},
        },
    },
    GitRepository: {
        collection: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${testNs}/gitrepositories`,
        object: {
            apiVersion: "source.toolkit.fluxcd.io/v1",
            kind: "GitRepository",
            metadata: { name: "probe", namespace: testNs },
            spec: { url: "ssh://git@example/x" },
        },
    },
    Kustomization: {
        collection: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${testNs}/kustomizations`,
        object: {
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: { name: "probe", namespace: testNs },
            spec: { path: "./" },
        },
    },
};

describe("the preview identity on a real API server", function () {
    this.timeout(300_000);
    let cluster: KubeCluster;
    let admin: Auth;
    let preview: Auth;
    let tmp: string;
    const asAdmin = (method: string, p: string, body?: unknown, type?: string) =>
        call(cluster, admin, method, p, body, type);
    const asPreview = (method: string, p: string, body?: unknown, type?: string) =>
        call(cluster, preview, method, p, body, type);

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "preview-identity-"));
        cluster = await startKubeCluster({ name: "preview-identity" });
        admin = { admin: true };
        const kc = cluster.kubeconfig;
        const all = [
            ...crds,
            { group: "fluxcd.controlplane.io", kind: "FluxInstance", plural: "fluxinstances", namespaced: true },
            { group: "policies.kyverno.io", kind: "MutatingPolicy", plural: "mutatingpolicies", namespaced: false },
        ];
        apply(kc, all.map(crdManifest));
        kubectl(kc, [
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            ...all.map((c) => `crd/${c.plural}.${c.group}`),
        ]);
        // What the program applies, rendered by the function the component registers.
        apply(kc, Object.values(previewAccessManifests()));
        for (const n of [testNs, "flux-system", "podinfo"])
            apply(kc, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: n } }]);

        const minted = await asAdmin("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { expirationSeconds: 3600 },
        });
        assertOk(minted, "TokenRequest");
        preview = { token: minted.json.status.token };

        // The API server enforces a new policy once its informer has it: wait (at most 30 s)
        // until a real write is refused; the tests say what goes through when it never is.
        const deadline = Date.now() + 30_000;
        for (let i = 0; Date.now() < deadline; i++) {
            const r = await asPreview("POST", `/api/v1/namespaces/${testNs}/services`, service(`wait-${i}`));
            if (r.status === 403 && policyRefusal.test(r.json?.message ?? "")) break;
            await new Promise((res) => setTimeout(res, 500));
        }
    });

    after(async () => {
        await cluster?.stop();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("refuses a real create of a Deployment and a Service, naming the policy and where it is defined", async () => {
        for (const [collection, object] of [
            [`/apis/apps/v1/namespaces/${testNs}/deployments`, deployment("real")],
            [`/api/v1/namespaces/${testNs}/services`, service("real")],
        ] as const) {
            assertRefusedByPolicy(await asPreview("POST", collection, object), `create ${object.kind}`);
            assert.equal((await asAdmin("GET", `${collection}/real`)).status, 404, `${object.kind} was created`);
        }
    });

    it("lets the same creates through as dry runs (dryRun=All), which store nothing", async () => {
        for (const [collection, object] of [
            [`/apis/apps/v1/namespaces/${testNs}/deployments`, deployment("dry")],
            [`/api/v1/namespaces/${testNs}/services`, service("dry")],
        ] as const) {
            const r = await asPreview("POST", `${collection}?dryRun=All`, object);
            assertOk(r, `dry-run create ${object.kind}`);
            assert.equal(r.json.metadata.name, "dry");
            assert.equal((await asAdmin("GET", `${collection}/dry`)).status, 404, `the dry run stored ${object.kind}`);
        }
    });

    it("dry-run applies every kind it previews, as pulumi preview and flux diff do; the real apply is refused", async () => {
        assert.deepEqual(
            Object.keys(samples).sort(),
            previewDryRunKinds.map((k) => k.kind).sort(),
            "a dry-run kind without a sample here",
        );
        for (const [kind, { collection, object }] of Object.entries(samples)) {
            const at = `${collection}/${object.metadata.name}`;
            const dry = await asPreview(
                "PATCH",
                `${at}?dryRun=All&fieldManager=pulumi-kubernetes&force=true`,
                object,
                "application/apply-patch+yaml",
            );
            assertOk(dry, `dry-run apply ${kind}`);
            assertRefusedByPolicy(
                await asPreview(
                    "PATCH",
                    `${at}?fieldManager=pulumi-kubernetes&force=true`,
                    object,
                    "application/apply-patch+yaml",
                ),
                `apply ${kind}`,
            );
            assert.equal((await asAdmin("GET", at)).status, 404, `${kind} was stored`);
        }
    });

    it("reads (GET, LIST), refuses a real update and allows a dry-run one of an existing object", async () => {
        const at = `/apis/apps/v1/namespaces/${testNs}/deployments/existing`;
        assertOk(
            await asAdmin("POST", `/apis/apps/v1/namespaces/${testNs}/deployments`, deployment("existing")),
            "admin create",
        );
        const got = await asPreview("GET", at);
        assertOk(got, "GET");
        assert.equal(got.json.metadata.name, "existing");
        assertOk(await asPreview("GET", "/apis/apps/v1/deployments"), "LIST in every namespace");
        const patch = { metadata: { labels: { changed: "yes" } } };
        assertRefusedByPolicy(await asPreview("PATCH", at, patch, "application/merge-patch+json"), "merge patch");
        const updated = { ...got.json, metadata: { ...got.json.metadata, labels: { changed: "yes" } } };
        assertRefusedByPolicy(await asPreview("PUT", at, updated), "update (PUT)");
        const dry = await asPreview("PATCH", `${at}?dryRun=All`, patch, "application/merge-patch+json");
        assertOk(dry, "dry-run merge patch");
        assert.equal(dry.json.metadata.labels?.changed, "yes");
        assert.equal((await asAdmin("GET", at)).json.metadata.labels?.changed, undefined, "the label was stored");
    });

    it("refuses a real delete: RBAC grants none, and the policy refuses one even where a role would", async () => {
        assertOk(await asAdmin("POST", `/api/v1/namespaces/${testNs}/services`, service("victim")), "admin create");
        const at = `/api/v1/namespaces/${testNs}/services/victim`;
        const byRbac = await asPreview("DELETE", at);
        assert.equal(byRbac.status, 403, byRbac.text);
        assert.match(byRbac.json.message, /cannot delete resource "services"/);
        // Someone grants it delete: the policy still holds it to a dry run.
        apply(cluster.kubeconfig, [
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "Role",
                metadata: { name: "deleter", namespace: testNs },
                rules: [{ apiGroups: [""], resources: ["services"], verbs: ["delete"] }],
            },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "RoleBinding",
                metadata: { name: "deleter", namespace: testNs },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "deleter" },
                subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
            },
        ]);
        let r = await asPreview("DELETE", at);
        for (let i = 0; i < 40 && /cannot delete/.test(r.json?.message ?? ""); i++) {
            await new Promise((res) => setTimeout(res, 250));
            r = await asPreview("DELETE", at);
        }
        assertRefusedByPolicy(r, "delete with a role that allows it");
        assertOk(await asPreview("DELETE", `${at}?dryRun=All`), "dry-run delete");
        assertOk(await asAdmin("GET", at), "the dry run kept the Service");
        kubectl(cluster.kubeconfig, ["delete", "-n", testNs, "role/deleter", "rolebinding/deleter"]);
    });

    it("holds a user of the preview group to dry runs too (e.g. an EKS access entry)", async () => {
        const user = {
            admin: true as const,
            impersonate: {
                user: "arn:aws:sts::123456789012:assumed-role/preview/ci",
                groups: [group, "system:authenticated"],
            },
        };
        const collection = `/api/v1/namespaces/${testNs}/services`;
        assertRefusedByPolicy(
            await call(cluster, user, "POST", collection, service("by-group")),
            "create by the group",
        );
        assertOk(
            await call(cluster, user, "POST", `${collection}?dryRun=All`, service("by-group")),
            "dry-run create by the group",
        );
    });

    it("leaves the admin's real writes alone", async () => {
        const r = await asAdmin("POST", `/apis/apps/v1/namespaces/${testNs}/deployments`, deployment("by-admin"));
        assertOk(r, "admin create");
        assertOk(await asAdmin("DELETE", `/apis/apps/v1/namespaces/${testNs}/deployments/by-admin`), "admin delete");
    });

    it("cannot write admission policies, which no admission policy guards: RBAC grants only reads on them", async () => {
        const at = `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${previewPolicyName}`;
        assertOk(await asPreview("GET", at), "GET the policy");
        const patch = { metadata: { labels: { weakened: "yes" } } };
        for (const q of ["", "?dryRun=All"]) {
            const r = await asPreview("PATCH", `${at}${q}`, patch, "application/merge-patch+json");
            assert.equal(r.status, 403, r.text);
            assert.match(r.json.message, /cannot patch resource "validatingadmissionpolicies"/);
        }
        // Why RBAC, not the policy: with a role that allows it, the real patch goes through.
        const grant = [
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRole",
                metadata: { name: "policy-patcher" },
                rules: [
                    {
                        apiGroups: ["admissionregistration.k8s.io"],
                        resources: ["validatingadmissionpolicies"],
                        verbs: ["patch"],
                    },
                ],
            },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRoleBinding",
                metadata: { name: "policy-patcher" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "policy-patcher" },
                subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
            },
        ];
        apply(cluster.kubeconfig, grant);
        let r = await asPreview("PATCH", at, patch, "application/merge-patch+json");
        for (let i = 0; i < 40 && r.status === 403; i++) {
            await new Promise((res) => setTimeout(res, 250));
            r = await asPreview("PATCH", at, patch, "application/merge-patch+json");
        }
        assertOk(r, "a real patch of the policy with a role that allows it");
        assert.equal((await asAdmin("GET", at)).json.metadata.labels?.weakened, "yes");
        kubectl(cluster.kubeconfig, ["delete", "clusterrole/policy-patcher", "clusterrolebinding/policy-patcher"]);
        kubectl(cluster.kubeconfig, ["label", "validatingadmissionpolicy", previewPolicyName, "weakened-"]);
        assertRefusedByPolicy(
            await asPreview("POST", `/api/v1/namespaces/${testNs}/services`, service("after")),
            "create after the attempts",
        );
    });

    it("cli/preview-kubeconfig.ts mints a kubeconfig (an expiring token, the context's name) that kubectl uses as it", () => {
        const out = path.join(tmp, "preview.kubeconfig");
        const r = spawnSync(
            path.join(root, "node_modules", ".bin", "ts-node"),
            [
                "cli/preview-kubeconfig.ts",
                "staging",
                `--kubeconfig=${cluster.kubeconfig}`,
                `--context=${cluster.context}`,
                "--duration=2h",
                "--out",
                out,
            ],
            {
                cwd: root,
                encoding: "utf8",
                timeout: 120_000,
                env: { ...process.env, PATH, TS_NODE_TRANSPILE_ONLY: "true" },
            },
        );
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /token expires \d{4}-\d\d-\d\dT/);
        assert.equal(fs.statSync(out).mode & 0o777, 0o600);
        const text = fs.readFileSync(out, "utf8");
        assert.doesNotMatch(text, /client-key-data|client-certificate-data/, "the admin's credentials were copied");
        const kc = (args: string[]) =>
            spawnSync("kubectl", [`--kubeconfig=${out}`, ...args], { encoding: "utf8", env: { ...process.env, PATH } });
        assert.equal(kc(["config", "current-context"]).stdout.trim(), cluster.context);
        assert.match(
            kc(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).stdout,
            new RegExp(`system:serviceaccount:${ns}:${sa}`),
        );
        const real = kc(["create", "deployment", "by-kubectl", "-n", testNs, "--image=registry.example/app:1"]);
        assert.notEqual(real.status, 0, "kubectl created a Deployment as the preview identity");
        assert.match(real.stderr, /may only dry-run/);
        const dry = kc([
            "create",
            "deployment",
            "by-kubectl",
            "-n",
            testNs,
            "--image=registry.example/app:1",
            "--dry-run=server",
        ]);
        assert.equal(dry.status, 0, dry.stderr);
    });

    it("flux diff with that kubeconfig: apps diffs; infra-configs fails only on the two admission policy objects, by RBAC", () => {
        const tree = path.join(tmp, "tree");
        for (const [rel, content] of Object.entries(renderFleetTree(defaultFleetDir(), "staging"))) {
            fs.mkdirSync(path.dirname(path.join(tree, rel)), { recursive: true });
            fs.writeFileSync(path.join(tree, rel), content);
        }
        // The live Kustomizations flux diff reads; no controller runs them.
        for (const f of fs.readdirSync(path.join(tree, "clusters", "staging")))
            kubectl(cluster.kubeconfig, ["apply", "-f", path.join(tree, "clusters", "staging", f)]);
        const target = { kubeconfig: path.join(tmp, "preview.kubeconfig") };
        const defs = kustomizationsOf(tree, "staging");
        const outcome = (name: string) =>
            diffOne(
                tree,
                defs.find((d) => d.name === name)!,
                target,
            );
        const apps = outcome("apps");
        assert.equal(apps.kind, "changed", JSON.stringify(apps));
        assert.match(apps.kind === "changed" ? apps.diff : "", /Deployment\/podinfo\/podinfo created/);
        const infra = outcome("infra-configs");
        assert.equal(infra.kind, "error", JSON.stringify(infra));
        const message = infra.kind === "error" ? infra.message : "";
        // Only the two admission policy objects fail, by RBAC; the policies and the namespace dry-run.
        const failed = [...message.matchAll(/(\w+)\/(?:[\w-]+\/)?([\w-]+) dry-run failed/g)]
            .map((m) => `${m[1]}/${m[2]}`)
            .sort();
        assert.deepEqual(
            failed,
            [
                "ValidatingAdmissionPolicy/require-kyverno-mutation",
                "ValidatingAdmissionPolicyBinding/require-kyverno-mutation",
            ],
            message,
        );
        assert.match(message, /cannot patch resource "validatingadmissionpolicies"/);
    });
});
