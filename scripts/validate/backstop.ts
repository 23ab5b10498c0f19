// The API server's own backstop behind Kyverno's mutations
// (infrastructure/configs/admission), proven on the local kube-apiserver: the
// tree's ValidatingAdmissionPolicies and bindings are created for real, then
// each dev-team workload is dry-run twice. As Git holds it (what the API
// server sees when Kyverno's webhook is not serving yet) it must be refused by
// such a policy; as Kyverno's CLI mutated it, it must be admitted. Runs after
// the schema step, which dry-runs the unmutated workloads without the policy.
import { TENANT } from "./admission";
import { Built } from "./builds";
import type { ApiServer } from "./api-server";
import { tail } from "./exec";
import { Report } from "./report";
import { describe, KubeObject, Tree } from "./trees";

const POLICY = "ValidatingAdmissionPolicy";
const BINDING = "ValidatingAdmissionPolicyBinding";
const GROUP = "admissionregistration.k8s.io/v1";
// The API server loads a new policy through an informer: how long to wait for it to act.
const LOAD_SECONDS = 30;
const denial = /ValidatingAdmissionPolicy '([^']+)' with binding '([^']+)' denied request: (.*)/;

export async function checkBackstop(api: ApiServer, trees: Tree[], built: Built[], report: Report): Promise<void> {
    for (const tree of trees) {
        const check = `admission backstop (${tree.label})`;
        const own = built.filter((b) => b.root === tree.root);
        const fromSets = (sets: Built[], keep: (o: KubeObject) => boolean) =>
            sets.flatMap((b) => dedupe(b.objects.filter(keep)).map((o) => ({ o, source: b.source })));
        const admitted = fromSets(
            own.filter((b) => b.admitted),
            isDeployment,
        );
        // The same Deployments as each build gives them: those Kyverno's CLI returned, by name.
        const names = new Set(admitted.map((a) => describe(a.o)));
        const unmutated = fromSets(
            own.filter((b) => !b.admitted),
            (o) => isDeployment(o) && names.has(describe(o)),
        );
        if (admitted.length === 0) continue; // no dev-team Deployment in this tree: nothing to guard
        const guards = dedupe(
            own.flatMap((b) =>
                b.objects.filter((o) => o.apiVersion === GROUP && (o.kind === POLICY || o.kind === BINDING)),
            ),
        );
        // Each build that ships Kyverno's policies (either form: an environment applies one) ships the backstop too.
        const bare = own.filter(
            (b) => !b.admitted && b.objects.some(isKyvernoPolicy) && !(hasKind(b, POLICY) && hasKind(b, BINDING)),
        );
        if (!guards.some((o) => o.kind === POLICY) || !guards.some((o) => o.kind === BINDING) || bare.length > 0) {
            report.fail({
                check,
                file: bare.length > 0 ? bare[0].source : `${tree.root}/infrastructure`,
                message:
                    `no ${POLICY} with a ${BINDING} in the tree: a ${TENANT} Deployment applied before Kyverno's webhook serves the policies ` +
                    `would run unmutated until Flux's next interval (see infrastructure/configs/admission)`,
            });
            continue;
        }
        try {
            const created = await Promise.all(guards.map((g) => api.apply(g, { persist: true })));
            const refused = created.find((c) => "error" in c);
            if (refused && "error" in refused) {
                report.fail({
                    check,
                    file: tree.root,
                    message: `creating the admission policies: ${tail(refused.error)}`,
                });
                continue;
            }
            // One deadline for the API server to load the policy, however many Deployments are checked.
            const loaded = Date.now() + LOAD_SECONDS * 1000;
            for (const { o, source } of unmutated)
                await refusedUnmutated(api, o, source, loaded, check, tree.root, report);
            for (const { o, source } of admitted) await admittedMutated(api, o, source, check, tree.root, report);
        } finally {
            await Promise.all(guards.map((g) => api.delete(g)));
        }
    }
}

/** Git's Deployment must be refused once the policy is loaded; waiting for the load is what the deadline is for. */
async function refusedUnmutated(
    api: ApiServer,
    o: KubeObject,
    source: string,
    deadline: number,
    check: string,
    file: string,
    report: Report,
): Promise<void> {
    for (;;) {
        const r = await api.apply(o);
        const m = "error" in r ? denial.exec(r.error) : null;
        if (m) {
            report.pass(check, `${describe(o)} from ${source} (not mutated): refused by ${POLICY} ${m[1]}: ${m[3]}`);
            return;
        }
        if ("error" in r) {
            report.fail({
                check,
                file,
                object: `${describe(o)} from ${source}`,
                message: `refused, but not by an admission policy:\n${tail(r.error)}`,
            });
            return;
        }
        if (Date.now() > deadline) {
            report.fail({
                check,
                file,
                object: `${describe(o)} from ${source}`,
                message: `admitted as Git holds it (no digest, no securityContext) ${LOAD_SECONDS} s after the admission policies were created: they would let an unmutated Deployment run`,
            });
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

async function admittedMutated(
    api: ApiServer,
    o: KubeObject,
    source: string,
    check: string,
    file: string,
    report: Report,
): Promise<void> {
    const r = await api.apply(o);
    if (!("error" in r)) report.pass(check, `${describe(o)} from ${source}: admitted`);
    else
        report.fail({
            check,
            file,
            object: `${describe(o)} from ${source}`,
            message: `refused though Kyverno mutated it:\n${tail(r.error)}`,
        });
}

function isDeployment(o: KubeObject): boolean {
    return o.kind === "Deployment" && o.apiVersion === "apps/v1";
}

function dedupe(objects: KubeObject[]): KubeObject[] {
    return [...new Map(objects.map((o) => [`${o.apiVersion} ${describe(o)}`, o])).values()];
}

function isKyvernoPolicy(o: KubeObject): boolean {
    return (o.kind === "ClusterPolicy" && o.apiVersion === "kyverno.io/v1") || o.kind === "MutatingPolicy";
}

function hasKind(b: Built, kind: string): boolean {
    return b.objects.some((o) => o.apiVersion === GROUP && o.kind === kind);
}
