// The dependencies that order `pulumi up` (and, reversed, `pulumi destroy`).
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { GitOpsEnvironment } from "../../components/gitops-environment";
import { loadSettings } from "../../stacks/settings";
import { githubConfig, installMocks, settle } from "./support/mocks";

interface Seen {
    type: string;
    name: string;
    resource: pulumi.Resource;
    dependsOn: pulumi.Resource[];
    parent?: pulumi.Resource;
}

describe("the order of an environment's resources", () => {
    let env: GitOpsEnvironment;
    const seen: Seen[] = [];
    const find = (type: string, name?: string) => {
        const s = seen.find((x) => x.type === type && (name === undefined || x.name === name));
        assert.ok(s, `no ${type} ${name ?? ""} registered`);
        return s!;
    };

    before(async () => {
        installMocks("staging", githubConfig(), ["github:token"]);
        const capture: pulumi.ResourceTransformation = (args) => {
            const deps = args.opts.dependsOn;
            seen.push({
                type: args.type,
                name: args.name,
                resource: args.resource,
                dependsOn: (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[],
                parent: args.opts.parent,
            });
            return undefined;
        };
        env = new GitOpsEnvironment("staging", { settings: loadSettings("staging") }, { transformations: [capture] });
        await settle();
    });

    it("starts Flux's sync only after the deploy key, the fleet commit and Kyverno", () => {
        const instance = find("kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
        for (const [what, dep] of [
            ["the deploy key", env.deployKey],
            ["the fleet commit", env.fleet],
            ["Kyverno", env.kyverno],
            ["the Flux Operator release", env.flux.operator],
        ] as const) {
            assert.ok(instance.dependsOn.includes(dep), `the FluxInstance does not depend on ${what}`);
        }
        const secret = find("kubernetes:core/v1:Secret");
        assert.ok(instance.dependsOn.includes(secret.resource), "the FluxInstance does not depend on the deploy key secret");
    });

    it("registers the deploy key on GitHub inside the DeployKey component Flux waits for", () => {
        const registration = find("github:index/repositoryDeployKey:RepositoryDeployKey");
        assert.strictEqual(registration.parent, env.deployKey);
    });

    it("pushes the tree only once the repository exists", () => {
        const sync = find("gitops-kyverno:fleet:FleetSync");
        assert.ok(sync.dependsOn.includes(env.repository));
    });

    it("waits for Kyverno's Helm release to be ready before it counts as done", () => {
        const kyverno = seen.find((s) => s.type === "kubernetes:helm.sh/v3:Release" && s.resource === env.kyverno.release);
        assert.ok(kyverno, "no Kyverno release");
        assert.strictEqual(kyverno.parent, env.kyverno, "Kyverno's release is not a child of the component Flux waits for");
    });
});
