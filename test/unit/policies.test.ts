// What the policies promise outside Kyverno's engine: each one states how a
// failing webhook call ends (Kyverno would otherwise pick Fail silently) and why,
// in the fields Kyverno 1.13+ reads, with none of the deprecated ones; and each
// rule that walks a pod's containers walks its init containers too.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";

const policiesDir = path.resolve(__dirname, "..", "..", "fleet", "infrastructure", "configs", "policies");

interface Policy {
    kind: string;
    metadata: { name: string; annotations?: Record<string, string> };
    spec: Record<string, unknown> & { rules: { name: string; mutate?: { foreach?: { list: string }[] } }[] };
}

function policies(): { file: string; policy: Policy }[] {
    return fs.readdirSync(policiesDir).flatMap((dir) =>
        fs
            .readdirSync(path.join(policiesDir, dir))
            .filter((f) => f.endsWith(".yaml"))
            .flatMap((f) =>
                parseAllDocuments(fs.readFileSync(path.join(policiesDir, dir, f), "utf8")).map((d) => ({
                    file: `${dir}/${f}`,
                    policy: d.toJS() as Policy,
                })),
            ),
    );
}

describe("the Kyverno policies", () => {
    const all = policies();

    it("are found", () => assert.ok(all.length >= 2, all.map((p) => p.file).join(", ")));

    it("state their failure policy under webhookConfiguration, with the reason in an annotation", () => {
        for (const { file, policy } of all) {
            const webhook = policy.spec.webhookConfiguration as { failurePolicy?: string } | undefined;
            assert.ok(
                webhook?.failurePolicy === "Fail" || webhook?.failurePolicy === "Ignore",
                `${file}: no spec.webhookConfiguration.failurePolicy`,
            );
            const why = policy.metadata.annotations?.["gitops-kyverno/failure-policy"] ?? "";
            assert.ok(
                why.startsWith(`${webhook.failurePolicy}.`),
                `${file}: the gitops-kyverno/failure-policy annotation does not explain ${webhook.failurePolicy}`,
            );
        }
    });

    it("use none of the spec fields Kyverno deprecated for webhookConfiguration and per-rule settings", () => {
        for (const { file, policy } of all) {
            for (const field of ["webhookTimeoutSeconds", "failurePolicy", "validationFailureAction"]) {
                assert.strictEqual(policy.spec[field], undefined, `${file}: spec.${field} is deprecated`);
            }
        }
    });

    it("give the digest lookup a timeout within Kyverno's 1 to 30 seconds", () => {
        const digest = all.find((p) => p.policy.metadata.name === "resolve-image-digest");
        const timeout = (digest?.policy.spec.webhookConfiguration as { timeoutSeconds?: number } | undefined)
            ?.timeoutSeconds;
        assert.ok(timeout !== undefined && timeout >= 1 && timeout <= 30, `timeoutSeconds ${timeout}`);
    });

    it("walk init containers wherever they walk containers", () => {
        for (const { file, policy } of all) {
            const lists = policy.spec.rules.flatMap((r) => (r.mutate?.foreach ?? []).map((f) => f.list));
            for (const list of lists.filter((l) => l.endsWith(".containers"))) {
                const init = list.replace(/\.containers$/, ".initContainers");
                assert.ok(lists.includes(init), `${file}: a rule walks ${list} but none walks ${init}`);
            }
        }
    });
});
