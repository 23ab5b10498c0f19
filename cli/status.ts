// `npm run status -- STACK [--kubeconfig PATH] [--context NAME] [--environment ENV]`
// Reads the environment's cluster and prints each Flux source and Kustomization
// (Ready, revision), each Kyverno policy's readiness, whether Kyverno's admission
// controller is available (a Flux failure its webhook caused is marked so), and
// whether podinfo's live Deployment has the restricted securityContext and
// digest-pinned images.
// Exit codes: 0 all ready, 1 something is not (named on stderr), 2 usage or
// cluster unreachable. Without flags, kubeconfig/kubeContext/environment come
// from Pulumi.STACK.yaml (the project's settings), else from $KUBECONFIG.
import {
    blameKyvernoWebhook,
    deploymentRestricted,
    Finding,
    fluxReady,
    kyvernoAdmission,
    kyvernoAdmissionController,
    policyReady,
    WorkloadObject,
} from "./status/checks";
import { get, KubeTarget, reachable } from "./status/kubectl";
import { resolveTarget } from "./status/target";
import { pulumiCommand } from "../stacks/pulumi-command";

interface Kind {
    section: string;
    kind: string;
    resource: string;
    /** A cluster of this environment must have at least one. */
    required: boolean;
    check: (kind: string, o: Parameters<typeof fluxReady>[1]) => Finding;
}

const kinds: Kind[] = [
    {
        section: "Flux",
        kind: "FluxInstance",
        resource: "fluxinstances.fluxcd.controlplane.io",
        required: false,
        check: fluxReady,
    },
    {
        section: "Flux",
        kind: "GitRepository",
        resource: "gitrepositories.source.toolkit.fluxcd.io",
        required: true,
        check: fluxReady,
    },
    {
        section: "Flux",
        kind: "OCIRepository",
        resource: "ocirepositories.source.toolkit.fluxcd.io",
        required: false,
        check: fluxReady,
    },
    {
        section: "Flux",
        kind: "HelmRepository",
        resource: "helmrepositories.source.toolkit.fluxcd.io",
        required: false,
        check: fluxReady,
    },
    {
        section: "Flux",
        kind: "Kustomization",
        resource: "kustomizations.kustomize.toolkit.fluxcd.io",
        required: true,
        check: fluxReady,
    },
    {
        section: "Flux",
        kind: "HelmRelease",
        resource: "helmreleases.helm.toolkit.fluxcd.io",
        required: false,
        check: fluxReady,
    },
    {
        section: "Kyverno",
        kind: "ClusterPolicy",
        resource: "clusterpolicies.kyverno.io",
        required: true,
        check: policyReady,
    },
    { section: "Kyverno", kind: "Policy", resource: "policies.kyverno.io", required: false, check: policyReady },
];

async function collect(target: KubeTarget, stack: string | undefined): Promise<Map<string, Finding[]>> {
    const sections = new Map<string, Finding[]>();
    const add = (s: string, f: Finding): void => {
        sections.set(s, [...(sections.get(s) ?? []), f]);
    };
    const results = await Promise.all(kinds.map((k) => get(target, k.resource)));
    kinds.forEach((k, i) => {
        const r = results[i];
        if (r.kind === "ok") {
            const items = [...r.items].sort((a, b) => objKey(a).localeCompare(objKey(b)));
            for (const o of items) add(k.section, blameKyvernoWebhook(k.check(k.kind, o)));
            if (items.length === 0 && k.required)
                add(k.section, { subject: `${k.kind} (any)`, ok: false, detail: "none found" });
        } else if (r.kind === "no-such-type" || r.kind === "not-found") {
            if (k.required)
                add(k.section, {
                    subject: `${k.kind} (any)`,
                    ok: false,
                    detail: `the API server has no ${k.resource} (not installed?)`,
                });
        } else {
            add(k.section, { subject: k.kind, ok: false, detail: r.message });
        }
    });
    const kyverno = await get(target, "deployments.apps", kyvernoAdmissionController);
    if (kyverno.kind === "error")
        add("Kyverno", {
            subject: `Deployment ${kyvernoAdmissionController.namespace}/${kyvernoAdmissionController.name}`,
            ok: false,
            detail: kyverno.message,
        });
    else
        add(
            "Kyverno",
            kyvernoAdmission(kyverno.kind === "ok" ? (kyverno.items[0] as WorkloadObject) : undefined, stack),
        );
    const dep = await get(target, "deployments.apps", { namespace: "podinfo", name: "podinfo" });
    if (dep.kind === "ok") for (const f of deploymentRestricted(dep.items[0])) add("podinfo", f);
    else
        add("podinfo", {
            subject: "Deployment podinfo/podinfo",
            ok: false,
            detail: dep.kind === "error" ? dep.message : "not found",
        });
    return sections;
}

function objKey(o: { metadata: { name: string; namespace?: string } }): string {
    return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

async function main(): Promise<number> {
    const t = resolveTarget(process.argv.slice(2), process.cwd());
    if ("usage" in t) {
        // The way to run it that works from anywhere in the project.
        console.error(t.usage.replace(/^usage: status /m, "usage: npm run status -- "));
        return 2;
    }
    console.log(
        `environment ${t.environment ?? "(unknown)"}: kubeconfig ${t.kubeconfig ?? "$KUBECONFIG/default"}, context ${t.context ?? "(current)"}`,
    );
    const unreachable = await reachable(t);
    if (unreachable) {
        console.error(`cannot reach the cluster: ${unreachable}`);
        if (t.stack) {
            // The stack's settings are where status (and the program) find the cluster.
            const cli = pulumiCommand();
            console.error(
                `To point stack ${t.stack} at your cluster: ${cli} config set kubeContext <context> --stack ${t.stack}` +
                    ` (and ${cli} config set kubeconfig <path> --stack ${t.stack} if it is not in $KUBECONFIG), or pass --context/--kubeconfig.`,
            );
        }
        return 2;
    }
    const sections = await collect(t, t.stack);
    const failed: Finding[] = [];
    for (const [section, findings] of sections) {
        console.log(`\n${section}`);
        const width = Math.max(...findings.map((f) => f.subject.length));
        for (const f of findings) {
            console.log(`  ${f.ok ? "ok " : "NOT"} ${f.subject.padEnd(width)}  ${f.detail}`);
            if (!f.ok) failed.push(f);
        }
    }
    if (failed.length) {
        console.error(`\nnot ready (${failed.length}):`);
        for (const f of failed) console.error(`  ${f.subject}: ${f.detail}`);
        return 1;
    }
    console.log("\nall ready");
    return 0;
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        console.error((err as Error).message);
        process.exit(2);
    },
);
