// The real controllers, as host processes standing in for the pods of the
// Deployments that the charts and the Flux Operator create. kwok makes those
// pods Ready; this supervisor runs the program each Deployment describes:
// it starts one when the Deployment appears, restarts it when the Deployment's
// container changes or the process dies, and stops it when the Deployment is
// deleted or scaled to zero.
//
// Each process gets the container's own args and env (so what the chart or
// the FluxInstance configures is what runs), minus the flags that only make
// sense inside a pod, which are replaced by host equivalents: a kubeconfig,
// loopback ports, folders in the cluster's temp dir, no leader election.
// Each process runs as its pod's ServiceAccount (pod-identity.ts), unless it
// says why not (asAdmin): what the RBAC does not grant fails here as in a cluster.
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeCluster } from "./control-plane";
import type { KubeClient, KubeObject } from "./kube-client";
import { podIdentity, PodIdentity } from "./pod-identity";
import { hasExited, killGroup, launch, logPath, stopProcess } from "./processes";
import { toolHome } from "./tool-home";
import { findBinary, freePort } from "./util";

/** What the host flags of a controller may use. */
interface HostContext {
    cluster: KubeCluster;
    /** A kubeconfig with the pod's ServiceAccount token. */
    kubeconfig: string;
    /** A folder of this process's own. */
    dir: string;
    port(): Promise<number>;
    /** The port the Flux Operator's web UI listens on. */
    webUiPort: number;
}

interface HostController {
    namespace: string;
    deployment: string;
    binary: string;
    /** Runs with the cluster's admin kubeconfig, not its pod's ServiceAccount: why. */
    asAdmin?: string;
    /** Flags to set (a value) or drop (undefined) whatever the container says. */
    hostFlags(ctx: HostContext): Promise<Record<string, string | undefined>>;
    /** Once the Deployment is deleted (an uninstall) and the process stopped; not when it is only scaled to zero. */
    afterRemoval?(kube: KubeClient): Promise<void>;
}

const loopback = async (ctx: HostContext) => `127.0.0.1:${await ctx.port()}`;

/** Flags of every Flux controller (and the operator) that bind ports or elect leaders. */
const fluxRuntimeFlags = async (ctx: HostContext) => ({
    "--metrics-addr": await loopback(ctx),
    "--health-addr": await loopback(ctx),
    "--enable-leader-election": "false",
    // notification-controller is simulated: nothing receives events.
    "--events-addr": undefined,
});

export const hostControllers: HostController[] = [
    {
        namespace: "flux-system",
        deployment: "flux-operator",
        binary: "flux-operator",
        hostFlags: async (ctx) => ({
            ...(await fluxRuntimeFlags(ctx)),
            // Flux's distribution manifests, as the operator's image carries them.
            "--storage-path": path.join(toolHome("flux-operator"), "data"),
            "--web-server-port": String(ctx.webUiPort),
        }),
    },
    {
        namespace: "flux-system",
        deployment: "source-controller",
        binary: "source-controller",
        hostFlags: async (ctx) => {
            const storage = await loopback(ctx);
            fs.mkdirSync(path.join(ctx.dir, "storage"), { recursive: true });
            return {
                ...(await fluxRuntimeFlags(ctx)),
                "--storage-path": path.join(ctx.dir, "storage"),
                "--storage-addr": storage,
                // kustomize-controller downloads artifacts from this address.
                "--storage-adv-addr": storage,
            };
        },
    },
    {
        namespace: "flux-system",
        deployment: "kustomize-controller",
        binary: "kustomize-controller",
        hostFlags: fluxRuntimeFlags,
    },
    {
        namespace: "kyverno",
        deployment: "kyverno-admission-controller",
        binary: "kyverno-admission-controller",
        // Kyverno's chart grants its rules through aggregated ClusterRoles. With kube-controller-manager's
        // aggregation controller running (as it must for them), that controller re-creates the aggregated
        // roles while Helm uninstalls Kyverno, and the uninstall waits on them until its timeout (README).
        asAdmin: "its chart's aggregated ClusterRoles and Helm's uninstall wait (README)",
        hostFlags: async (ctx) => {
            const webhookPort = await ctx.port();
            return {
                "--kubeconfig": ctx.kubeconfig,
                // Out of cluster: webhooks are registered as https://<serverIP><path>.
                "--serverIP": `127.0.0.1:${webhookPort}`,
                "--webhookServerPort": String(webhookPort),
                "--metricsPort": String(await ctx.port()),
                "--profilePort": String(await ctx.port()),
                // controller-runtime's own metrics server defaults to :8080: a second cluster's
                // Kyverno (two environments on one host) would crash on that port.
                "--controllerRuntimeMetricsAddress": `127.0.0.1:${await ctx.port()}`,
            };
        },
        // What the chart's pre-delete hook Job does in a real cluster (here its pod
        // only completes): remove the webhook configurations Kyverno registered, so
        // the API server stops calling an admission controller that is gone. Scaled
        // to zero, Kyverno is down, not uninstalled: its webhooks stay and fail as
        // they would against a Service with no endpoints.
        afterRemoval: async (kube) => {
            const selector = encodeURIComponent("webhook.kyverno.io/managed-by=kyverno");
            for (const kind of ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]) {
                await kube.request("DELETE", `/apis/admissionregistration.k8s.io/v1/${kind}?labelSelector=${selector}`);
            }
        },
    },
];

