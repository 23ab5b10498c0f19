// The local world the end-to-end tests run the program against: a Git server
// over SSH holding the fleet repository, one live local cluster per environment
// (started on demand: real Flux Operator, Flux controllers, Kyverno and charts
// from its own mirror, simulated nodes, a registry), and a Pulumi workspace (a
// copy of this project on a local file backend) whose overlays take podinfo
// from each environment's registry.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { DeployKeyRegistrar, registerDeployKeys, stackStateFiles } from "../local-cluster/deploy-key-registrar";
import { LiveCluster, startLiveCluster } from "../local-cluster/live-cluster";
import { fleetPodinfoTags } from "../local-cluster/registry";
import { startGitSshServer, GitSshServer, SshKeyPair } from "../local-cluster/git-server";
import { KubeApi } from "./kube-api";
import type { KubeCluster } from "../local-cluster/control-plane";
import { PulumiWorkspace, repoRoot } from "./pulumi-cli";

export const podinfoRepository = "stefanprodan/podinfo";
/** A tag no overlay uses, which the tests move an environment to. */
export const nextPodinfoTag = "6.9.3";

export const repoName = "fleet";
/** Files on the server's branch before the program first pushes, which it must leave alone. */
export const seedFiles = { "README.md": "# fleet\n", "notes/unmanaged.txt": "not managed by the program\n" };

export interface Environment {
    stack: string;
    live: LiveCluster;
    cluster: KubeCluster;
    kube: KubeApi;
    /** Absent when the environment was added with registerDeployKey: false. */
    registrar?: DeployKeyRegistrar;
}

export class E2eWorld {
    git!: GitSshServer;
    writeKey!: SshKeyPair;
    repoUrl!: string;
    pulumi!: PulumiWorkspace;
    readonly envs = new Map<string, Environment>();

    /** Starts the Git server (with a seeded fleet repository) and the workspace. */
    async start(): Promise<void> {
        const pulumiBin = path.join(repoRoot, ".tools", "bin", "pulumi");
        if (!fs.existsSync(pulumiBin)) {
            throw new Error("the Pulumi CLI is not built: run `npm run tools` then `bash scripts/pulumi-plugins.sh`");
        }
        this.git = await startGitSshServer();
        this.repoUrl = this.git.createRepository(repoName);
        this.writeKey = this.git.newKey("pulumi-push");
        this.git.authorize(this.writeKey.publicKey, "write");
        this.seedRepository();
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
        git([
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@example.invalid",
            "commit",
            "--quiet",
            "-m",
            "Initial commit",
        ]);
        git(["push", "--quiet", this.repoUrl, "HEAD:refs/heads/main"]);
        fs.rmSync(work, { recursive: true, force: true });
    }

    /**
     * Starts a live cluster for `stack` (its registry holding every podinfo tag
     * the fleet names, and nextPodinfoTag), points the stack's overlay at that
     * registry, registers Flux's deploy key on the Git server once the program
     * generates it (as an admin would with the key the first `up` prints; unless
     * registerDeployKey is false), and creates the stack.
     */
    async addEnvironment(stack: string, opts: { registerDeployKey?: boolean } = {}): Promise<Environment> {
        const tags = [...fleetPodinfoTags(path.join(repoRoot, "fleet")), nextPodinfoTag];
        const live = await startLiveCluster({
            name: stack,
            images: tags.map((tag) => ({ repository: podinfoRepository, tag })),
        });
        const env: Environment = {
            stack,
            live,
            cluster: live.cluster,
            kube: new KubeApi(live.cluster),
            registrar:
                opts.registerDeployKey === false
                    ? undefined
                    : registerDeployKeys(this.git, stackStateFiles(this.pulumi.backendDir, stack)),
        };
        this.envs.set(stack, env);
        this.setPodinfoImage(stack, undefined);
        await this.pulumi.initStack(stack);
        await this.pulumi.setConfig(stack, this.settings(env), { gitWriteKey: this.writeKey.privateKey });
        return env;
    }

