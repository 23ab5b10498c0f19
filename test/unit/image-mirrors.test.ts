// Images from a mirror: the registry settings are checked before anything is created,
// and reach the charts' values and the FluxInstance; without them nothing changes.
import * as assert from "assert";
import { byType, githubConfig, installMocks, one, Registered, runProgram } from "../../harness/mocks";
import { problemOf, settingsProblems as problems } from "./support/settings-problems";

const fluxInstance = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance";
const mirror = "mirror.acme.test:5000/hub";
/** The end of a problem whose fix is `config rm key`, or `config set key value`. */
const fixed = (key: string, value?: string) =>
    new RegExp(`Fix: pulumi config ${value ? `set ${key} ${value}` : `rm ${key}`} --stack staging$`);
const mirrors = {
    kyvernoImageRegistry: mirror,
    certManagerImageRegistry: mirror,
    fluxOperatorImageRegistry: mirror,
    fluxRegistry: `${mirror}/fluxcd`,
    fluxVariant: "upstream-alpine",
};

/** The values of the Helm release of `chart` (its name, or the end of its oci:// path). */
function chartValues(registered: Registered[], chart: string): Record<string, any> {
    const releases = byType(registered, "kubernetes:helm.sh/v3:Release").filter(
        (r) => r.inputs.chart.split("/").at(-1) === chart,
    );
    assert.strictEqual(releases.length, 1, chart);
    return releases[0].inputs.values;
}

async function program(config: Record<string, string>): Promise<Registered[]> {
    const registered = installMocks("staging", githubConfig(config), ["github:token"]);
    await runProgram();
    return registered;
}

describe("image registry settings", () => {
    it("reject a registry with a scheme or a trailing slash, giving the value without them", () => {
        const found = problems({
            kyvernoImageRegistry: "https://mirror.acme.test/",
            fluxRegistry: "mirror.acme.test/fluxcd/",
        });
        assert.strictEqual(found.length, 2, found.join("\n"));
        const kyverno = problemOf(found, "kyvernoImageRegistry");
        assert.match(
            kyverno,
            /^gitops-kyverno:kyvernoImageRegistry "https:\/\/mirror\.acme\.test\/" is not an image registry/,
        );
        assert.ok(kyverno.includes("(the images are pulled as <registry>/kyverno/kyverno:<tag>)"), kyverno);
        assert.match(kyverno, fixed("kyvernoImageRegistry", "mirror.acme.test"));
        assert.match(problemOf(found, "fluxRegistry"), fixed("fluxRegistry", "mirror.acme.test/fluxcd"));
    });

    it("reject an image reference for a registry, falling back to the chart's own registries", () => {
        const reference = "quay.io/jetstack/cert-manager-controller:v1";
        const found = problems({ certManagerImageRegistry: reference, fluxOperatorImageRegistry: "Mirror/UPPER" });
        assert.strictEqual(found.length, 2, found.join("\n"));
        const certManager = problemOf(found, "certManagerImageRegistry");
        assert.ok(certManager.includes("<registry>/jetstack/cert-manager-controller:<tag>"), certManager);
        assert.match(certManager, fixed("certManagerImageRegistry"));
        assert.match(problemOf(found, "fluxOperatorImageRegistry"), fixed("fluxOperatorImageRegistry"));
    });

    it("reject an unknown Flux variant, and one that is not the variant of a registry the operator knows", () => {
        const unknown = problems({ fluxVariant: "alpine" });
        assert.strictEqual(unknown.length, 1, unknown.join("\n"));
        assert.match(unknown[0], /fluxVariant "alpine" is not one of upstream-alpine, enterprise-alpine, /);
        assert.match(unknown[0], fixed("fluxVariant"));
        const other = problems({ fluxVariant: "enterprise-distroless" });
        assert.strictEqual(other.length, 1, other.join("\n"));
        assert.match(
            other[0],
            /fluxVariant is enterprise-distroless, but fluxRegistry ghcr\.io\/fluxcd serves upstream-alpine images/,
        );
        assert.match(other[0], fixed("fluxVariant"));
        const distroless = {
            fluxRegistry: "ghcr.io/controlplaneio-fluxcd/distroless",
            fluxVariant: "enterprise-distroless",
        };
        assert.deepStrictEqual(problems(distroless), []);
    });

    it("accept a mirror for every image", () => {
        assert.deepStrictEqual(problems(mirrors), []);
    });
});

describe("images from a mirror", () => {
    let registered: Registered[];
    before(async () => (registered = await program(mirrors)));

    it("gives Kyverno's chart the registry of every image, its hooks' and tests' included", () => {
        const values = chartValues(registered, "kyverno");
        for (const key of ["global", "webhooksCleanup", "test"])
            assert.deepStrictEqual(values[key], { image: { registry: mirror } }, key);
    });

    it("gives cert-manager's chart imageRegistry, beside its CRD settings", () => {
        const values = one(registered, "kubernetes-cert-manager:index:CertManager").inputs.helmOptions.values;
        assert.deepStrictEqual(values, { crds: { enabled: true, keep: false }, imageRegistry: mirror });
    });

    it("gives the Flux Operator's chart its image repository on the mirror", () => {
        const repository = `${mirror}/controlplaneio-fluxcd/flux-operator`;
        assert.deepStrictEqual(chartValues(registered, "flux-operator"), { image: { repository } });
    });

    it("gives the FluxInstance the registry and variant of Flux's images", () => {
        const distribution = one(registered, fluxInstance).inputs.spec.distribution;
        assert.deepStrictEqual(distribution, {
            version: "2.9.5",
            registry: `${mirror}/fluxcd`,
            variant: "upstream-alpine",
        });
    });
});

describe("images without a mirror", () => {
    it("leave the charts' registries alone and pull Flux from ghcr.io/fluxcd", async () => {
        const registered = await program({});
        const kyverno = chartValues(registered, "kyverno");
        for (const key of ["global", "webhooksCleanup", "test"]) assert.strictEqual(kyverno[key], undefined, key);
        assert.strictEqual(chartValues(registered, "flux-operator"), undefined);
        const values = one(registered, "kubernetes-cert-manager:index:CertManager").inputs.helmOptions.values;
        assert.deepStrictEqual(values, { crds: { enabled: true, keep: false } });
        assert.deepStrictEqual(one(registered, fluxInstance).inputs.spec.distribution, {
            version: "2.9.5",
            registry: "ghcr.io/fluxcd",
        });
    });
});
