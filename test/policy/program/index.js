// The resources the policy pack's rules are about, with the real program's types and
// input shapes: Kyverno's Helm release and the cert-manager component (from a Helm repository the
// test serves), Flux's deploy key, a credential-taking resource, the fleet tree
// (fleet/ as the program commits it) and the repository. Config `break` names the
// rules to break; a preview needs no cluster (the provider's cluster is unreachable).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const pulumi = require("@pulumi/pulumi");
const k8s = require("@pulumi/kubernetes");
const certmanager = require("@pulumi/kubernetes-cert-manager");

const config = new pulumi.Config("fixture");
const broken = new Set((config.get("break") ?? "").split(",").filter(Boolean));
const repo = config.require("helmRepo");

/** A dynamic provider that does nothing: a preview only checks and diffs. */
const noop = {
    async create(inputs) {
        return { id: "fixture", outs: inputs };
    },
};
class Dynamic extends pulumi.dynamic.Resource {
    constructor(type, name, props) {
        super(noop, name, props, {}, "gitops-kyverno", type);
    }
}

const provider = new k8s.Provider("cluster", { kubeconfig: config.require("kubeconfig") });
const kyvernoValues = { admissionController: { replicas: broken.has("kyverno-ha-in-production") ? 1 : 3 } };
if (broken.has("digest-policy-fails-closed:kyverno"))
    kyvernoValues.features = { forceFailurePolicyIgnore: { enabled: true } };
new k8s.helm.v3.Release(
    "kyverno",
    {
        name: "kyverno",
        namespace: "kyverno",
        chart: "kyverno",
        repositoryOpts: { repo },
        version: "3.9.1",
        values: kyvernoValues,
    },
    { provider },
);

// A component reaches the pack without its inputs; its child Release carries them.
new certmanager.CertManager(
    "cert-manager",
    {
        helmOptions: {
            name: "cert-manager",
            namespace: "cert-manager",
            chart: "cert-manager",
            repositoryOpts: { repo },
            version: "v1.21.2",
            values: { crds: { enabled: true, keep: broken.has("advisory") } },
        },
    },
    { providers: { kubernetes: provider } },
);

new Dynamic("GitHubDeployKey", "flux-deploy-key", {
    owner: "acme",
    repository: "fleet-infra",
    title: "flux-production",
    key: "ssh-ed25519 AAAA fixture",
    readOnly: !broken.has("deploy-key-read-only"),
});

const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nfixture\n-----END OPENSSH PRIVATE KEY-----\n";
new Dynamic("DeployKeyAccess", "deploy-key-access", {
    url: "ssh://git@127.0.0.1/fleet.git",
    privateKey: broken.has("credentials-are-secrets") ? privateKey : pulumi.secret(privateKey),
});

// The tree as committed: every file under fleet/infrastructure, the digest policy opened on request.
const fleetDir = config.require("fleetDir");
const files = {};
const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else files[path.relative(fleetDir, full)] = fs.readFileSync(full, "utf8");
    }
};
walk(path.join(fleetDir, "infrastructure"));
if (broken.has("digest-policy-fails-closed")) {
    for (const [file, content] of Object.entries(files)) {
        if (/resolve-image-digest\.yaml$/.test(file))
            files[file] = content.replace(/failurePolicy: Fail/g, "failurePolicy: Ignore");
    }
}
new Dynamic("FleetFiles", "fleet-files", { branch: "main", environment: "production", files });

new Dynamic("GitHubRepository", "fleet-infra", { name: "fleet-infra", deleteOnDestroy: broken.has("advisory") });
