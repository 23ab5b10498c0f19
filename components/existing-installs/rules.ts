// What counts as an install this stack did not make. The program installs
// Kyverno, cert-manager and the Flux Operator with Helm into namespaces of fixed
// names, and the Kubernetes provider (4.25, server-side apply) creates an object
// that already exists by taking it over: a namespace of someone else's install
// would become this stack's, and its destroy would delete it. So before the
// first install the cluster must hold none of them, except what this stack left:
// namespaces labelled with the stack, and CRDs of this stack's Helm releases
// (the charts keep some on uninstall, and Helm takes them back on install).
import type { ListedObject } from "./cluster-reads";

export const stackLabelKey = "gitops-kyverno.io/stack";

export interface Install {
    /** What a user calls it. */
    title: string;
    namespace: string;
    /** The Helm release the program installs it as, in `namespace`. */
    release: string;
    /** API groups of its CRDs. */
    crdGroups: string[];
    /** How to remove another install of it, as its docs say. */
    uninstall: string;
}

export const installs: Install[] = [
    {
        title: "Kyverno",
        namespace: "kyverno",
        release: "kyverno",
        crdGroups: ["kyverno.io", "policies.kyverno.io", "reports.kyverno.io", "wgpolicyk8s.io"],
        uninstall: "helm uninstall <release> -n <namespace>, then delete the kyverno.io CRDs",
    },
    {
        title: "cert-manager",
        namespace: "cert-manager",
        release: "cert-manager",
        crdGroups: ["cert-manager.io", "acme.cert-manager.io"],
        uninstall: "helm uninstall <release> -n <namespace> (or kubectl delete -f the cert-manager.yaml it came from)",
    },
    {
        title: "Flux",
        namespace: "flux-system",
        release: "flux-operator",
        crdGroups: ["fluxcd.controlplane.io"],
        uninstall: "flux uninstall (or helm uninstall flux-operator -n flux-system)",
    },
];

/** A label value naming the stack: at most 63 characters of [A-Za-z0-9._-]. */
export function stackLabelValue(project: string, stack: string): string {
    const value = `${project}.${stack}`.replace(/[^A-Za-z0-9._-]/g, "-");
    return value.length <= 63 ? value : value.slice(0, 63).replace(/[^A-Za-z0-9]+$/, "");
}

export interface Finding {
    install: Install;
    /** One object, and why it is not this stack's. */
    what: string;
}

export function foreignInstalls(namespaces: ListedObject[], crds: ListedObject[], stackLabel: string): Finding[] {
    const found: Finding[] = [];
    for (const install of installs) {
        const ns = namespaces.find((n) => n.metadata.name === install.namespace);
        const owner = ns?.metadata.labels?.[stackLabelKey];
        if (ns && owner !== stackLabel) {
            const why = owner === undefined ? `no ${stackLabelKey} label` : `labelled for stack ${owner}`;
            found.push({ install, what: `namespace ${install.namespace} (${why})` });
        }
        for (const crd of crds.filter((c) => install.crdGroups.includes(c.spec?.group ?? ""))) {
            const a = crd.metadata.annotations ?? {};
            const release = a["meta.helm.sh/release-name"];
            const releaseNs = a["meta.helm.sh/release-namespace"];
            if (release === install.release && releaseNs === install.namespace) continue;
            const by =
                release === undefined ? "not installed by Helm" : `Helm release ${release} in namespace ${releaseNs}`;
            found.push({ install, what: `CRD ${crd.metadata.name} (${by})` });
        }
    }
    return found;
}

/** The error for `found`: what is there, that nothing changed, and the ways on. */
export function foreignInstallsMessage(found: Finding[], stackLabel: string, contextFlag: string): string {
    const titles = [...new Set(found.map((f) => f.install))];
    const lines = [
        `This cluster already has ${titles.map((i) => i.title).join(" and ")} installed, not by this stack. Nothing was changed.`,
        "Installing over it would take its objects over, and `pulumi destroy` would then delete them:",
        ...found.map((f) => `  - ${f.install.title}: ${f.what}`),
        "Either use a cluster without them, or remove them first:",
        ...titles.map((i) => `  - ${i.title}: ${i.uninstall}`),
    ];
    const ownNamespaces = [
        ...new Set(found.filter((f) => f.what.startsWith("namespace ")).map((f) => f.install.namespace)),
    ];
    if (ownNamespaces.length > 0) {
        lines.push(
            "If they are this stack's own (installed by it before this check existed), label them as its own and run again:",
            `  kubectl${contextFlag} label namespace ${ownNamespaces.join(" ")} ${stackLabelKey}=${stackLabel} --overwrite`,
        );
    }
    return lines.join("\n");
}
