// The kubelet's part for the host controllers: one process per Running pod of
// each controller's Deployment (so replicas are processes, each with its pod's
// name, its pod-bound ServiceAccount token and its own ports), started when the
// pod runs, restarted with a back-off when it dies, stopped when the pod goes.
// A rollout therefore replaces processes as it replaces pods, and a pod that
// serves a Service gets EndpointSlices that follow its process (pod-endpoints.ts).
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeCluster } from "./control-plane";
import {
    Container,
    containerEnv,
    expandVars,
    hostArgs,
    HostController,
    hostControllers,
    mainContainer,
} from "./host-controllers";
import type { KubeClient, KubeObject } from "./kube-client";
import { hostPodAddress, PodEndpoints } from "./pod-endpoints";
import { podIdentity, PodIdentity } from "./pod-identity";
import { podSandboxUnavailable, sandboxed } from "./pod-sandbox";
import { hasExited, killGroup, launch, logPath, stopProcess } from "./processes";
import { findBinary, freePort } from "./util";

export interface HostProcessStatus {
    /** "namespace/deployment". */
    deployment: string;
    pod: string;
    pid?: number;
    restarts: number;
    log: string;
}

interface Replica {
    controller: HostController;
    /** "namespace/deployment". */
    deployment: string;
    pod: KubeObject;
    process: ChildProcess;
    identity: PodIdentity;
    endpoints?: PodEndpoints;
    restarts: number;
    /** Not before this time (ms) after an exit: the kubelet's crash back-off. */
    restartAt: number;
    stopping: boolean;
    /** Set once the process exits: its endpoints' withdrawal (what crash() waits for). */
    withdrawn?: Promise<void>;
}

export class HostControllerSupervisor {
    /** Keyed "namespace/pod". */
    private readonly replicas = new Map<string, Replica>();
    /** Deployments ("namespace/deployment") or pods ("namespace/pod") held down after crash(). */
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
        const noSandbox = podSandboxUnavailable();
        if (noSandbox)
            this.note(
                `pods run without their sandbox (no ServiceAccount volume, Flux's leader election off): ${noSandbox}`,
            );
        if (this.controllers.some((c) => c.serves)) hostPodAddress(); // and a host without an endpoint address
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

    /** One entry per replica process. */
    status(): HostProcessStatus[] {
        return [...this.replicas.values()].map((r) => ({
            deployment: r.deployment,
            pod: r.pod.metadata.name,
            pid: hasExited(r.process) ? undefined : r.process.pid,
            restarts: r.restarts,
            log: logPath(this.cluster.dir, logName(r.pod)),
        }));
    }

    /**
     * Kills processes (SIGKILL, so they clean nothing up, as when a node is lost)
     * and keeps them down until release(). `id` is "namespace/deployment" (every
     * replica) or "namespace/pod" (one). Returns once their endpoints are withdrawn.
     */
    async crash(id: string): Promise<void> {
        this.held.add(id);
        while (this.polling) await new Promise((r) => setTimeout(r, 50));
        for (const [key, r] of this.replicas) {
            if ((r.deployment !== id && key !== id) || hasExited(r.process)) continue;
            const exited = new Promise<void>((resolve) => r.process.once("exit", () => resolve()));
            killGroup(r.process, "SIGKILL");
            await exited;
            await r.withdrawn;
            this.note(`${key}: crashed on request, held down`);
        }
    }

    /** Lets crashed processes be started again at the next poll. */
    release(id: string): void {
        this.held.delete(id);
    }

    async stop(): Promise<void> {
        this.stopped = true;
        if (this.timer) clearTimeout(this.timer);
        while (this.polling) await new Promise((r) => setTimeout(r, 50));
        await Promise.all([...this.replicas.keys()].map((k) => this.stopReplica(k, false)));
    }

    private get controllers(): HostController[] {
        return this.opts.controllers ?? hostControllers;
    }

    private async poll(): Promise<void> {
        this.polling = true;
        try {
            for (const c of this.controllers) await this.reconcile(c);
        } finally {
            this.polling = false;
        }
    }

    /** Matches the processes of one controller to its Deployment's Running pods. */
    private async reconcile(c: HostController): Promise<void> {
        const id = `${c.namespace}/${c.deployment}`;
        const deploy = await this.kube.get(`/apis/apps/v1/namespaces/${c.namespace}/deployments/${c.deployment}`);
        const removed = !deploy || Boolean(deploy.metadata.deletionTimestamp);
        const pods = removed ? [] : await this.runningPods(deploy);
        for (const [key, r] of this.replicas) {
            if (r.deployment === id && !pods.some((p) => p.metadata.uid === r.pod.metadata.uid))
                await this.stopReplica(key, true);
        }
        if (removed || this.held.has(id)) return;
        for (const pod of pods) {
            const key = `${c.namespace}/${pod.metadata.name}`;
            if (this.held.has(key) || this.stopped) continue;
            const current = this.replicas.get(key);
            if (current && !hasExited(current.process)) {
                await current.identity.refresh();
                await current.endpoints?.probe();
                continue;
            }
            if (current && Date.now() < current.restartAt) continue;
            if (current)
                this.note(`${key}: exited (${current.process.exitCode ?? current.process.signalCode}), restarting`);
            await this.launchFor(c, id, pod, current?.restarts ?? -1);
        }
    }

