// npm run validate: proves the fleet tree with the tools that will run it.
// For the static tree (fleet/) and the tree each stack commits:
//   kustomize build of every kustomization, flux build of every clusters/<env>
//   Kustomization, kyverno test of every policy, kyverno apply of the policies
//   to each build, then strict server-side validation of every built object
//   against a local kube-apiserver with Flux's, Kyverno's and the Flux Operator's
//   CRDs, the dev-team tenant's admitted workloads also against PodSecurity
//   "restricted"; the tree's ValidatingAdmissionPolicy backstop, created for
//   real, must refuse each such workload as Git holds it and admit it as
//   Kyverno mutated it. The Kubernetes objects the Pulumi program creates itself (the
//   FluxInstance above all) go through the same strict check: the program runs
//   under Pulumi's mocks for each stack.
// Usage: ts-node scripts/validate/main.ts [--fleet DIR] [--env NAME ...] [--tree DIR ...] [--program DIR]
//   --fleet DIR    the fleet folder to check and render stacks from (default fleet/)
//   --env NAME     only these stacks (default: staging and production)
//   --tree DIR     also check a tree as the fleet repo holds it (clusters/<env> included)
//   --program DIR  the Pulumi program (a folder with index.ts) whose objects are checked (default: this checkout)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startKubeCluster, KubeCluster } from "../../local-cluster/control-plane";
import { admit } from "./admission";
import { ApiServer } from "./api-server";
import { checkBackstop } from "./backstop";
import { Built, clusterObjects, fluxBuilds, kustomizeBuilds } from "./builds";
import { crdFiles } from "./crds";
import { repoRoot } from "./exec";
import { kyvernoTests } from "./policies";
import { programObjects } from "./program";
import { Report } from "./report";
import { SchemaChecker } from "./schema";
import { Tree, committedTree, renderStackTree } from "./trees";

const STACKS = ["staging", "production"];

function parseArgs(argv: string[]): { fleet: string; envs: string[]; trees: string[]; program: string } {
    let fleet = path.join(repoRoot, "fleet");
    let program = repoRoot;
    const envs: string[] = [];
    const trees: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--fleet" && argv[i + 1]) fleet = path.resolve(argv[++i]);
        else if (a === "--env" && argv[i + 1]) envs.push(argv[++i]);
        else if (a === "--tree" && argv[i + 1]) trees.push(path.resolve(argv[++i]));
        else if (a === "--program" && argv[i + 1]) program = path.resolve(argv[++i]);
        else
            throw new Error(
                `unknown argument ${a} (usage: validate [--fleet DIR] [--env NAME ...] [--tree DIR ...] [--program DIR])`,
            );
    }
    for (const dir of [fleet, ...trees]) if (!fs.existsSync(dir)) throw new Error(`no tree at ${dir}`);
    return { fleet, envs: envs.length ? envs : STACKS, trees, program };
}

async function main(): Promise<number> {
    const started = Date.now();
    const { fleet, envs, trees: extraTrees, program } = parseArgs(process.argv.slice(2));
    const report = new Report();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "validate-"));
    // The API server starts in the background while the builds run.
    const clusterP = startKubeCluster({ name: "validate" });
    clusterP.catch(() => undefined);
    let cluster: KubeCluster | undefined;
    try {
        const trees: Tree[] = [{ label: "static", root: fleet, envs: [] }];
        for (const env of envs) trees.push(renderStackTree(fleet, env, path.join(work, env)));
        trees.push(...extraTrees.map(committedTree));

        const built: Built[] = [];
        for (const tree of trees) {
            try {
                const own = [...kustomizeBuilds(tree, report), ...fluxBuilds(tree, report), ...clusterObjects(tree)];
                kyvernoTests(tree, report);
                built.push(...own, ...admit(tree, own, report));
            } catch (err) {
                report.fail({ check: `read (${tree.label})`, file: tree.root, message: (err as Error).message });
            }
        }
        built.push(...(await programObjects(program, envs, report)));

        cluster = await clusterP;
        const api = new ApiServer(cluster);
        const schema = new SchemaChecker(cluster, api);
        await schema.installCrds(crdFiles());
        await schema.check(built, report);
        await checkBackstop(api, trees, built, report);
    } finally {
        await (cluster ?? (await clusterP.catch(() => undefined)))?.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
    console.log(`validate took ${((Date.now() - started) / 1000).toFixed(1)}s`);
    console.log(report.summary());
    return report.failures.length === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        console.error(`validate: error: ${(err as Error).message}`);
        process.exit(2);
    },
);
