// The live local cluster: real in everything but containers.
//   control plane   etcd, kube-apiserver, kube-controller-manager (with the workload
//                   controllers), kube-scheduler
//   nodes and pods  kwok: one fake Node; pods become Ready, Jobs' pods complete
//   controllers     the Flux Operator, source-controller, kustomize-controller and
//                   Kyverno's admission controller as host processes, started and
//                   stopped with the Deployments that describe them
//   around it       a chart mirror with the real charts, an OCI registry with small
//                   images for the tags the fleet uses
// Everything listens on 127.0.0.1; stop() ends every process and removes the folder.
import * as path from "node:path";
import type { ChildProcess } from "node:child_process";
import { startChartMirror } from "./charts";
import { DEFAULT_CONTROLLERS, KubeCluster, startKubeCluster, WORKLOAD_CONTROLLERS } from "./control-plane";
import type { HelmRepo } from "./helm-repo";
import { HostControllerSupervisor } from "./host-supervisor";
import { KubeClient } from "./kube-client";
import { startFakeNodes } from "./nodes";
import { stopProcess } from "./processes";
import { LocalRegistry, startLocalRegistry } from "./registry";
import { freePort } from "./util";

export interface LiveClusterOptions {
    /** Cluster and context name in the kubeconfig. */
    name?: string;
    /** Fixed ports (the demo prints them); free ones otherwise. */
    ports?: { webUi?: number; registry?: number; charts?: number };
    /** Images to push to the registry, e.g. { repository: "stefanprodan/podinfo", tag: "6.9.2" }. */
    images?: { repository: string; tag: string }[];
}

export interface LiveCluster {
    cluster: KubeCluster;
    kube: KubeClient;
    registry: LocalRegistry;
    charts: HelmRepo;
    /** The Flux Operator's web UI, once the operator runs. */
    webUiUrl: string;
    supervisor: HostControllerSupervisor;
    /** Digests of the pushed images, keyed "repository:tag". */
    digests: Record<string, string>;
    stop(): Promise<void>;
}

export async function startLiveCluster(opts: LiveClusterOptions = {}): Promise<LiveCluster> {
    const cluster = await startKubeCluster({
        name: opts.name ?? "live",
        controllers: [...DEFAULT_CONTROLLERS, ...WORKLOAD_CONTROLLERS],
        scheduler: true,
    });
    const stops: (() => Promise<void>)[] = [() => cluster.stop()];
    const stop = async () => {
        for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    };
    try {
        const kube = new KubeClient(cluster.server, cluster.certs);
        const kwok: ChildProcess = await startFakeNodes(cluster, kube);
        stops.push(() => stopProcess(kwok));

        const registry = await startLocalRegistry(cluster.dir, opts.ports?.registry);
        stops.push(() => registry.stop());
        const digests: Record<string, string> = {};
        for (const image of opts.images ?? [])
            digests[`${image.repository}:${image.tag}`] = await registry.push(image.repository, image.tag);

        const charts = await startChartMirror(path.join(cluster.dir, "charts"), opts.ports?.charts);
        stops.push(() => charts.stop());

        const webUiPort = opts.ports?.webUi ?? (await freePort());
        const supervisor = new HostControllerSupervisor(cluster, kube, { webUiPort });
        supervisor.start();
        stops.push(() => supervisor.stop());

        return {
            cluster,
            kube,
            registry,
            charts,
            webUiUrl: `http://127.0.0.1:${webUiPort}`,
            supervisor,
            digests,
            stop,
        };
    } catch (err) {
        await stop();
        throw err;
    }
}
