// The GitOps tree each environment commits: it parses, its kustomizations are
// whole, its overlays differ where they should, and the policies only touch the
// dev-team tenant.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { fleetOwnership, renderFleetTree } from "../../components/fleet-tree";
import { kyvernoWebhookNamespaceSelector } from "../../components/kyverno";
import { defaultFleetDir } from "../../stacks/settings";

const fleetDir = defaultFleetDir();
const environments = ["staging", "production"];

function docs(content: string, file: string): any[] {
    return parseAllDocuments(content).map((d) => {
        assert.deepStrictEqual(d.errors.map(String), [], `${file} does not parse`);
        return d.toJS();
    });
}

describe("the fleet tree", () => {
    for (const env of environments) {
        describe(`as the ${env} stack commits it`, () => {
            const files = renderFleetTree(fleetDir, env);

            it("parses, every file", () => {
                for (const [p, content] of Object.entries(files)) if (/\.ya?ml$/.test(p)) docs(content, p);
            });

            it("stays inside the shared and this environment's own paths", () => {
                const { shared, owned } = fleetOwnership(env);
                const outside = Object.keys(files).filter(
                    (p) => ![...shared, ...owned].some((prefix) => p.startsWith(prefix)),
                );
                assert.deepStrictEqual(outside, []);
            });

            it("lists only resources that exist in every kustomization", () => {
                const kustomizations = Object.keys(files).filter((p) => p.endsWith("/kustomization.yaml"));
                assert.ok(kustomizations.length >= 3, kustomizations.join(", "));
                for (const k of kustomizations) {
                    const [spec] = docs(files[k], k);
                    const dir = path.posix.dirname(k);
                    for (const ref of [
                        ...(spec.resources ?? []),
                        ...(spec.patches ?? []).map((p: { path?: string }) => p.path).filter(Boolean),
                    ]) {
                        const target = path.posix.normalize(path.posix.join(dir, ref));
                        const exists = target in files || Object.keys(files).some((p) => p.startsWith(`${target}/`));
                        assert.ok(exists, `${k} lists ${ref}, which is not in the tree`);
                    }
                }
            });

            it("chains clusters/<env>: the apps wait for the policies, with prune, wait and timeouts", () => {
                const infra = docs(files[`clusters/${env}/infrastructure.yaml`], "infrastructure.yaml")[0];
                const apps = docs(files[`clusters/${env}/apps.yaml`], "apps.yaml")[0];
                assert.strictEqual(infra.apiVersion, "kustomize.toolkit.fluxcd.io/v1");
                assert.strictEqual(infra.spec.path, "./infrastructure/configs");
                assert.strictEqual(apps.spec.path, `./apps/${env}`);
                assert.deepStrictEqual(apps.spec.dependsOn, [{ name: infra.metadata.name }]);
                for (const k of [infra, apps]) {
                    assert.strictEqual(k.spec.prune, true);
                    assert.strictEqual(k.spec.wait, true);
                    assert.ok(k.spec.timeout, `${k.metadata.name} has no timeout`);
                    assert.deepStrictEqual(k.spec.sourceRef, { kind: "GitRepository", name: "flux-system" });
                }
            });

            it("makes infra-configs wait for each ClusterPolicy's Ready condition, not only for it to exist", () => {
                const infra = docs(files[`clusters/${env}/infrastructure.yaml`], "infrastructure.yaml")[0];
                assert.deepStrictEqual(infra.spec.healthCheckExprs, [
                    {
                        apiVersion: "kyverno.io/v1",
                        kind: "ClusterPolicy",
                        current: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
                    },
                ]);
            });

            it("retries a failed apply within seconds (a Deployment refused before Kyverno admits, Kyverno down), well inside the 30 s goal", () => {
                for (const file of ["infrastructure.yaml", "apps.yaml"]) {
                    const k = docs(files[`clusters/${env}/${file}`], file)[0];
                    const m = /^(\d+)s$/.exec(k.spec.retryInterval);
                    assert.ok(m && Number(m[1]) <= 10, `${k.metadata.name} retryInterval ${k.spec.retryInterval}`);
                }
            });
        });
    }

    it("sets a different podinfo tag in each overlay", () => {
        const tags = environments.map((env) => {
            const [k] = docs(fs.readFileSync(path.join(fleetDir, "apps", env, "kustomization.yaml"), "utf8"), env);
            const image = (k.images ?? []).find((i: { name: string }) => i.name === "ghcr.io/stefanprodan/podinfo");
            assert.ok(image?.newTag, `apps/${env} sets no podinfo tag`);
            return image.newTag;
        });
        assert.notStrictEqual(tags[0], tags[1]);
    });

    it("leaves podinfo's base Deployment without a securityContext, for Kyverno to add", () => {
        const [deployment] = docs(
            fs.readFileSync(path.join(fleetDir, "apps/base/podinfo/deployment.yaml"), "utf8"),
            "deployment",
        );
        assert.strictEqual(deployment.spec.template.spec.securityContext, undefined);
        for (const c of deployment.spec.template.spec.containers) assert.strictEqual(c.securityContext, undefined);
    });

    it("puts the tenant namespace in infra-configs, applied (and cached by Kyverno) before the apps that need it", () => {
        const [ns] = docs(
            fs.readFileSync(path.join(fleetDir, "infrastructure/configs/tenants/podinfo.yaml"), "utf8"),
            "namespace",
        );
        assert.strictEqual(ns.kind, "Namespace");
        assert.strictEqual(ns.metadata.labels["toolkit.fluxcd.io/tenant"], "dev-team");
        const [base] = docs(
            fs.readFileSync(path.join(fleetDir, "apps/base/podinfo/kustomization.yaml"), "utf8"),
            "base",
        );
        for (const rel of base.resources as string[]) {
            const [o] = docs(fs.readFileSync(path.join(fleetDir, "apps/base/podinfo", rel), "utf8"), rel);
            assert.notStrictEqual(
                o.kind,
                "Namespace",
                `${rel}: a namespace applied with its workloads can reach Kyverno's cache after them`,
            );
        }
    });

    it("has two mutating policies, each matching only Deployments in dev-team namespaces", () => {
        const [k] = docs(
            fs.readFileSync(path.join(fleetDir, "infrastructure/configs/kustomization.yaml"), "utf8"),
            "configs",
        );
        const policies = (k.resources as string[]).filter((r) => r.startsWith("policies/"));
        assert.strictEqual(policies.length, 2);
        for (const rel of policies) {
            const [policy] = docs(fs.readFileSync(path.join(fleetDir, "infrastructure/configs", rel), "utf8"), rel);
            assert.strictEqual(policy.kind, "ClusterPolicy");
            assert.ok(policy.metadata.annotations["policies.kyverno.io/description"], `${rel} has no description`);
            assert.strictEqual(path.basename(rel, ".yaml"), policy.metadata.name, `${rel} is not named for its policy`);
            for (const rule of policy.spec.rules) {
                assert.ok(rule.mutate, `${rel} rule ${rule.name} does not mutate`);
                assert.strictEqual(rule.match.any.length, 1);
                const match = rule.match.any[0].resources;
                assert.deepStrictEqual(match.kinds, ["apps/v1/Deployment"]);
                assert.deepStrictEqual(
                    match.namespaceSelector,
                    { matchLabels: { "toolkit.fluxcd.io/tenant": "dev-team" } },
                    `${rel} ${rule.name}`,
                );
                assert.strictEqual(rule.match.all, undefined);
            }
        }
    });

    it("backs the mutating policies with a native admission policy that denies an unmutated dev-team Deployment", () => {
        const [k] = docs(
            fs.readFileSync(path.join(fleetDir, "infrastructure/configs/kustomization.yaml"), "utf8"),
            "configs",
        );
        const objects = (k.resources as string[]).flatMap((rel) =>
            docs(fs.readFileSync(path.join(fleetDir, "infrastructure/configs", rel), "utf8"), rel),
        );
        const vap = objects.find((o) => o.kind === "ValidatingAdmissionPolicy");
        const binding = objects.find((o) => o.kind === "ValidatingAdmissionPolicyBinding");
        assert.ok(vap && binding, "no ValidatingAdmissionPolicy and binding in infra-configs");
        assert.strictEqual(vap.apiVersion, "admissionregistration.k8s.io/v1");
        assert.strictEqual(vap.spec.failurePolicy, "Fail");
        assert.deepStrictEqual(vap.spec.matchConstraints.resourceRules, [
            { apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments"] },
        ]);
        // The same namespaces as the policies it backs.
        assert.deepStrictEqual(vap.spec.matchConstraints.namespaceSelector, {
            matchLabels: { "toolkit.fluxcd.io/tenant": "dev-team" },
        });
        assert.strictEqual(binding.spec.policyName, vap.metadata.name);
        assert.deepStrictEqual(binding.spec.validationActions, ["Deny"]);
    });

    it("points Kyverno's webhooks at the namespaces the policies select, and nothing else", () => {
        const policy = docs(
            fs.readFileSync(
                path.join(fleetDir, "infrastructure/configs/policies/resolve-image-digest/resolve-image-digest.yaml"),
                "utf8",
            ),
            "policy",
        )[0];
        const selected = policy.spec.rules[0].match.any[0].resources.namespaceSelector.matchLabels as Record<
            string,
            string
        >;
        assert.deepStrictEqual(
            kyvernoWebhookNamespaceSelector.matchExpressions,
            Object.entries(selected).map(([key, value]) => ({ key, operator: "In", values: [value] })),
        );
    });
});
