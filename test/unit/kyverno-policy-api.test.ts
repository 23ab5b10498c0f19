// kyvernoPolicyApi: which form of the fleet's two Kyverno policies an environment
// applies. Both forms live in the shared tree; the setting decides what the
// environment's own infra-configs Kustomization points at and waits for.
import * as assert from "assert";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { dynamicType, githubConfig, installMocks, one, Registered, runProgram } from "../../harness/mocks";

const stack = "staging";
const infraFile = `clusters/${stack}/infrastructure.yaml`;

interface Doc {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string };
    spec?: Record<string, unknown>;
}

async function committedFiles(extra: Record<string, string>): Promise<Record<string, string>> {
    const registered = installMocks(stack, githubConfig(extra), ["github:token"]);
    await runProgram();
    return one(registered, dynamicType("FleetFiles")).inputs.files as Record<string, string>;
}

/** The policies Flux applies from the infra-configs path: the kustomization's resources, read from the committed files. */
function appliedPolicies(files: Record<string, string>, syncPath: string): { file: string; doc: Doc }[] {
    const dir = path.posix.normalize(syncPath.replace(/^\.\//, ""));
    const kustomization = files[`${dir}/kustomization.yaml`];
    assert.ok(kustomization, `the tree has no ${dir}/kustomization.yaml`);
    return (parse(kustomization).resources as string[]).flatMap((rel) => {
        const file = path.posix.join(dir, rel);
        assert.ok(files[file] !== undefined, `${dir}/kustomization.yaml names ${rel}, which the tree does not hold`);
        return parseAllDocuments(files[file])
            .map((d) => d.toJS() as Doc)
            .filter((doc) => /Policy$/.test(doc.kind ?? "") && doc.apiVersion?.includes("kyverno.io"))
            .map((doc) => ({ file, doc }));
    });
}

const expected = {
    legacy: {
        path: "./infrastructure/configs",
        group: "kyverno.io/v1",
        kind: "ClusterPolicy",
        folder: "infrastructure/configs/policies/",
    },
    cel: {
        path: "./infrastructure/configs/cel",
        group: "policies.kyverno.io/v1",
        kind: "MutatingPolicy",
        folder: "infrastructure/configs/policies-cel/",
    },
};

describe("kyvernoPolicyApi: the form of the fleet's Kyverno policies", () => {
    for (const [api, want] of Object.entries(expected)) {
        it(`${api}: infra-configs applies ${want.kind}s from ${want.path} and waits until each is Ready`, async () => {
            const files = await committedFiles(api === "legacy" ? {} : { kyvernoPolicyApi: api });
            const infra = parse(files[infraFile]) as Doc;
            assert.strictEqual(infra.spec?.path, want.path);
            assert.deepStrictEqual(
                (infra.spec?.healthCheckExprs as { apiVersion: string; kind: string }[]).map(
                    (h) => `${h.apiVersion} ${h.kind}`,
                ),
                [`${want.group} ${want.kind}`],
            );
            const policies = appliedPolicies(files, want.path);
            assert.deepStrictEqual(policies.map((p) => p.doc.metadata?.name).sort(), [
                "add-restricted-security-context",
                "resolve-image-digest",
            ]);
            for (const { file, doc } of policies) {
                assert.strictEqual(`${doc.apiVersion} ${doc.kind}`, `${want.group} ${want.kind}`, file);
                assert.ok(file.startsWith(want.folder), `${file} is not in ${want.folder}`);
            }
        });
    }

    it("legacy is the default, and the shared tree is the same for both (only clusters/<env> differs)", async () => {
        const byDefault = await committedFiles({});
        const legacy = await committedFiles({ kyvernoPolicyApi: "legacy" });
        const cel = await committedFiles({ kyvernoPolicyApi: "cel" });
        assert.deepStrictEqual(byDefault, legacy);
        const differing = Object.keys({ ...legacy, ...cel }).filter((f) => legacy[f] !== cel[f]);
        assert.deepStrictEqual(differing, [infraFile]);
        // Both forms, each with its Kyverno CLI test, are in the shared tree whichever is chosen.
        for (const folder of [expected.legacy.folder, expected.cel.folder]) {
            for (const policy of ["add-restricted-security-context", "resolve-image-digest"]) {
                assert.ok(cel[`${folder}${policy}/${policy}.yaml`], `${folder}${policy}/${policy}.yaml`);
                assert.ok(
                    cel[`${folder}${policy}/.kyverno-test/kyverno-test.yaml`],
                    `${folder}${policy}/.kyverno-test/kyverno-test.yaml`,
                );
            }
        }
    });

    it("a value other than legacy or cel stops the program before any resource, naming the key and the fix", async () => {
        const registered: Registered[] = installMocks(stack, githubConfig({ kyvernoPolicyApi: "v2" }), [
            "github:token",
        ]);
        await assert.rejects(runProgram(), (err: Error) => {
            assert.match(err.message, /gitops-kyverno:kyvernoPolicyApi "v2" is not one of legacy, cel/);
            assert.match(err.message, /Fix: .*config set kyvernoPolicyApi legacy --stack staging/);
            return true;
        });
        assert.deepStrictEqual(registered, []);
    });
});
