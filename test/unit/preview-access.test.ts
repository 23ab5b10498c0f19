// The identity pull-request previews run as, under Pulumi's mocks for both
// stacks: what the program registers, and that its role covers every kind the
// program and the fleet tree apply, with no verb that writes past the policy.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments } from "yaml";
import { renderFleetTree } from "../../components/fleet-tree";
import { GitOpsEnvironment } from "../../components/gitops-environment";
import {
    previewAccessManifests,
    previewDryRunKinds,
    previewReadOnlyKinds,
    readVerbs,
} from "../../components/preview-access";
import { defaultFleetDir, loadSettings } from "../../stacks/settings";
import { githubConfig, installMocks, one, Registered, runProgram, settle } from "../../harness/mocks";

const types = {
    namespace: "kubernetes:core/v1:Namespace",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    policy: "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
    policyBinding: "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
};
const username = "system:serviceaccount:gitops-preview:pulumi-preview";

interface Rule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
    resourceNames?: string[];
}

/** The verbs `rules` grant on group/resource. */
function verbsOn(rules: Rule[], group: string, resource: string): string[] {
    const verbs = rules
        .filter(
            (r) =>
                (r.apiGroups.includes(group) || r.apiGroups.includes("*")) &&
                (r.resources.includes(resource) || r.resources.includes("*")),
        )
        .flatMap((r) => r.verbs);
    return [...new Set(verbs)].sort();
}

const key = (group: string, kind: string): string => `${group}/${kind}`;

