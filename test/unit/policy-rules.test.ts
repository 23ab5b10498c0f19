// Each rule of the policy pack (policy/rules) on resources that keep it and that break
// it, and the secret paths the pack records from what the engine sends.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { defaultConfig, type PackResource } from "../../policy/resource";
import { rules } from "../../policy/rules";
import { recordedSecretPaths, recordSecretPaths, secretPathsIn } from "../../policy/secret-inputs";

const rule = (name: string) => rules.find((r) => r.name === name)!;
const res = (type: string, props: Record<string, unknown>, extra: Partial<PackResource> = {}): PackResource => ({
    type,
    name: "r",
    stack: "production",
    props,
    secretPaths: [],
    ...extra,
});
const check = (name: string, r: PackResource) => rule(name).check(r, defaultConfig);
const release = "kubernetes:helm.sh/v3:Release";
const certManager = "kubernetes-cert-manager:index:CertManager";

function fleetFiles(edit: (content: string) => string = (c) => c): Record<string, string> {
    const root = path.join(__dirname, "..", "..", "fleet");
    const files: Record<string, string> = {};
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, e.name);
            if (e.isDirectory()) walk(full);
            else files[path.relative(root, full)] = fs.readFileSync(full, "utf8");
        }
    };
    walk(path.join(root, "infrastructure"));
    for (const f of Object.keys(files)) if (f.endsWith("resolve-image-digest.yaml")) files[f] = edit(files[f]);
    return files;
}

