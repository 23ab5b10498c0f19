// What the live-loop test runs against: the live local cluster (real Flux,
// Kyverno and charts; simulated nodes), the SSH Git server holding the fleet
// repository, and a Pulumi workspace whose project copy points podinfo's image
// at the local registry. The policies and everything else are the committed ones.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { DeployKeyRegistrar, registerDeployKeys } from "../../local-cluster/deploy-key-registrar";
import { KubeClient, KubeObject, readyCondition } from "../../local-cluster/kube-client";
import { LiveCluster, startLiveCluster } from "../../local-cluster/live-cluster";
import { fleetPodinfoTags } from "../../local-cluster/registry";
import { findBinary } from "../../local-cluster/util";
import { E2eWorld, Environment } from "../e2e/fixture";
import { repoRoot } from "../support/pulumi-cli";

export const podinfoRepository = "stefanprodan/podinfo";
/** The tag the test moves staging to, pushed beside the overlays' own. */
export const nextPodinfoTag = "6.9.3";

export class LiveWorld extends E2eWorld {
    live!: LiveCluster;
    staging!: Environment;
    private registrar?: DeployKeyRegistrar;

    async startLive(): Promise<void> {
        const tags = [...fleetPodinfoTags(path.join(repoRoot, "fleet")), nextPodinfoTag];
        this.live = await startLiveCluster({ name: "staging", images: tags.map((tag) => ({ repository: podinfoRepository, tag })) });
        await this.start(this.live.charts);
        this.setPodinfoImage("staging", undefined);
        this.staging = await this.addEnvironment("staging", this.live.cluster);
        this.registrar = registerDeployKeys(this.git, this.live.kube);
    }

    get kube(): KubeClient {
        return this.live.kube;
    }

    /** The project copy's overlay for `env`: podinfo from the local registry, at `tag` (or the committed tag). */
    setPodinfoImage(env: string, tag: string | undefined): void {
        const file = path.join(this.pulumi.projectDir, "fleet", "apps", env, "kustomization.yaml");
        const k = YAML.parse(fs.readFileSync(file, "utf8"));
        const image = (k.images as { name: string; newName?: string; newTag?: string }[]).find((i) => i.name === "ghcr.io/stefanprodan/podinfo");
        if (!image) throw new Error(`${file} names no podinfo image`);
        image.newName = `${this.live.registry.host}/${podinfoRepository}`;
        if (tag) image.newTag = tag;
        fs.writeFileSync(file, YAML.stringify(k));
    }

    digest(tag: string): string {
        const d = this.live.digests[`${podinfoRepository}:${tag}`];
        if (!d) throw new Error(`no image pushed for podinfo:${tag}`);
        return d;
    }

    /** A clone of the fleet repository's main branch, for the Flux CLI. */
    clone(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-clone-"));
        this.git.gitAs(this.writeKey, ["clone", "--quiet", "--branch", "main", this.repoUrl, dir]);
        return dir;
    }

    /** `flux ARGS` against the live cluster: exit code and output. */
    flux(args: string[], cwd?: string): { code: number; output: string } {
        const { kubeconfig, context } = this.live.cluster;
        try {
            const out = execFileSync(findBinary("flux"), [...args, `--kubeconfig=${kubeconfig}`, `--context=${context}`], {
                cwd,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            });
            return { code: 0, output: out };
        } catch (err) {
            const e = err as { status?: number; stdout?: string; stderr?: string };
            return { code: e.status ?? -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
        }
    }

    /** Asks Flux to reconcile an object now, as `flux reconcile` does. */
    async requestReconcile(apiPath: string): Promise<string> {
        const at = new Date().toISOString();
        await this.kube.patch(apiPath, { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": at } } });
        return at;
    }

    async ready(apiPath: string): Promise<boolean> {
        return readyCondition(await this.kube.get(apiPath))?.status === "True";
    }

    async deployment(): Promise<KubeObject | undefined> {
        return this.kube.get("/apis/apps/v1/namespaces/podinfo/deployments/podinfo");
    }

    async stopLive(): Promise<void> {
        this.registrar?.stop();
        await this.stop();
        await this.live?.stop();
    }
}

/** Polls until `check` returns a value, or fails naming `what` with the last state seen. */
export async function eventually<T>(what: string, boundSeconds: number, check: () => Promise<T | undefined>, state?: () => Promise<string>): Promise<{ value: T; seconds: number }> {
    const start = Date.now();
    for (;;) {
        const value = await check().catch(() => undefined);
        if (value !== undefined && value !== false) return { value, seconds: (Date.now() - start) / 1000 };
        if (Date.now() - start > boundSeconds * 1000) {
            throw new Error(`not within ${boundSeconds}s: ${what}${state ? `\n${await state().catch((e: Error) => e.message)}` : ""}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}
