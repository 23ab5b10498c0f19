// The tag-to-digest policy fails closed: when the registry cannot answer, a dev-team
// Deployment is refused rather than admitted with a tag (docs/design.md, "Image digests:
// failures and private registries"). Checked in the tree the stack commits (the
// FleetFiles resource's files), in every form of the policy it holds, and in the
// Kyverno release, whose forceFailurePolicyIgnore flag would turn every webhook to Ignore.
import { parseAllDocuments } from "yaml";
import { at, isUnknown, type PackResource, type Rule } from "../resource";

const fleetFilesType = "pulumi-nodejs:dynamic/gitops-kyverno:FleetFiles";

interface PolicyDoc {
    file: string;
    kind: string;
    name: string;
    spec: Record<string, unknown>;
}

/** A policy that resolves image digests, in either API (kyverno.io/v1 or policies.kyverno.io/v1). */
function isDigestPolicy(doc: PolicyDoc): boolean {
    if (doc.kind === "ImageValidatingPolicy") return true;
    return ["ClusterPolicy", "Policy", "MutatingPolicy"].includes(doc.kind) && /digest/.test(doc.name);
}

function policyDocs(files: Record<string, unknown>): PolicyDoc[] {
    const docs: PolicyDoc[] = [];
    for (const [file, content] of Object.entries(files)) {
        if (!/^infrastructure\/.*\.ya?ml$/.test(file) || typeof content !== "string") continue;
        for (const d of parseAllDocuments(content)) {
            const o = d.toJS() as { kind?: unknown; metadata?: { name?: unknown }; spec?: unknown } | null;
            if (!o || typeof o.kind !== "string" || typeof o.spec !== "object" || o.spec === null) continue;
            docs.push({
                file,
                kind: o.kind,
                name: String(o.metadata?.name ?? ""),
                spec: o.spec as Record<string, unknown>,
            });
        }
    }
    return docs;
}

/** What in one policy lets a failed lookup through; none when it fails closed. */
function openings(doc: PolicyDoc): string[] {
    const legacy = doc.kind === "ClusterPolicy" || doc.kind === "Policy";
    const failurePath =
        legacy && at(doc.spec, "webhookConfiguration.failurePolicy") !== undefined
            ? "webhookConfiguration.failurePolicy"
            : "failurePolicy";
    const found: string[] = [];
    const failure = at(doc.spec, failurePath);
    if (failure !== "Fail")
        found.push(
            `spec.${failurePath} is ${failure === undefined ? "not set" : `"${String(failure)}"`} (must be Fail)`,
        );
    const action = at(doc.spec, "validationFailureAction");
    if (action !== undefined && !/^enforce$/i.test(String(action)))
        found.push(`spec.validationFailureAction is "${String(action)}" (must be Enforce)`);
    const actions = at(doc.spec, "validationActions");
    if (Array.isArray(actions) && !actions.includes("Deny"))
        found.push(`spec.validationActions [${actions.join(", ")}] lack Deny`);
    return found;
}

function checkTree({ name, props }: PackResource): string[] {
    const files = at(props, "files");
    if (isUnknown(files) || files === null || typeof files !== "object") return [];
    const digest = policyDocs(files as Record<string, unknown>).filter(isDigestPolicy);
    if (digest.length === 0)
        return [
            `the fleet tree of ${name} holds no digest policy (fleet/infrastructure/configs/policies/resolve-image-digest)`,
        ];
    return digest.flatMap((doc) =>
        openings(doc).map(
            (o) => `${doc.kind} ${doc.name} in ${doc.file} fails open: ${o}; an unreachable registry would admit tags`,
        ),
    );
}

export const digestPolicyFailsClosed: Rule = {
    name: "digest-policy-fails-closed",
    description:
        "The fleet tree's tag-to-digest policy (each form) fails closed, and Kyverno is not told to ignore webhook failures.",
    enforcementLevel: "mandatory",
    check(resource) {
        if (resource.type === fleetFilesType) return checkTree(resource);
        if (
            resource.type !== "kubernetes:helm.sh/v3:Release" ||
            String(at(resource.props, "chart")).split("/").pop() !== "kyverno"
        )
            return [];
        const forced = at(resource.props, "values.features.forceFailurePolicyIgnore.enabled");
        if (forced !== true) return [];
        return [
            `Kyverno release ${resource.name} sets features.forceFailurePolicyIgnore.enabled: every policy webhook, the digest policy's included, would fail open`,
        ];
    },
};