describe("policy pack rules", function () {
    it("every rule has a unique name and a level", function () {
        assert.equal(new Set(rules.map((r) => r.name)).size, rules.length);
        assert.deepEqual(
            rules.filter((r) => r.enforcementLevel === "mandatory").map((r) => r.name),
            [
                "chart-versions-pinned",
                "kyverno-ha-in-production",
                "deploy-key-read-only",
                "credentials-are-secrets",
                "digest-policy-fails-closed",
            ],
        );
    });

    it("chart-versions-pinned: exact versions pass, ranges, tags and none fail", function () {
        for (const version of ["3.9.1", "v1.21.2", "0.59.0-rc.1"])
            assert.deepEqual(check("chart-versions-pinned", res(release, { chart: "kyverno", version })), []);
        for (const version of ["^3.9.0", "3.9", "latest", "", undefined]) {
            assert.equal(
                check("chart-versions-pinned", res(release, { chart: "kyverno", version })).length,
                1,
                String(version),
            );
        }
        assert.match(
            check("chart-versions-pinned", res(release, { chart: "oci://mirror/cert-manager" }))[0],
            /cert-manager of r has no version/,
        );
        // A component reaches the pack without inputs: nothing to judge there (its child Release is checked).
        assert.deepEqual(check("chart-versions-pinned", res(certManager, {})), []);
        assert.deepEqual(check("chart-versions-pinned", res(release, { chart: "kyverno", version: unknownValue })), []);
    });

    it("kyverno-ha-in-production: 3+ replicas on production, anything on staging, the production stacks configurable", function () {
        const kyverno = (replicas?: number) => ({
            chart: "oci://mirror/charts/kyverno",
            values: { admissionController: { replicas } },
        });
        assert.deepEqual(check("kyverno-ha-in-production", res(release, kyverno(3))), []);
        assert.match(check("kyverno-ha-in-production", res(release, kyverno(1)))[0], /runs 1 admission controller/);
        assert.match(
            check("kyverno-ha-in-production", res(release, { chart: "kyverno" }))[0],
            /the chart's default of 1/,
        );
        assert.deepEqual(check("kyverno-ha-in-production", res(release, kyverno(1), { stack: "staging" })), []);
        assert.deepEqual(check("kyverno-ha-in-production", res(release, { chart: "cert-manager" })), []);
        assert.equal(
            rule("kyverno-ha-in-production").check(res(release, kyverno(1), { stack: "prod-eu" }), {
                productionStacks: ["prod-eu"],
            }).length,
            1,
        );
    });

    it("deploy-key-read-only: only readOnly true passes", function () {
        const key = "pulumi-nodejs:dynamic/gitops-kyverno:GitHubDeployKey";
        assert.deepEqual(check("deploy-key-read-only", res(key, { readOnly: true })), []);
        assert.equal(check("deploy-key-read-only", res(key, { readOnly: false })).length, 1);
        assert.equal(check("deploy-key-read-only", res(key, {})).length, 1);
    });

    it("credentials-are-secrets: credential inputs and a Secret's data must be secret paths", function () {
        const access = "pulumi-nodejs:dynamic/gitops-kyverno:DeployKeyAccess";
        assert.match(
            check("credentials-are-secrets", res(access, { privateKey: "k", url: "ssh://x" }))[0],
            /input privateKey is a plaintext credential/,
        );
        assert.deepEqual(
            check("credentials-are-secrets", res(access, { privateKey: "k" }, { secretPaths: ["privateKey"] })),
            [],
        );
        assert.deepEqual(check("credentials-are-secrets", res(access, { privateKey: unknownValue })), []);
        assert.equal(check("credentials-are-secrets", res("x:y:Z", { auth: { githubToken: "t" } })).length, 1);
        const secret = "kubernetes:core/v1:Secret";
        assert.equal(
            check("credentials-are-secrets", res(secret, { stringData: { known_hosts: "h", identity: "k" } })).length,
            2,
        );
        assert.deepEqual(
            check(
                "credentials-are-secrets",
                res(secret, { stringData: { known_hosts: "h" } }, { secretPaths: ["stringData"] }),
            ),
            [],
        );
    });

    it("digest-policy-fails-closed: the committed tree fails closed; Ignore, an audit action, no policy or a forced Ignore fail", function () {
        const tree = "pulumi-nodejs:dynamic/gitops-kyverno:FleetFiles";
        assert.deepEqual(check("digest-policy-fails-closed", res(tree, { files: fleetFiles() })), []);
        const ignore = check(
            "digest-policy-fails-closed",
            res(tree, { files: fleetFiles((c) => c.replace("failurePolicy: Fail", "failurePolicy: Ignore")) }),
        );
        assert.match(
            ignore.join("\n"),
            /ClusterPolicy resolve-image-digest .* spec\.webhookConfiguration\.failurePolicy is "Ignore"/,
        );
        assert.match(ignore.join("\n"), /MutatingPolicy resolve-image-digest .* spec\.failurePolicy is "Ignore"/);
        const unset = check(
            "digest-policy-fails-closed",
            res(tree, { files: fleetFiles((c) => c.replace(/\n\s*failurePolicy: Fail/, "")) }),
        );
        assert.match(unset.join("\n"), /failurePolicy is not set/);
        const cel = {
            "infrastructure/configs/cel/digest.yaml":
                "apiVersion: policies.kyverno.io/v1\nkind: ImageValidatingPolicy\nmetadata: {name: d}\nspec: {failurePolicy: Fail, validationActions: [Audit]}\n",
        };
        assert.match(
            check("digest-policy-fails-closed", res(tree, { files: { ...fleetFiles(), ...cel } })).join("\n"),
            /validationActions \[Audit\] lack Deny/,
        );
        assert.match(
            check("digest-policy-fails-closed", res(tree, { files: { "apps/x.yaml": "a: 1\n" } }))[0],
            /holds no digest policy/,
        );
        const forced = { chart: "kyverno", values: { features: { forceFailurePolicyIgnore: { enabled: true } } } };
        assert.equal(check("digest-policy-fails-closed", res(release, forced)).length, 1);
    });

    it("advisory rules: deleteRepositoryOnDestroy and crds.keep are reported when chosen", function () {
        const repoType = "pulumi-nodejs:dynamic/gitops-kyverno:GitHubRepository";
        assert.equal(check("repository-deleted-on-destroy", res(repoType, { deleteOnDestroy: true })).length, 1);
        assert.deepEqual(check("repository-deleted-on-destroy", res(repoType, { deleteOnDestroy: false })), []);
        assert.equal(
            check("cert-manager-crds-kept", res(release, { chart: "cert-manager", values: { crds: { keep: true } } }))
                .length,
            1,
        );
        assert.deepEqual(
            check("cert-manager-crds-kept", res(release, { chart: "cert-manager", values: { crds: { keep: false } } })),
            [],
        );
        assert.deepEqual(check("cert-manager-crds-kept", res(certManager, {})), []);
    });

    it("records which inputs the engine sent as secrets, which @pulumi/policy alone loses", function () {
        const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });
        const wire = { url: "ssh://x", privateKey: secret("k"), nested: { list: ["a", secret("t")] } };
        assert.deepEqual(secretPathsIn(wire).sort(), ["nested.list.1", "privateKey"]);
        recordSecretPaths();
        const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
            deserializeProperties: (s: Struct, proxy: boolean) => Record<string | symbol, unknown>;
        };
        const props = deserializeProperties(Struct.fromJavaScript(wire as never), false);
        assert.equal(props.privateKey, "k");
        assert.deepEqual(recordedSecretPaths(props).sort(), ["nested.list.1", "privateKey"]);
        assert.deepEqual(Object.keys(props).sort(), ["nested", "privateKey", "url"]);
    });
});
