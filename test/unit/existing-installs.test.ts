// Someone else's Kyverno, cert-manager or Flux on the cluster: the first preview
// or up stops, naming each object, before anything is created; and destroy does
// not take other teams' cert-manager objects with cert-manager's CRDs unasked.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    CrdsGuardInputs,
    CrdsGuardProvider,
    guardedResources,
} from "../../components/cert-manager/crds-guard-provider";
import type { ListedObject, ListObjects } from "../../components/existing-installs/cluster-reads";
import { ExistingInstallsProvider } from "../../components/existing-installs/provider";
import { foreignInstalls, stackLabelKey, stackLabelValue } from "../../components/existing-installs/rules";
import { GitOpsEnvironment } from "../../components/gitops-environment";
import { loadSettings } from "../../stacks/settings";
import { byType, dynamicType, githubConfig, installMocks, one, runProgram, settle } from "../../harness/mocks";
import { problemOf, settingsProblems } from "./support/settings-problems";

const ours = stackLabelValue("gitops-kyverno", "staging");
const ns = (name: string, labels?: Record<string, string>): ListedObject => ({
    kind: "Namespace",
    metadata: { name, labels },
});
const helm = (release: string, namespace: string) => ({
    "meta.helm.sh/release-name": release,
    "meta.helm.sh/release-namespace": namespace,
});
const crd = (name: string, annotations?: Record<string, string>): ListedObject => ({
    kind: "CustomResourceDefinition",
    metadata: { name, annotations },
    spec: { group: name.slice(name.indexOf(".") + 1) },
});

/** A cluster of `objects`, recording what was listed. */
function cluster(objects: Record<string, ListedObject[] | null>): { list: ListObjects; asked: string[] } {
    const asked: string[] = [];
    const list: ListObjects = async (_target, resources) => {
        asked.push(resources);
        return objects[resources] ?? [];
    };
    return { list, asked };
}

describe("installs the stack did not make", () => {
    it("are a namespace of the program's names without this stack's label, and CRDs of another release", () => {
        const found = foreignInstalls(
            [
                ns("kyverno"),
                ns("flux-system", { [stackLabelKey]: "gitops-kyverno.production" }),
                ns("cert-manager", { [stackLabelKey]: ours }),
            ],
            [
                crd("certificates.cert-manager.io", helm("certs", "security")),
                crd("issuers.cert-manager.io"),
                crd("clusterpolicies.kyverno.io", helm("kyverno", "kyverno")),
                crd("widgets.example.com"),
            ],
            ours,
        );
        assert.deepStrictEqual(
            found.map((f) => `${f.install.title}: ${f.what}`),
            [
                `Kyverno: namespace kyverno (no ${stackLabelKey} label)`,
                "cert-manager: CRD certificates.cert-manager.io (Helm release certs in namespace security)",
                "cert-manager: CRD issuers.cert-manager.io (not installed by Helm)",
                "Flux: namespace flux-system (labelled for stack gitops-kyverno.production)",
            ],
        );
    });

    it("are not this stack's own namespaces, nor CRDs its releases kept after a destroy", () => {
        const mine = { [stackLabelKey]: ours };
        const found = foreignInstalls(
            [ns("kyverno", mine), ns("cert-manager", mine), ns("default")],
            [
                crd("fluxinstances.fluxcd.controlplane.io", helm("flux-operator", "flux-system")),
                crd("clusterpolicies.kyverno.io", helm("kyverno", "kyverno")),
            ],
            ours,
        );
        assert.deepStrictEqual(found, []);
    });

    it("label values fit Kubernetes' 63 characters", () => {
        assert.strictEqual(stackLabelValue("gitops-kyverno", "staging"), "gitops-kyverno.staging");
        const long = stackLabelValue("p".repeat(40), `team/${"s".repeat(40)}`);
        assert.ok(long.length <= 63 && /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(long), long);
    });

    describe("the check's provider", () => {
        const inputs = { stack: "staging", stackLabel: ours, context: "prod-eks" };

        it("refuses a new stack on such a cluster, naming each object and the ways on", async () => {
            const c = cluster({
                namespaces: [ns("kyverno")],
                customresourcedefinitions: [crd("certificates.cert-manager.io")],
            });
            const provider = new ExistingInstallsProvider(c.list);
            await assert.rejects(provider.check({}, inputs), (e: Error) => {
                assert.match(
                    e.message,
                    /^This cluster already has Kyverno and cert-manager installed, not by this stack\. Nothing was changed\./,
                );
                assert.ok(e.message.includes(`  - Kyverno: namespace kyverno (no ${stackLabelKey} label)`), e.message);
                assert.ok(
                    e.message.includes("  - cert-manager: CRD certificates.cert-manager.io (not installed by Helm)"),
                    e.message,
                );
                assert.ok(
                    e.message.includes(
                        `  kubectl --context prod-eks label namespace kyverno ${stackLabelKey}=${ours} --overwrite`,
                    ),
                    e.message,
                );
                return true;
            });
            assert.deepStrictEqual(c.asked.sort(), ["customresourcedefinitions", "namespaces"]);
        });

        it("passes a clean cluster, and reads nothing once the stack holds the check", async () => {
            const clean = cluster({ namespaces: [ns("default")], customresourcedefinitions: [] });
            assert.deepStrictEqual(await new ExistingInstallsProvider(clean.list).check({}, inputs), { inputs });
            const later = cluster({ namespaces: [ns("kyverno")] });
            await new ExistingInstallsProvider(later.list).check(inputs, inputs);
            assert.deepStrictEqual(later.asked, [], "a stack that already passed was checked again");
        });
    });
});