    settings(env: Environment): Record<string, string> {
        return {
            gitProvider: "ssh",
            gitUrl: this.repoUrl,
            gitKnownHosts: this.git.knownHosts,
            kubeconfig: env.cluster.kubeconfig,
            kubeContext: env.cluster.context,
            fluxOperatorChartRepo: env.live.charts.url,
            kyvernoChartRepo: env.live.charts.url,
            certManagerChartRepo: env.live.charts.url,
        };
    }

    /** The project copy's overlay of `stack`: podinfo from that environment's registry, at `tag` (or the committed tag). */
    setPodinfoImage(stack: string, tag: string | undefined): void {
        const env = this.envs.get(stack);
        if (!env) throw new Error(`no environment ${stack}`);
        const file = path.join(this.pulumi.projectDir, "fleet", "apps", stack, "kustomization.yaml");
        const k = YAML.parse(fs.readFileSync(file, "utf8"));
        const image = ((k.images ?? []) as { name: string; newName?: string; newTag?: string }[]).find(
            (i) => i.name === "ghcr.io/stefanprodan/podinfo",
        );
        if (!image) throw new Error(`${file} names no podinfo image`);
        image.newName = `${env.live.registry.host}/${podinfoRepository}`;
        if (tag) image.newTag = tag;
        fs.writeFileSync(file, YAML.stringify(k));
    }

    /** The digest the environment's registry serves for podinfo:TAG. */
    digest(stack: string, tag: string): string {
        const d = this.envs.get(stack)?.live.digests[`${podinfoRepository}:${tag}`];
        if (!d) throw new Error(`no podinfo:${tag} image in ${stack}'s registry`);
        return d;
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
        for (const e of this.envs.values()) e.registrar?.stop();
        const stops: Promise<unknown>[] = [...this.envs.values()].map((e) => e.live.stop());
        if (this.git) stops.push(this.git.stop());
        await Promise.allSettled(stops);
        this.pulumi?.remove();
    }
}

/** One file the program must commit: its exact text, or (for a file the test rewrites) its parsed YAML. */
export type ExpectedFile = { text: string } | { yaml: unknown; firstLine?: string };

/** Every file under dir, relative, with '/' separators. */
function filesUnder(dir: string): string[] {
    return fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
}

/** Flux's retry, wait and prune settings the program gives both Kustomizations of clusters/<stack>. */
function fluxKustomization(name: string, syncPath: string, extra: Record<string, unknown>): unknown {
    return {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name, namespace: "flux-system" },
        spec: {
            ...extra,
            interval: "10m",
            retryInterval: "10s",
            timeout: "5m",
            sourceRef: { kind: "GitRepository", name: "flux-system" },
            path: syncPath,
            prune: true,
            deletionPolicy: "WaitForTermination",
            wait: true,
        },
    };
}

/**
 * What `stack`'s up must commit, built here from this checkout's fleet/ folder
 * (not by the program's renderFleetTree): apps/base and infrastructure as they
 * are, the stack's own overlay apps/<stack> with podinfo taken from
 * `registryHost` (the one change setPodinfoImage makes), and clusters/<stack>:
 * the policies' Kustomization, waiting for each ClusterPolicy's Ready condition,
 * then the apps', depending on it. No other environment's overlay.
 */