export interface HostProcessStatus {
    deployment: string;
    pid?: number;
    restarts: number;
    log: string;
}

interface Running {
    controller: HostController;
    key: string;
    process: ChildProcess;
    identity: PodIdentity;
    restarts: number;
    stopping: boolean;
}

export class HostControllerSupervisor {
    private readonly running = new Map<string, Running>();
    /** Deployments stopped by a scale to zero: their removal still needs its cleanup. */
    private readonly scaledDown = new Set<string>();
    /** Deployments whose process is held down after crash(), as a crash loop or a lost node leaves them. */
    private readonly held = new Set<string>();
    private timer?: NodeJS.Timeout;
    private polling = false;
    private stopped = false;

    constructor(
        private readonly cluster: KubeCluster,
        private readonly kube: KubeClient,
        private readonly opts: { webUiPort: number; controllers?: HostController[] },
    ) {}

    start(): void {
        for (const c of this.controllers) findBinary(c.binary); // fail now, naming a missing tool
        const tick = () => {
            if (this.stopped) return;
            this.poll()
                .catch((err: unknown) => this.note(`poll failed: ${(err as Error).message}`))
                .finally(() => {
                    if (!this.stopped) this.timer = setTimeout(tick, 500);
                });
        };
        tick();
    }

    status(): HostProcessStatus[] {
        return [...this.running.entries()].map(([deployment, r]) => ({
            deployment,
            pid: hasExited(r.process) ? undefined : r.process.pid,
            restarts: r.restarts,
            log: logPath(this.cluster.dir, logName(r.controller)),
        }));
    }

    /**
     * Kills a controller's process (SIGKILL, so it cleans nothing up, as when its
     * node is lost) and keeps it down until release(); its Deployment is left as
     * it is. `id` is "namespace/deployment".
     */
    async crash(id: string): Promise<void> {
        this.held.add(id);
        while (this.polling) await new Promise((r) => setTimeout(r, 50));
        const r = this.running.get(id);
        if (!r || hasExited(r.process)) return;
        const exited = new Promise<void>((resolve) => r.process.once("exit", () => resolve()));
        killGroup(r.process, "SIGKILL");
        await exited;
        this.note(`${id}: crashed on request, held down`);
    }

    /** Lets a crashed controller be started again at the next poll. */
    release(id: string): void {
        this.held.delete(id);
    }

    async stop(): Promise<void> {
        this.stopped = true;
        if (this.timer) clearTimeout(this.timer);
        while (this.polling) await new Promise((r) => setTimeout(r, 50));
        await Promise.all([...this.running.keys()].map((k) => this.stopOne(k)));
    }

    private get controllers(): HostController[] {
        return this.opts.controllers ?? hostControllers;
    }

    private async poll(): Promise<void> {
        this.polling = true;
        try {
            for (const c of this.controllers) {
                const id = `${c.namespace}/${c.deployment}`;
                const deploy = await this.kube.get(
                    `/apis/apps/v1/namespaces/${c.namespace}/deployments/${c.deployment}`,
                );
                const removed = !deploy || Boolean(deploy.metadata.deletionTimestamp);
                const wanted = !removed && (deploy.spec?.replicas ?? 1) > 0;
                const current = this.running.get(id);
                if (!wanted) {
                    if (current) {
                        await this.stopOne(id);
                        if (!removed) this.note(`${id}: scaled to zero, stopped`);
                    }
                    if (removed && (current || this.scaledDown.has(id))) {
                        this.scaledDown.delete(id);
                        await c
                            .afterRemoval?.(this.kube)
                            .catch((err: Error) => this.note(`${id}: cleanup after removal failed: ${err.message}`));
                    } else if (!removed) this.scaledDown.add(id);
                    continue;
                }
                this.scaledDown.delete(id);
                if (this.held.has(id)) continue;
                const container = mainContainer(deploy);
                const key = JSON.stringify([container.args ?? [], container.command ?? [], container.env ?? []]);
                if (current && current.key === key && !hasExited(current.process)) {
                    await current.identity.refresh();
                    continue;
                }
                const restarts = current ? current.restarts + 1 : 0;
                if (current) {
                    this.note(
                        `${id}: ${hasExited(current.process) ? `exited (${current.process.exitCode ?? current.process.signalCode}), restarting` : "container changed, restarting"}`,
                    );
                    await this.stopOne(id);
                    if (restarts > 1) await new Promise((r) => setTimeout(r, Math.min(5000, 500 * restarts)));
                }
                if (this.stopped) return;
                const { proc, identity } = await this.launchFor(c, deploy, container);
                this.running.set(id, { controller: c, key, process: proc, identity, restarts, stopping: false });
            }
        } finally {
            this.polling = false;
        }
    }

