// PreviewAccess: the Kubernetes identity a pull request's preview runs as
// (`pulumi preview`, `flux diff kustomization`), which may dry-run but never write.
//
// RBAC cannot tell a server-side dry run from the write itself: both need the
// same verb (patch, and create for a new object). So the role grants what a
// dry-run apply needs, and a ValidatingAdmissionPolicy bound to this identity
// refuses every request of it that is not a dry run. What the two tools call:
// `pulumi preview` reads (GET) and dry-run applies (PATCH apply, dryRun=All; a
// PUT for a CRD), and falls back to a client-side preview when that is
// forbidden; `flux diff` GETs its Kustomization and each object and dry-run
// applies each. Neither deletes: a preview plans deletions without calling
// them, and flux diff computes prunes from the Kustomization's inventory.
//
// The manifests come from one pure function, previewAccessManifests(), which
// the component registers and the tests apply to a real API server.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { sreTenantLabel } from "./kyverno";

export interface PreviewAccessArgs {
    /** The stack whose kubeContext the kubeconfig command reads (Pulumi.STACK.yaml). */
    stack: string;
}

export interface PreviewIdentity {
    namespace: string;
    serviceAccount: string;
    /**
     * A group that is treated as the same identity: bound to the same role and held to
     * dry runs by the same policy. For credentials that are not this ServiceAccount's
     * token, e.g. an EKS access entry with this group in its kubernetesGroups.
     */
    group: string;
}

export const previewIdentity: PreviewIdentity = {
    namespace: "gitops-preview",
    serviceAccount: "pulumi-preview",
    group: "gitops-kyverno:preview",
};

/** The username the API server gives the ServiceAccount's tokens. */
export function previewUsername(id: PreviewIdentity = previewIdentity): string {
    return `system:serviceaccount:${id.namespace}:${id.serviceAccount}`;
}

/** The name of the ClusterRole, ClusterRoleBinding, policy and policy binding. */
export const previewAccessName = "gitops-preview";
export const previewPolicyName = "gitops-preview-dry-run-only";

export interface PreviewKind {
    group: string;
    kind: string;
    resource: string;
}

/**
 * What a preview reads and dry-run applies: every kind the program applies itself
 * and the fleet tree holds (test/unit/preview-access.test.ts checks both lists
 * against this one), except those below.
 */
