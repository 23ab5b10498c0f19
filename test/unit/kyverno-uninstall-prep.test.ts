// Before Helm uninstalls Kyverno (components/kyverno/uninstall-prep-provider.ts):
// the aggregation comes off exactly the release's aggregated ClusterRoles, then
// Kyverno is scaled to zero, its pods waited for and its leftover webhook
// configurations deleted, in that order; nothing happens on create or update.
import * as assert from "assert";
import type { ListedObject, ListObjects, ListTarget } from "../../components/existing-installs/cluster-reads";
import { UninstallPrepInputs, UninstallPrepProvider } from "../../components/kyverno/uninstall-prep-provider";

const inputs: UninstallPrepInputs = {
    kubeconfig: "/tmp/kc",
    context: "staging",
    release: "kyverno",
    namespace: "kyverno",
};
const role = (name: string, aggregated: boolean): ListedObject => ({
    kind: "ClusterRole",
    metadata: { name },
    ...(aggregated ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "b" } }] } } : {}),
});

/** A provider over a cluster of `roles`; `fail` answers a kubectl verb with that error. */
function recorder(roles: ListedObject[] | null, fail: Record<string, string> = {}) {
    const listed: { target: ListTarget; resources: string }[] = [];
    const ran: string[] = [];
    const list: ListObjects = async (target, resources) => {
        listed.push({ target, resources });
        return roles;
    };
    const provider = new UninstallPrepProvider(list, async (_target, args) => {
        ran.push(args.join(" "));
        if (fail[args[0]]) throw new Error(`kubectl ${args.join(" ")} failed: ${fail[args[0]]}`);
        return "";
    });
    return { provider, listed, ran };
}

const stopKyverno = [
    "scale deployment --namespace=kyverno --selector=app.kubernetes.io/instance=kyverno --replicas=0",
    "wait pod --namespace=kyverno --selector=app.kubernetes.io/instance=kyverno --for=delete --timeout=120s",
    "delete mutatingwebhookconfigurations,validatingwebhookconfigurations --selector=webhook.kyverno.io/managed-by=kyverno --ignore-not-found",
];

describe("Kyverno before its uninstall: ClusterRoles detached, Kyverno stopped with its webhooks", () => {
    it("takes the aggregationRule off the release's aggregated ClusterRoles only, then stops Kyverno and removes its webhooks", async () => {
        const r = recorder([
            role("kyverno:admission-controller", true),
            role("kyverno:admission-controller:core", false),
            role("kyverno:reports-controller", true),
        ]);
        await r.provider.delete("id", inputs);
        assert.deepStrictEqual(r.listed, [
            { target: { ...inputs, selector: "app.kubernetes.io/instance=kyverno" }, resources: "clusterroles" },
        ]);
        const detach = (name: string) =>
            `patch clusterrole ${name} --type=json -p=[{"op":"remove","path":"/aggregationRule"}]`;
        assert.deepStrictEqual(r.ran, [
            detach("kyverno:admission-controller"),
            detach("kyverno:reports-controller"),
            ...stopKyverno,
        ]);
    });

    it("goes on when Kyverno is already down, and stops on any other kubectl failure", async () => {
        const down = recorder([], {
            scale: "error: no objects passed to scale",
            wait: "error: no matching resources found",
        });
        await down.provider.delete("id", inputs);
        assert.deepStrictEqual(down.ran, stopKyverno);
        const refused = recorder([], { scale: 'deployments.apps is forbidden: User "ci" cannot list' });
        await assert.rejects(refused.provider.delete("id", inputs), /forbidden/);
        assert.strictEqual(refused.ran.length, 1, "went on past a refused scale");
    });

    it("touches nothing on create or update, and reports a change only for another release, namespace or cluster", async () => {
        const idle = recorder([role("kyverno:admission-controller", true)]);
        await idle.provider.create(inputs);
        await idle.provider.update("id", inputs, inputs);
        assert.deepStrictEqual([idle.listed, idle.ran], [[], []]);
        assert.deepStrictEqual(await idle.provider.diff("id", inputs, { ...inputs }), { changes: false });
        assert.deepStrictEqual(await idle.provider.diff("id", inputs, { ...inputs, context: "other" }), {
            changes: true,
        });
    });
});
