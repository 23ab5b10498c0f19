#!/usr/bin/env node
// @ts-check
// A stand-in for the `kubernetes-cert-manager` component provider (v0.2.0),
// written for this project because the real provider's Go module is not
// served by the module proxy here. Like the real one, it builds the
// kubernetes-cert-manager:index:CertManager component as one Helm release of
// the cert-manager chart: `helmOptions` become the release's settings and
// every other input becomes the chart's values. The engine starts this file as
// `pulumi-resource-kubernetes-cert-manager`; @pulumi/pulumi and
// @pulumi/kubernetes are loaded from the program's folder.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");

const fromProgram = createRequire(path.join(process.cwd(), "index.js"));
/** @type {typeof import("@pulumi/pulumi")} */
const pulumi = fromProgram("@pulumi/pulumi");
/** @type {typeof import("@pulumi/kubernetes")} */
const k8s = fromProgram("@pulumi/kubernetes");
/** @type {typeof import("@pulumi/pulumi/provider")} */
const provider = fromProgram("@pulumi/pulumi/provider");

const VERSION = "0.2.0";
const TYPE = "kubernetes-cert-manager:index:CertManager";
// The upstream chart repository, used when helmOptions names none.
const DEFAULT_REPO = "https://charts.jetstack.io";
const RELEASE_KEYS = [
    "allowNullValues",
    "atomic",
    "chart",
    "cleanupOnFail",
    "compat",
    "createNamespace",
    "dependencyUpdate",
    "description",
    "devel",
    "disableCRDHooks",
    "disableOpenapiValidation",
    "disableWebhooks",
    "forceUpdate",
    "keyring",
    "lint",
    "manifest",
    "maxHistory",
    "name",
    "namespace",
    "postrender",
    "recreatePods",
    "renderSubchartNotes",
    "replace",
    "repositoryOpts",
    "resetValues",
    "resourceNames",
    "reuseValues",
    "skipAwait",
    "skipCrds",
    "takeOwnership",
    "timeout",
    "valueYamlFiles",
    "verify",
    "version",
    "waitForJobs",
];

class CertManager extends pulumi.ComponentResource {
    /** @param {string} name @param {Record<string, any>} inputs @param {any} opts */
    constructor(name, inputs, opts) {
        super(TYPE, name, {}, opts);
        const { helmOptions, ...chartValues } = inputs;
        /** @type {Record<string, any>} */
        const helmInput = helmOptions ?? {};
        const helm = pulumi.output(helmInput);
        /** @type {Record<string, any>} */
        const args = {};
        for (const key of RELEASE_KEYS) args[key] = helm.apply((h) => h?.[key]);
        args.chart = helm.apply((h) => h?.chart ?? "cert-manager");
        args.repositoryOpts = helm.apply((h) => h?.repositoryOpts ?? { repo: DEFAULT_REPO });
        args.values = pulumi
            .all({ h: helm, v: pulumi.output(chartValues) })
            .apply(({ h, v }) => ({ ...(h?.values ?? {}), ...v }));
        const releaseArgs = /** @type {import("@pulumi/kubernetes").helm.v3.ReleaseArgs} */ (
            /** @type {unknown} */ (args)
        );
        const release = new k8s.helm.v3.Release(name, releaseArgs, { parent: this });
        this.status = release.status;
        this.registerOutputs({ status: this.status });
    }
}

/** @type {import("@pulumi/pulumi/provider").Provider} */
const certManager = {
    version: VERSION,
    async construct(name, type, inputs, options) {
        if (type !== TYPE) throw new Error(`unknown resource type ${type}`);
        const component = new CertManager(name, inputs, options);
        return { urn: component.urn, state: { status: component.status } };
    },
};

provider.main(certManager, process.argv.slice(2));
