// Strict schema validation by the real API server: every object is applied
// with a server-side dry run and strict field validation to a local
// kube-apiserver that serves the Flux and Kyverno CRDs, so an unknown or
// misspelled field fails as it would in the cluster.
import * as path from "node:path";
import type { KubeCluster } from "../../local-cluster/control-plane";
import { KubeRequestError } from "../../local-cluster/kube-client";
import { ApiServer } from "./api-server";
import { run, tail, tool } from "./exec";
import { TENANT, TENANT_LABEL } from "./admission";
import { Built } from "./builds";
import { Report } from "./report";
import { definedIn, describe, KubeObject } from "./trees";

const CRD_ESTABLISHED_SECONDS = 120;

export class SchemaChecker {
    private readonly namespaces = new Set<string>(["default"]);

    constructor(
        private readonly cluster: KubeCluster,
        private readonly api: ApiServer,
    ) {}

    private kubectl(args: string[], input?: string) {
        return run(tool("kubectl"), args, { input, env: { KUBECONFIG: this.cluster.kubeconfig } });
    }

    /** Installs the CRDs for real and waits until the API server serves them. */
    async installCrds(files: string[]): Promise<void> {
        // Server-side: Kyverno's CRDs exceed the client-side apply annotation limit. One kubectl for all.
        const applied = this.kubectl([
            "apply",
            "--server-side",
            "--field-manager=validate",
            ...files.flatMap((f) => ["-f", f]),
        ]);
        if (applied.code !== 0)
            throw new Error(
                `installing the CRDs (${files.map((f) => path.basename(f)).join(", ")}): ${tail(applied.stderr)}`,
            );
        // Polled, not `kubectl wait`: a CRD the apiextensions controller has not reached yet has no
        // conditions at all, and kubectl wait fails on it at once instead of waiting.
        const deadline = Date.now() + CRD_ESTABLISHED_SECONDS * 1000;
        for (;;) {
            const crds = await this.api.kube.list("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
            const pending = crds.filter(
                (c) =>
                    !((c.status?.conditions ?? []) as { type: string; status: string }[]).some(
                        (k) => k.type === "Established" && k.status === "True",
                    ),
            );
            if (pending.length === 0) return;
            if (Date.now() > deadline)
                throw new Error(
                    `CRDs not established within ${CRD_ESTABLISHED_SECONDS}s: ${pending.map((c) => c.metadata.name).join(", ")}`,
                );
            await new Promise((r) => setTimeout(r, 200));
        }
    }

    /** Validates every object; Namespaces are created for real so namespaced objects can be dry-run in them. */
    async check(built: Built[], report: Report): Promise<void> {
        await this.api.discover();
        const all = built.flatMap((b) =>
            b.objects.map((o) => ({ source: b.source, root: b.root, admitted: b.admitted === true, o })),
        );
        const byNamespaceFirst = [...all.filter((x) => isNamespace(x.o)), ...all.filter((x) => !isNamespace(x.o))];
        for (const { source, root, admitted, o } of byNamespaceFirst) {
            const check = "schema (strict, server-side)";
            const ns = o.metadata?.namespace;
            if (ns && !isNamespace(o)) await this.ensureNamespace(ns);
            const r = await this.api.apply(o, { persist: isNamespace(o), strict: true });
            const psa = "warnings" in r ? r.warnings.find((w) => w.startsWith("would violate PodSecurity")) : undefined;
            if (admitted && psa) {
                const why = `the ${TENANT} tenant's workloads must meet PodSecurity "restricted" once Kyverno has mutated them`;
                const files = definedIn(root, o);
                const origin = files.length ? `defined in ${files.join(", ")}\n` : "";
                report.fail({
                    check: "PodSecurity restricted (admitted)",
                    file: source,
                    object: describe(o),
                    message: `${origin}${why}\n${psa}`,
                });
                continue;
            }
            if ("error" in r) {
                const files = definedIn(root, o);
                const origin = files.length ? `defined in ${files.join(", ")}\n` : "";
                report.fail({ check, file: source, object: describe(o), message: origin + tail(r.error) });
                continue;
            }
            if (isNamespace(o) && o.metadata?.name) this.namespaces.add(o.metadata.name);
            if (isNamespace(o) && o.metadata?.name && tenantOf(o) === TENANT) await this.restrict(o.metadata.name);
            report.pass(check, `${describe(o)} from ${source}`);
        }
    }

    /** PodSecurity admission then warns on every workload in ns that is not "restricted". */
    private async restrict(ns: string): Promise<void> {
        const labels = {
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/warn-version": "latest",
        };
        await this.api.kube.patch(`/api/v1/namespaces/${ns}`, { metadata: { labels } });
    }

    private async ensureNamespace(ns: string): Promise<void> {
        if (this.namespaces.has(ns)) return;
        const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } };
        await this.api.kube.create("/api/v1/namespaces", namespace).catch((err: unknown) => {
            if (!(err instanceof KubeRequestError && err.status === 409)) throw err;
        });
        this.namespaces.add(ns);
    }
}

function isNamespace(o: KubeObject): boolean {
    return o.kind === "Namespace" && o.apiVersion === "v1";
}

function tenantOf(o: KubeObject): string | undefined {
    return (o.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[TENANT_LABEL];
}
