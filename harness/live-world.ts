// What the live-loop test adds to the end-to-end world: the Flux CLI against
// one environment's cluster (staging unless told; view() gives another's), a clone of
// the fleet repository, reconcile requests, and a poll helper that states its bound.
import { execFileSync, spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeClient, KubeObject, readyCondition } from "../local-cluster/kube-client";
import { findBinary } from "../local-cluster/util";
import { E2eWorld, Environment } from "./e2e-world";
import { repoRoot } from "./pulumi-cli";

export { nextPodinfoTag } from "./e2e-world";

export const GITREPO = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system";
export const ks = (name: string) =>
    `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/${name}`;

export class LiveWorld extends E2eWorld {
    env!: Environment;

    constructor(readonly stack = "staging") {
        super();
    }

    /** Starts the world with this world's environment, then `others` (each a cluster of its own, one repository). */
    async startLive(others: string[] = []): Promise<void> {
        await this.start();
        this.env = await this.addEnvironment(this.stack);
        for (const stack of others) await this.addEnvironment(stack);
    }

    /** This world seen from another of its environments: the same Git server, repository and workspace. */
    view(stack: string): LiveWorld {
        const env = () => {
            const e = this.envs.get(stack);
            if (!e) throw new Error(`the world has no ${stack} environment (startLive([${JSON.stringify(stack)}]))`);
            return e;
        };
        return Object.create(this, { stack: { value: stack }, env: { get: env } }) as LiveWorld;
    }

    get kube(): KubeClient {
        return this.env.kube;
    }

    /** A clone of the fleet repository's main branch, for the Flux CLI. */
    clone(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-clone-"));
        this.git.gitAs(this.writeKey, ["clone", "--quiet", "--branch", "main", this.repoUrl, dir]);
        return dir;
    }

    /** `flux ARGS` against the environment's cluster: exit code and output. */
    flux(args: string[], cwd?: string): { code: number; output: string } {
        const { kubeconfig, context } = this.env.cluster;
        try {
            const out = execFileSync(
                findBinary("flux"),
                [...args, `--kubeconfig=${kubeconfig}`, `--context=${context}`],
                {
                    cwd,
                    encoding: "utf8",
                    stdio: ["ignore", "pipe", "pipe"],
                },
            );
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

    async podinfoImage(): Promise<string | undefined> {
        return (await this.deployment())?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
    }

    /** `npm run status -- STACK` against the environment's cluster, as a user runs it. */
    status(): SpawnSyncReturns<string> {
        const { kubeconfig, context } = this.env.cluster;
        return spawnSync(
            "bash",
            [
                path.join(repoRoot, "cli", "stack.sh"),
                "status",
                this.stack,
                "--kubeconfig",
                kubeconfig,
                "--context",
                context,
            ],
            {
                cwd: repoRoot,
                encoding: "utf8",
            },
        );
    }

    /** The loop's state in a few lines, for a failed bound: the source, each Kustomization, podinfo's image, and `extra`. */
    async describeLoop(extra: () => Promise<string[]> = async () => []): Promise<string> {
        const lines: string[] = [];
        for (const [what, p] of [
            ["GitRepository", GITREPO],
            ["ks/flux-system", ks("flux-system")],
            ["ks/infra-configs", ks("infra-configs")],
            ["ks/apps", ks("apps")],
        ]) {
            const c = readyCondition(await this.kube.get(p));
            lines.push(`${what}: ${c ? `${c.status} ${c.reason ?? ""} ${c.message ?? ""}` : "absent"}`);
        }
        lines.push(...(await extra()), `podinfo image: ${await this.podinfoImage()}`);
        return lines.join("\n");
    }
}

/** Polls until `check` returns a value, or fails naming `what` (with the last state seen) after the bound. */
export async function eventually<T>(
    what: string,
    boundSeconds: number,
    check: () => Promise<T | undefined>,
    state?: () => Promise<string>,
): Promise<{ value: T; seconds: number }> {
    const start = Date.now();
    for (;;) {
        const value = await check().catch(() => undefined);
        if (value !== undefined && value !== false) return { value, seconds: (Date.now() - start) / 1000 };
        if (Date.now() - start > boundSeconds * 1000) {
            throw new Error(
                `not within ${boundSeconds}s: ${what}${state ? `\n${await state().catch((e: Error) => e.message)}` : ""}`,
            );
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}
