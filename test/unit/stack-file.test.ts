// The one reader of Pulumi.<stack>.yaml outside the program (stacks/stack-file.ts):
// plain values of the project's keys, the program's defaults for the rest, never a secret.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { branchDefault, repositoryDefault } from "../../stacks/defaults";
import { stackFileValues, stackSetting } from "../../stacks/stack-file";

describe("the stack file reader", function () {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: acme-fleet\nruntime: nodejs\n");
        fs.writeFileSync(
            path.join(dir, "Pulumi.staging.yaml"),
            [
                "config:",
                "  acme-fleet:kubeContext: kind-staging",
                "  acme-fleet:branch: release",
                "  acme-fleet:kyvernoReplicas: 2",
                "  acme-fleet:deployKeyPrivateKey:",
                "    secure: v1:AAAA",
                "  gitops-kyverno:kubeconfig: /not/this/project",
                "  github:owner: someone",
            ].join("\n") + "\n",
        );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads the project's plain keys, in the namespace Pulumi.yaml names, and no secret", () => {
        assert.deepStrictEqual(stackFileValues(dir, "staging"), {
            kubeContext: "kind-staging",
            branch: "release",
            kyvernoReplicas: "2",
        });
    });

    it("gives the program's defaults for keys the file leaves out", () => {
        assert.equal(stackSetting(dir, "staging", "branch"), "release");
        assert.equal(stackSetting(dir, "staging", "repository"), repositoryDefault);
        assert.equal(stackSetting(dir, "production", "branch"), branchDefault);
        assert.equal(stackSetting(dir, "org/acme-fleet/production", "environment"), "production");
        assert.equal(stackSetting(dir, "staging", "gitProvider"), "github");
        assert.equal(stackSetting(dir, "staging", "kubeconfig"), undefined);
        assert.equal(stackSetting(dir, "staging", "deployKeyPrivateKey"), undefined);
    });
});