for (const stack of ["staging", "production"]) {
    describe(`the ${stack} stack's preview identity`, () => {
        let registered: Registered[];
        let outputs: Record<string, unknown>;
        before(async () => {
            registered = installMocks(stack, githubConfig(), ["github:token"]);
            outputs = await runProgram();
        });

        const find = (type: string): Registered => one(registered, type, "preview-access");

        it("registers the namespace, ServiceAccount, role, binding, policy and policy binding the manifests describe", () => {
            const manifests = previewAccessManifests() as unknown as Record<keyof typeof types, unknown>;
            for (const [what, type] of Object.entries(types) as [keyof typeof types, string][]) {
                assert.deepStrictEqual(find(type).inputs, JSON.parse(JSON.stringify(manifests[what])), what);
            }
            assert.deepStrictEqual(find(types.namespace).inputs.metadata, {
                name: "gitops-preview",
                labels: { "toolkit.fluxcd.io/tenant": "sre-team" },
            });
            const sa = find(types.serviceAccount).inputs;
            assert.deepStrictEqual(sa.metadata, { name: "pulumi-preview", namespace: "gitops-preview" });
            assert.strictEqual(sa.automountServiceAccountToken, false);
        });

        it("applies them to this stack's cluster", () => {
            const cluster = one(registered, "pulumi:providers:kubernetes");
            const ref = new RegExp(`[:$]pulumi:providers:kubernetes::${cluster.name}::${cluster.name}-id$`);
            for (const type of Object.values(types)) assert.match(find(type).provider ?? "(no provider)", ref, type);
        });

        it("holds every request of the ServiceAccount (or its group) that is not a dry run to a refusal", () => {
            const spec = find(types.policy).inputs.spec;
            assert.strictEqual(find(types.policy).inputs.metadata.name, "gitops-preview-dry-run-only");
            assert.strictEqual(spec.failurePolicy, "Fail");
            assert.deepStrictEqual(spec.matchConstraints.resourceRules, [
                {
                    apiGroups: ["*"],
                    apiVersions: ["*"],
                    operations: ["CREATE", "UPDATE", "DELETE", "CONNECT"],
                    resources: ["*/*"],
                    scope: "*",
                },
            ]);
            assert.strictEqual(spec.matchConditions.length, 1);
            const condition = spec.matchConditions[0].expression as string;
            assert.ok(condition.includes(`request.userInfo.username == '${username}'`), condition);
            assert.ok(condition.includes(`'gitops-kyverno:preview' in request.userInfo.groups`), condition);
            assert.deepStrictEqual(
                spec.validations.map((v: { expression: string }) => v.expression),
                ["has(request.dryRun) && request.dryRun == true"],
            );
            const message = spec.validations[0].message as string;
            assert.match(message, /may only dry-run/);
            assert.match(message, /components\/preview-access\.ts/);
            assert.match(message, new RegExp(username));
            assert.strictEqual(spec.validations[0].reason, "Forbidden");

            const binding = find(types.policyBinding).inputs;
            assert.deepStrictEqual(binding.spec, {
                policyName: "gitops-preview-dry-run-only",
                validationActions: ["Deny"],
            });
        });

        it("binds the role to the ServiceAccount and the group", () => {
            const crb = find(types.clusterRoleBinding).inputs;
            assert.deepStrictEqual(crb.roleRef, {
                apiGroup: "rbac.authorization.k8s.io",
                kind: "ClusterRole",
                name: "gitops-preview",
            });
            assert.deepStrictEqual(crb.subjects, [
                { kind: "ServiceAccount", name: "pulumi-preview", namespace: "gitops-preview" },
                { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "gitops-kyverno:preview" },
            ]);
            assert.strictEqual(find(types.clusterRole).inputs.metadata.name, "gitops-preview");
        });

        it("grants what a dry-run apply needs and nothing that writes past the policy", () => {
            const rules = find(types.clusterRole).inputs.rules as Rule[];
            for (const r of rules) {
                assert.ok(
                    !r.apiGroups.includes("*") && !r.resources.includes("*"),
                    `a wildcard rule: ${JSON.stringify(r)}`,
                );
                assert.ok(
                    !r.resources.some((x) => x.includes("/")),
                    `a subresource (serviceaccounts/token, pods/exec...): ${JSON.stringify(r)}`,
                );
                for (const v of ["delete", "deletecollection", "*", "escalate", "bind", "impersonate"])
                    assert.ok(!r.verbs.includes(v), `${v} in ${JSON.stringify(r)}`);
            }
            for (const k of previewDryRunKinds) {
                assert.deepStrictEqual(
                    verbsOn(rules, k.group, k.resource),
                    ["create", "get", "list", "patch", "update", "watch"],
                    k.kind,
                );
            }
            // The API server runs no admission policy on these: any write verb would be a real write.
            for (const resource of [
                "validatingadmissionpolicies",
                "validatingadmissionpolicybindings",
                "mutatingadmissionpolicies",
                "mutatingadmissionpolicybindings",
            ]) {
                assert.deepStrictEqual(
                    verbsOn(rules, "admissionregistration.k8s.io", resource).filter((v) => !readVerbs.includes(v)),
                    [],
                    resource,
                );
            }
            assert.deepStrictEqual(verbsOn(rules, "", "secrets"), [], "Secrets are readable");
            assert.deepStrictEqual(verbsOn(rules, "", "serviceaccounts/token"), [], "the identity can mint tokens");
        });

        it("covers every kind the program applies and the fleet tree holds", () => {
            const covered = new Map(
                [...previewDryRunKinds, ...previewReadOnlyKinds].map((k) => [key(k.group, k.kind), k]),
            );
            // The program's own: kubernetes:GROUP/VERSION:KIND, the core group as "core".
            const programKinds = registered
                .map((r) => /^kubernetes:([^/:]+)\/[^/:]+:([A-Za-z]+)$/.exec(r.type))
                .filter((m): m is RegExpExecArray => m !== null)
                .map((m) => ({ group: m[1] === "core" ? "" : m[1], kind: m[2] }))
                // Helm releases are previewed from the chart, not the cluster; the Secret from the state.
                .filter((k) => k.group !== "helm.sh" && key(k.group, k.kind) !== "/Secret");
            assert.ok(programKinds.length >= 8, `too few kinds: ${programKinds.map((k) => k.kind).join(", ")}`);
            // What Flux applies: the tree's manifests, not kustomize's own files or Kyverno's CLI tests.
            const treeKinds: { group: string; kind: string; file: string }[] = [];
            for (const [file, text] of Object.entries(renderFleetTree(defaultFleetDir(), stack))) {
                if (!/\.ya?ml$/.test(file) || file.includes("/.kyverno-test/")) continue;
                for (const doc of parseAllDocuments(text)) {
                    const o = doc.toJS() as { apiVersion?: string; kind?: string } | null;
                    if (!o?.apiVersion || !o.kind || o.apiVersion.startsWith("kustomize.config.k8s.io/")) continue;
                    treeKinds.push({
                        group: o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "",
                        kind: o.kind,
                        file,
                    });
                }
            }
            assert.ok(
                treeKinds.some((k) => k.kind === "ValidatingAdmissionPolicy"),
                "the tree's admission policy was not found",
            );
            for (const k of [...programKinds, ...treeKinds]) {
                assert.ok(
                    covered.has(key(k.group, k.kind)),
                    `${k.kind} (${k.group || "core"}) is neither dry-run nor read by the preview identity`,
                );
            }
        });

        it("exports the command that mints its kubeconfig", () => {
            assert.strictEqual(outputs.previewKubeconfigCommand, `npx ts-node cli/preview-kubeconfig.ts ${stack}`);
        });
    });
}

describe("the order of the preview identity's resources", () => {
    const seen: { type: string; resource: pulumi.Resource; dependsOn: pulumi.Resource[] }[] = [];
    before(async () => {
        installMocks("staging", githubConfig(), ["github:token"]);
        const capture: pulumi.ResourceTransformation = (args) => {
            const deps = args.opts.dependsOn;
            seen.push({
                type: args.type,
                resource: args.resource,
                dependsOn: (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[],
            });
            return undefined;
        };
        new GitOpsEnvironment("staging", { settings: loadSettings("staging") }, { transformations: [capture] });
        await settle();
    });

    it("grants the role only once the policy that holds it to dry runs is bound (and revokes it first on destroy)", () => {
        const of = (type: string) => seen.filter((s) => s.type === type);
        const [crb] = of(types.clusterRoleBinding);
        const [binding] = of(types.policyBinding);
        const [policy] = of(types.policy);
        assert.ok(crb && binding && policy, "a preview resource is missing");
        assert.ok(
            crb.dependsOn.includes(binding.resource),
            "the ClusterRoleBinding does not wait for the policy binding",
        );
        assert.ok(binding.dependsOn.includes(policy.resource), "the policy binding does not wait for its policy");
    });
});
