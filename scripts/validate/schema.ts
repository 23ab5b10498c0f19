// Strict schema validation by the real API server: every object is applied
// with a server-side dry run and strict field validation to a local
// kube-apiserver that serves the Flux and Kyverno CRDs, so an unknown or
// misspelled field fails as it would in the cluster.
import * as path from "node:path";
import { run, tail, tool } from "./exec";
import { TENANT, TENANT_LABEL } from "./admission";
import { Built } from "./builds";
import { Report } from "./report";
import { definedIn, describe, KubeObject } from "./trees";

export class SchemaChecker {
    private readonly namespaces = new Set<string>();

    constructor(private readonly kubeconfig: string) {}

    private kubectl(args: string[], input?: string) {
        return run(tool("kubectl"), args, { input, env: { KUBECONFIG: this.kubeconfig } });
    }

    /** Installs the CRDs for real and waits until the API server serves them. */
    installCrds(files: string[]): void {
        for (const f of files) {
            // Server-side: Kyverno's CRDs exceed the client-side apply annotation limit.
            const r = this.kubectl(["apply", "--server-side", "--field-manager=validate", "-f", f]);
            if (r.code !== 0) throw new Error(`installing CRD ${path.basename(f)}: ${tail(r.stderr)}`);
        }
        const r = this.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
        if (r.code !== 0) throw new Error(`CRDs not established: ${tail(r.stderr)}`);
    }

    /** Validates every object; Namespaces are created for real so namespaced objects can be dry-run in them. */
    check(built: Built[], report: Report): void {
        const all = built.flatMap((b) =>
            b.objects.map((o) => ({ source: b.source, root: b.root, admitted: b.admitted === true, o })),
        );
        const byNamespaceFirst = [...all.filter((x) => isNamespace(x.o)), ...all.filter((x) => !isNamespace(x.o))];
        for (const { source, root, admitted, o } of byNamespaceFirst) {
            const check = "schema (strict, server-side)";
            const ns = o.metadata?.namespace;
            if (ns && !isNamespace(o)) this.ensureNamespace(ns);
            const args = [
                "apply",
                "--server-side",
                "--field-manager=validate",
                "--validate=strict",
                "-o",
                "name",
                "-f",
                "-",
            ];
            if (!isNamespace(o)) args.push("--dry-run=server");
            const r = this.kubectl(args, JSON.stringify(o));
            const psa = /would violate PodSecurity.*/.exec(r.stderr);
            if (r.code === 0 && admitted && psa) {
                const why = `the ${TENANT} tenant's workloads must meet PodSecurity "restricted" once Kyverno has mutated them`;
                const files = definedIn(root, o);
                const origin = files.length ? `defined in ${files.join(", ")}\n` : "";
                report.fail({
                    check: "PodSecurity restricted (admitted)",
                    file: source,
                    object: describe(o),
                    message: `${origin}${why}\n${psa[0]}`,
                });
                continue;
            }
            if (r.code !== 0) {
                const files = definedIn(root, o);
                const origin = files.length ? `defined in ${files.join(", ")}\n` : "";
                report.fail({ check, file: source, object: describe(o), message: origin + tail(r.stderr || r.stdout) });
                continue;
            }
            if (isNamespace(o) && o.metadata?.name) this.namespaces.add(o.metadata.name);
            if (isNamespace(o) && o.metadata?.name && tenantOf(o) === TENANT) this.restrict(o.metadata.name);
            report.pass(check, `${describe(o)} from ${source}`);
        }
    }

    /** PodSecurity admission then warns on every workload in ns that is not "restricted". */
    private restrict(ns: string): void {
        const r = this.kubectl([
            "label",
            "--overwrite",
            "namespace",
            ns,
            "pod-security.kubernetes.io/warn=restricted",
            "pod-security.kubernetes.io/warn-version=latest",
        ]);
        if (r.code !== 0) throw new Error(`labelling namespace ${ns}: ${r.stderr}`);
    }

    private ensureNamespace(ns: string): void {
        if (this.namespaces.has(ns)) return;
        const r = this.kubectl(["create", "namespace", ns]);
        if (r.code !== 0 && !/AlreadyExists/.test(r.stderr)) throw new Error(`creating namespace ${ns}: ${r.stderr}`);
        this.namespaces.add(ns);
    }
}

function isNamespace(o: KubeObject): boolean {
    return o.kind === "Namespace" && o.apiVersion === "v1";
}

function tenantOf(o: KubeObject): string | undefined {
    return (o.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[TENANT_LABEL];
}
