// What the pinned Flux Operator can install, read from its source at the release below
// (github.com/controlplaneio-fluxcd/flux-operator). When fluxOperator's chart version
// in stacks/defaults.ts moves, this file moves with it: test/unit/flux-operator.test.ts
// compares it with the operator build's config/data.

/** The operator release these lists come from (the flux-operator chart has the same version). */
export const fluxOperatorRelease = "0.59.0";

/**
 * The Flux releases it can install: the folders of its config/data/flux, the manifests
 * its image embeds. A FluxInstance without spec.distribution.artifact installs only these.
 */
export const embeddedFluxVersions = [
    "2.2.3",
    "2.3.0",
    "2.4.0",
    "2.5.0",
    "2.5.1",
    ...["2.6.0", "2.6.1", "2.6.2", "2.6.3", "2.6.4"],
    ...["2.7.0", "2.7.1", "2.7.2", "2.7.3", "2.7.4", "2.7.5"],
    // No 2.8.4: the operator ships its images' digests but not its manifests.
    ...["2.8.0", "2.8.1", "2.8.2", "2.8.3", "2.8.5", "2.8.6", "2.8.7", "2.8.8"],
    ...["2.9.0", "2.9.1", "2.9.2", "2.9.3", "2.9.4", "2.9.5"],
];

/** spec.distribution.variant's values (api/v1/fluxinstance_types.go). */
export const fluxVariants = [
    "upstream-alpine",
    "enterprise-alpine",
    "enterprise-distroless",
    "enterprise-distroless-fips",
];

/**
 * The registries whose variant the operator infers (internal/builder/images.go). For any
 * other registry it pins the images by digest only when spec.distribution.variant is set.
 */
export const registryVariants: Record<string, string> = {
    fluxcd: "upstream-alpine",
    "ghcr.io/fluxcd": "upstream-alpine",
    "ghcr.io/controlplaneio-fluxcd/alpine": "enterprise-alpine",
    "ghcr.io/controlplaneio-fluxcd/distroless": "enterprise-distroless",
    "709825985650.dkr.ecr.us-east-1.amazonaws.com/controlplane/fluxcd": "enterprise-distroless",
    "ghcr.io/controlplaneio-fluxcd/distroless-fips": "enterprise-distroless-fips",
};

/** The embedded releases in short, consecutive patches as ranges: "2.2.3, …, 2.8.0–2.8.3, 2.8.5–2.8.8, 2.9.0–2.9.5". */
export function embeddedFluxVersionsText(versions = embeddedFluxVersions): string {
    const runs: string[][] = [];
    for (const v of versions) {
        const last = runs.at(-1)?.at(-1);
        const [major, minor, patch] = v.split(".").map(Number);
        const follows = last !== undefined && last === `${major}.${minor}.${patch - 1}`;
        if (follows) runs.at(-1)!.push(v);
        else runs.push([v]);
    }
    return runs.map((r) => (r.length === 1 ? r[0] : `${r[0]}–${r.at(-1)}`)).join(", ");
}