    private async launchFor(
        c: HostController,
        deploy: KubeObject,
        container: Container,
    ): Promise<{ proc: ChildProcess; identity: PodIdentity }> {
        const dir = path.join(this.cluster.dir, "host", c.deployment);
        fs.mkdirSync(dir, { recursive: true });
        const env = containerEnv(deploy, container, dir);
        // Not bound to a pod: one process stands for the Deployment's pods, which a rollout replaces under it.
        const identity: PodIdentity = c.asAdmin
            ? {
                  user: "the cluster's admin (system:masters)",
                  kubeconfig: this.cluster.kubeconfig,
                  refresh: async () => undefined,
              }
            : await podIdentity(this.cluster, this.kube, dir, {
                  namespace: c.namespace,
                  serviceAccount: deploy.spec?.template?.spec?.serviceAccountName ?? "default",
              });
        const overrides = await c.hostFlags({
            cluster: this.cluster,
            kubeconfig: identity.kubeconfig,
            dir,
            port: freePort,
            webUiPort: this.opts.webUiPort,
        });
        const args = hostArgs(expandVars(container.args ?? [], env), overrides);
        fs.writeFileSync(path.join(dir, "command.json"), JSON.stringify({ binary: c.binary, args, env }, null, 2));
        const proc = launch(findBinary(c.binary), args, {
            dir,
            logFile: logPath(this.cluster.dir, logName(c)),
            env: { ...env, KUBECONFIG: identity.kubeconfig },
        });
        this.note(`${c.namespace}/${c.deployment}: started as ${identity.user} (pid ${proc.pid})`);
        return { proc, identity };
    }

    private async stopOne(id: string): Promise<void> {
        const r = this.running.get(id);
        if (!r || r.stopping) return;
        r.stopping = true;
        await stopProcess(r.process);
        this.running.delete(id);
    }

    private note(message: string): void {
        fs.appendFileSync(
            path.join(this.cluster.dir, "host-controllers.log"),
            `${new Date().toISOString()} ${message}\n`,
        );
    }
}

function logName(c: HostController): string {
    return `host-${c.deployment}`;
}

interface Container {
    name: string;
    args?: string[];
    command?: string[];
    env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}

/** The container that runs the controller: "manager" (Flux), "kyverno", else the first. */
function mainContainer(deploy: KubeObject): Container {
    const containers = (deploy.spec?.template?.spec?.containers ?? []) as Container[];
    return containers.find((c) => c.name === "manager" || c.name === "kyverno") ?? containers[0];
}

/** The container's env with the downward-API fields a host process can know. */
function containerEnv(deploy: KubeObject, container: Container, dir: string): Record<string, string> {
    const fields: Record<string, string> = {
        "metadata.namespace": deploy.metadata.namespace ?? "default",
        "metadata.name": `${deploy.metadata.name}-host`,
        "spec.serviceAccountName": deploy.spec?.template?.spec?.serviceAccountName ?? "default",
        "spec.nodeName": "kwok-node-0",
        "status.podIP": "127.0.0.1",
    };
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.fieldRef && fields[e.valueFrom.fieldRef.fieldPath] !== undefined)
            env[e.name] = fields[e.valueFrom.fieldRef.fieldPath];
    }
    // Sigstore's trust root cache: a writable folder of this process.
    if (env.TUF_ROOT !== undefined) env.TUF_ROOT = path.join(dir, "sigstore");
    return env;
}

/** Kubernetes' $(VAR) expansion of container args. */
function expandVars(args: string[], env: Record<string, string>): string[] {
    return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m));
}

/** The container's args with each overridden flag replaced (or dropped). */
export function hostArgs(args: string[], overrides: Record<string, string | undefined>): string[] {
    const flagName = (a: string) => a.split("=")[0];
    const kept = args.filter((a) => !(flagName(a) in overrides));
    const added = Object.entries(overrides).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    return [...kept, ...added];
}