    /** The Deployment's pods that kwok runs, not being deleted. */
    private async runningPods(deploy: KubeObject): Promise<KubeObject[]> {
        const labels: Record<string, string> = deploy.spec?.selector?.matchLabels ?? {};
        const selector = encodeURIComponent(
            Object.entries(labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(","),
        );
        const pods = await this.kube.list(
            `/api/v1/namespaces/${deploy.metadata.namespace}/pods?labelSelector=${selector}`,
        );
        return pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running");
    }

    private async launchFor(c: HostController, deployment: string, pod: KubeObject, restarts: number): Promise<void> {
        const key = `${c.namespace}/${pod.metadata.name}`;
        const dir = path.join(this.cluster.dir, "host", pod.metadata.name);
        fs.mkdirSync(dir, { recursive: true });
        const container = mainContainer(pod);
        const env = containerEnv(pod, container, dir);
        const identity = await podIdentity(this.cluster, this.kube, dir, {
            namespace: c.namespace,
            serviceAccount: pod.spec?.serviceAccountName ?? "default",
            pod: { name: pod.metadata.name, uid: pod.metadata.uid! },
        });
        const servedPort = c.serves ? await freePort() : undefined;
        const overrides = await c.hostFlags({
            cluster: this.cluster,
            kubeconfig: identity.kubeconfig,
            dir,
            port: freePort,
            servedPort,
            webUiPort: this.opts.webUiPort,
            sandboxed: !podSandboxUnavailable(),
        });
        const args = hostArgs(expandVars(container.args ?? [], env), overrides);
        fs.writeFileSync(path.join(dir, "command.json"), JSON.stringify({ binary: c.binary, args, env }, null, 2));
        const endpoints = servedPort === undefined ? undefined : await this.endpointsFor(c, pod, container, servedPort);
        const command = podSandboxUnavailable()
            ? { bin: findBinary(c.binary), args }
            : sandboxed(findBinary(c.binary), args, {
                  serviceAccountDir: identity.serviceAccountDir,
                  hostname: pod.metadata.name,
              });
        const proc = launch(command.bin, command.args, {
            dir,
            logFile: logPath(this.cluster.dir, logName(pod)),
            env: { ...env, KUBECONFIG: identity.kubeconfig },
        });
        const replica: Replica = {
            controller: c,
            deployment,
            pod,
            process: proc,
            identity,
            endpoints,
            restarts: restarts + 1,
            restartAt: 0,
            stopping: false,
        };
        // As the kubelet reports a dead container at once: no traffic to it, and a back-off before the restart.
        proc.once("exit", () => {
            replica.restartAt = Date.now() + Math.min(5000, 500 * replica.restarts);
            if (!replica.stopping)
                replica.withdrawn = endpoints
                    ?.withdraw()
                    .catch((err: Error) => this.note(`${key}: withdraw failed: ${err.message}`));
        });
        this.replicas.set(key, replica);
        this.note(
            `${key}: started as ${identity.user} (pid ${proc.pid}${servedPort ? `, serving on ${servedPort}` : ""})`,
        );
    }

    private async endpointsFor(
        c: HostController,
        pod: KubeObject,
        container: Container,
        servedPort: number,
    ): Promise<PodEndpoints> {
        const port = (container.ports ?? []).find((p) => p.name === c.serves || String(p.containerPort) === c.serves);
        if (!port) throw new Error(`${pod.metadata.name}: no container port ${c.serves} to serve`);
        const probe = container.readinessProbe?.httpGet;
        const probed =
            probe && probe.scheme === "HTTPS" && (probe.port === port.name || probe.port === port.containerPort);
        const endpoints = new PodEndpoints(this.kube, pod, port, servedPort, probed ? probe.path : undefined);
        await endpoints.publish();
        return endpoints;
    }

    /** Stops a replica's process; `podGone`: its pod went, so its endpoints go too. */
    private async stopReplica(key: string, podGone: boolean): Promise<void> {
        const r = this.replicas.get(key);
        if (!r || r.stopping) return;
        r.stopping = true;
        // A terminating pod leaves its Service's endpoints before its container stops.
        if (podGone) await r.endpoints?.remove().catch(() => undefined);
        await stopProcess(r.process);
        this.replicas.delete(key);
        if (podGone) this.note(`${key}: pod gone, stopped`);
    }

    private note(message: string): void {
        fs.appendFileSync(
            path.join(this.cluster.dir, "host-controllers.log"),
            `${new Date().toISOString()} ${message}\n`,
        );
    }
}

function logName(pod: KubeObject): string {
    return `host-${pod.metadata.name}`;
}