export const previewDryRunKinds: PreviewKind[] = [
    { group: "", kind: "Namespace", resource: "namespaces" },
    { group: "", kind: "ServiceAccount", resource: "serviceaccounts" },
    { group: "", kind: "Service", resource: "services" },
    { group: "apps", kind: "Deployment", resource: "deployments" },
    { group: "kyverno.io", kind: "ClusterPolicy", resource: "clusterpolicies" },
    // The CEL form of the same policies (kyvernoPolicyApi: cel), in the shared tree beside them.
    { group: "policies.kyverno.io", kind: "MutatingPolicy", resource: "mutatingpolicies" },
    { group: "fluxcd.controlplane.io", kind: "FluxInstance", resource: "fluxinstances" },
    { group: "source.toolkit.fluxcd.io", kind: "GitRepository", resource: "gitrepositories" },
    { group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization", resource: "kustomizations" },
];

/**
 * Read, never dry-run. The API server runs no admission policy (nor webhook) on
 * admission policies and their bindings, so a write verb on them would allow real
 * writes, of this very policy too: their preview and flux diff are refused by RBAC.
 * RBAC objects: the preview shows their changes from the program's inputs.
 */
const admission = "admissionregistration.k8s.io";
export const previewReadOnlyKinds: PreviewKind[] = [
    { group: admission, kind: "ValidatingAdmissionPolicy", resource: "validatingadmissionpolicies" },
    { group: admission, kind: "ValidatingAdmissionPolicyBinding", resource: "validatingadmissionpolicybindings" },
    { group: "rbac.authorization.k8s.io", kind: "ClusterRole", resource: "clusterroles" },
    { group: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding", resource: "clusterrolebindings" },
    // A new stack's preview reads them for installs it must not take over (components/existing-installs.ts).
    { group: "apiextensions.k8s.io", kind: "CustomResourceDefinition", resource: "customresourcedefinitions" },
];

// Secrets are neither: the preview of the deploy key Secret is computed from the
// stack's state, and nothing else a preview reads is in one.

export const readVerbs = ["get", "list", "watch"];
/** What a server-side dry-run apply is authorized as; no delete. */
export const dryRunVerbs = [...readVerbs, "create", "update", "patch"];

export interface PreviewAccessManifests {
    namespace: k8s.types.input.core.v1.Namespace;
    serviceAccount: k8s.types.input.core.v1.ServiceAccount;
    clusterRole: k8s.types.input.rbac.v1.ClusterRole;
    clusterRoleBinding: k8s.types.input.rbac.v1.ClusterRoleBinding;
    policy: k8s.types.input.admissionregistration.v1.ValidatingAdmissionPolicy;
    policyBinding: k8s.types.input.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
}

function rulesFor(kinds: PreviewKind[], verbs: string[]): k8s.types.input.rbac.v1.PolicyRule[] {
    const groups = [...new Set(kinds.map((k) => k.group))];
    const resources = (g: string) => kinds.filter((k) => k.group === g).map((k) => k.resource);
    return groups.map((g) => ({ apiGroups: [g], resources: resources(g), verbs }));
}

/** The objects PreviewAccess applies, as plain manifests. */
export function previewAccessManifests(id: PreviewIdentity = previewIdentity): PreviewAccessManifests {
    const username = previewUsername(id);
    const where = "the gitops-kyverno Pulumi program, components/preview-access.ts";
    return {
        namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: id.namespace, labels: sreTenantLabel } },
        serviceAccount: {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: id.serviceAccount, namespace: id.namespace },
            // Its tokens are minted on demand (kubectl create token): no Secret holds one.
            automountServiceAccountToken: false,
        },
        clusterRole: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: previewAccessName },
            rules: [...rulesFor(previewDryRunKinds, dryRunVerbs), ...rulesFor(previewReadOnlyKinds, readVerbs)],
        },
        clusterRoleBinding: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: previewAccessName },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: previewAccessName },
            subjects: [
                { kind: "ServiceAccount", name: id.serviceAccount, namespace: id.namespace },
                { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: id.group },
            ],
        },
        policy: {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingAdmissionPolicy",
            metadata: { name: previewPolicyName },
            spec: {
                // An error evaluating the validation refuses the request too.
                failurePolicy: "Fail",
                matchConstraints: {
                    resourceRules: [
                        {
                            apiGroups: ["*"],
                            apiVersions: ["*"],
                            operations: ["CREATE", "UPDATE", "DELETE", "CONNECT"],
                            // Every resource and subresource (scale, status, exec, token...).
                            resources: ["*/*"],
                            scope: "*",
                        },
                    ],
                },
                matchConditions: [
                    {
                        // Every other request skips the policy. has() first: an error here
                        // would fail every request in the cluster, not only the preview's.
                        name: "preview-identity",
                        expression:
                            `(has(request.userInfo.username) && request.userInfo.username == '${username}') || ` +
                            `(has(request.userInfo.groups) && '${id.group}' in request.userInfo.groups)`,
                    },
                ],
                validations: [
                    {
                        expression: "has(request.dryRun) && request.dryRun == true",
                        message:
                            `the preview identity (${username}, group ${id.group}) may only dry-run (dryRun=All): ` +
                            `this request would change the cluster. It is defined by ${where}.`,
                        reason: "Forbidden",
                    },
                ],
            },
        },
        policyBinding: {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingAdmissionPolicyBinding",
            metadata: { name: previewPolicyName },
            spec: { policyName: previewPolicyName, validationActions: ["Deny"] },
        },
    };
}

/** The command that prints a kubeconfig for the preview identity, with a token that expires. */
export function previewKubeconfigCommand(stack: string): string {
    return `npx ts-node cli/preview-kubeconfig.ts ${stack}`;
}

export class PreviewAccess extends pulumi.ComponentResource {
    readonly username: string;
    readonly kubeconfigCommand: string;

    constructor(name: string, args: PreviewAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:preview:PreviewAccess", name, {}, opts);
        const m = previewAccessManifests();
        const ns = new k8s.core.v1.Namespace(name, m.namespace, { parent: this });
        const sa = new k8s.core.v1.ServiceAccount(name, m.serviceAccount, { parent: this, dependsOn: [ns] });
        const role = new k8s.rbac.v1.ClusterRole(name, m.clusterRole, { parent: this });
        const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(name, m.policy, { parent: this });
        const policyBinding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(name, m.policyBinding, {
            parent: this,
            dependsOn: [policy],
        });
        // The identity gets its permissions only once the policy that holds it to dry runs
        // is bound, and loses them first on destroy.
        const grantAfter = [role, sa, policyBinding];
        new k8s.rbac.v1.ClusterRoleBinding(name, m.clusterRoleBinding, { parent: this, dependsOn: grantAfter });

        this.username = previewUsername();
        this.kubeconfigCommand = previewKubeconfigCommand(args.stack);
        this.registerOutputs({ username: this.username, kubeconfigCommand: this.kubeconfigCommand });
    }
}
