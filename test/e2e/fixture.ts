// The local world the e2e test runs the program against: a Git server over SSH
// holding the fleet repository, a Helm chart repository, one Kubernetes control
// plane per environment (started on demand), and a Pulumi workspace (a copy of
// this project on a local file backend).
import * as fs from "node:fs";
import * as path from "node:path";
import { startGitSshServer, GitSshServer, SshKeyPair } from "../support/git-ssh-server";
import { startHelmRepo, HelmRepo } from "../support/helm-repo";
import { KubeApi } from "../support/kube-api";
import { startKubeCluster, KubeCluster } from "../support/kube-cluster";
import { PulumiWorkspace, repoRoot } from "../support/pulumi-cli";
import { testCharts } from "../support/test-charts";

export const repoName = "fleet";
/** Files on the server's branch before the program first pushes, which it must leave alone. */
export const seedFiles = { "README.md": "# fleet\n", "notes/unmanaged.txt": "not managed by the program\n" };

export interface Environment {
    stack: string;
    cluster: KubeCluster;
    kube: KubeApi;
}

export class E2eWorld {
    git!: GitSshServer;
    writeKey!: SshKeyPair;
    repoUrl!: string;
    helm!: HelmRepo;
    private ownsHelm = false;
    pulumi!: PulumiWorkspace;
    readonly envs = new Map<string, Environment>();

    /** Starts the Git server and the workspace; the chart repository is `charts`, else one of small test charts. */
    async start(charts?: HelmRepo): Promise<void> {
        const pulumiBin = path.join(repoRoot, ".tools", "bin", "pulumi");
        if (!fs.existsSync(pulumiBin)) {
            throw new Error("the Pulumi CLI is not built: run `npm run tools` then `bash scripts/pulumi-plugins.sh`");
        }
        this.git = await startGitSshServer();
        this.repoUrl = this.git.createRepository(repoName);
        this.writeKey = this.git.newKey("pulumi-push");
        this.git.authorize(this.writeKey.publicKey, "write");
        this.seedRepository();
        this.helm = charts ?? (await startHelmRepo(testCharts()));
        this.ownsHelm = charts === undefined;
        this.pulumi = new PulumiWorkspace();
    }

    /** One commit on main, as a repository created on a Git server usually has. */
    private seedRepository(): void {
        const work = fs.mkdtempSync(path.join(this.git.dir, "seed-"));
        this.git.gitAs(this.writeKey, ["init", "--quiet", "--initial-branch=main", work]);
        for (const [rel, content] of Object.entries(seedFiles)) {
            fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
            fs.writeFileSync(path.join(work, rel), content);
        }
        const git = (args: string[]) => this.git.gitAs(this.writeKey, args, work);
        git(["add", "--all"]);
        git(["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "--quiet", "-m", "Initial commit"]);
        git(["push", "--quiet", this.repoUrl, "HEAD:refs/heads/main"]);
        fs.rmSync(work, { recursive: true, force: true });
    }

    /** Creates the stack with settings for this world, on `cluster` or a control plane of its own. */
    async addEnvironment(stack: string, existing?: KubeCluster): Promise<Environment> {
        const cluster = existing ?? (await startKubeCluster({ name: stack }));
        const env = { stack, cluster, kube: new KubeApi(cluster) };
        this.envs.set(stack, env);
        await this.pulumi.initStack(stack);
        await this.pulumi.setConfig(stack, this.settings(cluster), { gitWriteKey: this.writeKey.privateKey });
        return env;
    }

    settings(cluster: KubeCluster): Record<string, string> {
        return {
            gitProvider: "ssh",
            gitUrl: this.repoUrl,
            gitKnownHosts: this.git.knownHosts,
            kubeconfig: cluster.kubeconfig,
            kubeContext: cluster.context,
            fluxOperatorChartRepo: this.helm.url,
            kyvernoChartRepo: this.helm.url,
            certManagerChartRepo: this.helm.url,
        };
    }

    /** git on the server's bare fleet repository. */
    repo(args: string[]): string {
        return this.git.gitIn(repoName, args).trim();
    }

    commitCount(): number {
        return Number(this.repo(["rev-list", "--count", "main"]));
    }

    /** Every file path on main. */
    repoFiles(rev = "main"): string[] {
        return this.repo(["ls-tree", "-r", "--name-only", rev]).split("\n").filter(Boolean).sort();
    }

    /** Paths the commit `rev` touched. */
    changedIn(rev = "main"): string[] {
        return this.repo(["show", "--pretty=format:", "--name-only", rev]).split("\n").filter(Boolean).sort();
    }

    async stop(): Promise<void> {
        const stops: Promise<unknown>[] = [...this.envs.values()].map((e) => e.cluster.stop());
        if (this.helm && this.ownsHelm) stops.push(this.helm.stop());
        if (this.git) stops.push(this.git.stop());
        await Promise.allSettled(stops);
        this.pulumi?.remove();
    }
}