export function expectedFleetTree(stack: string, registryHost: string): Record<string, ExpectedFile> {
    const fleet = path.join(repoRoot, "fleet");
    const tree: Record<string, ExpectedFile> = {};
    for (const rel of filesUnder(fleet).sort()) {
        if (!["apps/base/", "infrastructure/", `apps/${stack}/`].some((prefix) => rel.startsWith(prefix))) continue;
        tree[rel] = { text: fs.readFileSync(path.join(fleet, rel), "utf8") };
    }
    const overlay = `apps/${stack}/kustomization.yaml`;
    const k = YAML.parse(fs.readFileSync(path.join(fleet, overlay), "utf8"));
    const image = ((k.images ?? []) as { name: string; newName?: string }[]).find(
        (i) => i.name === "ghcr.io/stefanprodan/podinfo",
    );
    if (!image) throw new Error(`fleet/${overlay} names no podinfo image`);
    image.newName = `${registryHost}/${podinfoRepository}`;
    tree[overlay] = { yaml: k };
    const header = `# Generated by the gitops-kyverno Pulumi program for the ${stack} stack; edits are overwritten.`;
    const clusterPolicyReady = {
        apiVersion: "kyverno.io/v1",
        kind: "ClusterPolicy",
        current: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
    };
    tree[`clusters/${stack}/infrastructure.yaml`] = {
        firstLine: header,
        yaml: fluxKustomization("infra-configs", "./infrastructure/configs", {
            healthCheckExprs: [clusterPolicyReady],
        }),
    };
    tree[`clusters/${stack}/apps.yaml`] = {
        firstLine: header,
        yaml: fluxKustomization("apps", `./apps/${stack}`, { dependsOn: [{ name: "infra-configs" }] }),
    };
    return tree;
}

/** Fails unless `committed` (a file as the repository holds it) is what `expected` says. */
export function assertCommitted(file: string, committed: string, expected: ExpectedFile): void {
    if ("text" in expected) {
        assert.equal(committed, expected.text.trim(), file);
        return;
    }
    if (expected.firstLine !== undefined)
        assert.equal(committed.split("\n")[0], expected.firstLine, `${file}: first line`);
    assert.deepEqual(YAML.parse(committed), expected.yaml, file);
}

export const programNamespaces = ["flux-system", "kyverno", "cert-manager"];
const chartCrds = [
    "fluxinstances.fluxcd.controlplane.io",
    "gitrepositories.source.toolkit.fluxcd.io",
    "clusterpolicies.kyverno.io",
    "certificates.cert-manager.io",
];

/** No namespace of the program or of podinfo (not even Terminating), chart CRD, Helm release record or webhook remains. */
export async function assertClean(env: Environment): Promise<void> {
    const deadline = Date.now() + 90_000;
    for (;;) {
        const namespaces = await env.kube.list("/api/v1/namespaces");
        const left = namespaces
            .filter((n) => [...programNamespaces, "podinfo"].includes(n.metadata.name))
            .map((n) => `${n.metadata.name} (${n.status?.phase})`);
        if (left.length === 0) break;
        if (Date.now() > deadline) assert.fail(`${env.stack}: namespaces left after destroy: ${left.join(", ")}`);
        await new Promise((r) => setTimeout(r, 1000));
    }
    const terminating = (await env.kube.list("/api/v1/namespaces")).filter((n) => n.status?.phase === "Terminating");
    assert.deepEqual(
        terminating.map((n) => n.metadata.name),
        [],
        `${env.stack}: namespaces stuck Terminating`,
    );
    for (const crd of chartCrds) assert.equal(await env.kube.crd(crd), undefined, `${env.stack}: CRD ${crd} left`);
    const releases = (await env.kube.list("/api/v1/secrets?labelSelector=owner%3Dhelm")).map((s) => s.metadata.name);
    assert.deepEqual(releases, [], `${env.stack}: Helm release records left`);
    for (const kind of ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]) {
        const left = (await env.kube.list(`/apis/admissionregistration.k8s.io/v1/${kind}`)).map((w) => w.metadata.name);
        assert.deepEqual(left, [], `${env.stack}: ${kind} left`);
    }
}

/** Polls `check` every 200 ms until it returns true, failing after the bound with what `state` says. */
export async function until(
    what: string,
    seconds: number,
    check: () => Promise<boolean>,
    state: () => string = () => "",
): Promise<void> {
    const end = Date.now() + seconds * 1000;
    for (;;) {
        if (await check().catch(() => false)) return;
        if (Date.now() > end) throw new Error(`not within ${seconds}s: ${what}\n${state().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}