describe("cert-manager's CRDs on destroy", () => {
    const guard = (mode: "delete" | "keep"): CrdsGuardInputs => ({
        crdsOnDestroy: mode,
        keepCommand: "pulumi config set certManagerCrdsOnDestroy keep --stack staging",
    });
    const cert = (namespace: string, name: string, labels?: Record<string, string>): ListedObject => ({
        kind: "Certificate",
        metadata: { name, namespace, labels },
    });

    it("are not removed while objects this stack did not create are left, naming them and the setting", async () => {
        const c = cluster({
            [guardedResources]: [cert("shop", "tls"), { kind: "ClusterIssuer", metadata: { name: "letsencrypt" } }],
        });
        await assert.rejects(new CrdsGuardProvider(c.list).delete("id", guard("delete")), (e: Error) => {
            assert.match(
                e.message,
                /^cert-manager was not removed: its CRDs go with it, and with them 2 object\(s\) this stack did not create:/,
            );
            assert.ok(e.message.includes("  - Certificate shop/tls\n  - ClusterIssuer letsencrypt\n"), e.message);
            assert.ok(
                e.message.includes("  pulumi config set certManagerCrdsOnDestroy keep --stack staging"),
                e.message,
            );
            return true;
        });
    });

    it("go when only what Flux applied from the fleet is left, or nothing", async () => {
        const fluxOwned = cluster({
            [guardedResources]: [cert("podinfo", "tls", { "kustomize.toolkit.fluxcd.io/namespace": "flux-system" })],
        });
        await new CrdsGuardProvider(fluxOwned.list).delete("id", guard("delete"));
        const gone = cluster({ [guardedResources]: null });
        await new CrdsGuardProvider(gone.list).delete("id", guard("delete"));
        assert.deepStrictEqual(gone.asked, [guardedResources]);
    });

    it("stay with certManagerCrdsOnDestroy keep, so nothing is read", async () => {
        const c = cluster({ [guardedResources]: [cert("shop", "tls")] });
        await new CrdsGuardProvider(c.list).delete("id", guard("keep"));
        assert.deepStrictEqual(c.asked, []);
    });

    it("follow the setting: the chart's crds.keep and the guard's mode; a bad value is refused", async () => {
        for (const mode of ["delete", "keep"] as const) {
            const registered = installMocks(
                "staging",
                githubConfig(mode === "keep" ? { certManagerCrdsOnDestroy: "keep" } : {}),
                ["github:token"],
            );
            await runProgram();
            const release = byType(registered, "kubernetes:helm.sh/v3:Release").filter(
                (r) => r.inputs.name === "cert-manager",
            );
            const values =
                release.length === 1
                    ? release[0].inputs.values
                    : one(registered, "kubernetes-cert-manager:index:CertManager").inputs.helmOptions.values;
            assert.strictEqual(values.crds.keep, mode === "keep", mode);
            assert.strictEqual(one(registered, dynamicType("CertManagerCrdsGuard")).inputs.crdsOnDestroy, mode);
        }
        const problem = problemOf(settingsProblems({ certManagerCrdsOnDestroy: "retain" }), "certManagerCrdsOnDestroy");
        assert.match(
            problem,
            /certManagerCrdsOnDestroy must be delete or keep, not "retain"\. Fix: pulumi config set certManagerCrdsOnDestroy keep --stack staging$/,
        );
    });
});

describe("the check in the program", () => {
    const seen: {
        type: string;
        name: string;
        resource: pulumi.Resource;
        dependsOn: pulumi.Resource[];
        parent?: pulumi.Resource;
        props: any;
    }[] = [];
    before(async () => {
        installMocks("staging", githubConfig(), ["github:token"]);
        const capture: pulumi.ResourceTransformation = (args) => {
            const deps = args.opts.dependsOn;
            const dependsOn = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
            seen.push({
                type: args.type,
                name: args.name,
                resource: args.resource,
                dependsOn,
                parent: args.opts.parent,
                props: args.props,
            });
            return undefined;
        };
        new GitOpsEnvironment("staging", { settings: loadSettings("staging") }, { transformations: [capture] });
        await settle();
    });

    it("comes before everything that changes GitHub or the cluster", () => {
        const check = seen.find((s) => s.type === dynamicType("ExistingInstalls"));
        assert.ok(check, "no ExistingInstalls registered");
        const byResource = new Map(seen.map((s) => [s.resource, s]));
        const after = (s: (typeof seen)[number] | undefined, depth = 0): boolean =>
            s !== undefined &&
            depth < 50 &&
            (s.dependsOn.includes(check.resource) ||
                s.dependsOn.some((d) => after(byResource.get(d), depth + 1)) ||
                after(s.parent && byResource.get(s.parent), depth + 1));
        // Only state and keys come first: the providers, the environment component, and the generated deploy key.
        const first = seen.filter(
            (s) =>
                s !== check &&
                !after(s) &&
                !s.type.startsWith("pulumi:providers:") &&
                s.type !== "gitops-kyverno:index:GitOpsEnvironment",
        );
        assert.deepStrictEqual(
            first.map((s) => s.type).filter((t) => !t.startsWith("tls:") && t !== "gitops-kyverno:fleet:DeployKey"),
            [],
            "created without waiting for the check",
        );
    });

    it("labels the namespaces it creates as this stack's", () => {
        const names = seen
            .filter((s) => s.type === "kubernetes:core/v1:Namespace")
            .map((s) => [s.props.metadata.name, s.props.metadata.labels?.[stackLabelKey]]);
        for (const name of ["kyverno", "cert-manager", "flux-system"]) {
            assert.deepStrictEqual(
                names.find(([n]) => n === name),
                [name, ours],
                name,
            );
        }
    });
});
