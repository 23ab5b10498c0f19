// Choices a team may make, shown on every preview so a reviewer sees them.
import { at, type Rule } from "../resource";

export const repositoryDeletedOnDestroy: Rule = {
    name: "repository-deleted-on-destroy",
    description:
        "Advisory: the shared fleet repository is deleted when this stack is destroyed (deleteRepositoryOnDestroy).",
    enforcementLevel: "advisory",
    check({ type, name, stack, props }) {
        if (type !== "pulumi-nodejs:dynamic/gitops-kyverno:GitHubRepository" || at(props, "deleteOnDestroy") !== true)
            return [];
        return [
            `destroying stack ${stack} deletes the shared fleet repository ${name} (deleteRepositoryOnDestroy: true)`,
        ];
    },
};

export const certManagerCrdsKept: Rule = {
    name: "cert-manager-crds-kept",
    description: "Advisory: cert-manager's CRDs stay in the cluster after a destroy (crds.keep).",
    enforcementLevel: "advisory",
    // The CertManager component reaches the pack without its inputs: its child Release carries the values.
    check({ type, name, props }) {
        if (type !== "kubernetes:helm.sh/v3:Release" || String(at(props, "chart")).split("/").pop() !== "cert-manager")
            return [];
        if (at(props, "values.crds.keep") !== true) return [];
        return [
            `cert-manager ${name} keeps its CRDs on destroy (crds.keep: true): they and any cert-manager objects stay behind`,
        ];
    },
};
