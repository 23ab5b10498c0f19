// The real controllers, as host processes standing in for the pods of the
// Deployments that the charts and the Flux Operator create. kwok makes those
// pods Running; the supervisor (host-supervisor.ts) runs one process per pod.
//
// Each process gets its pod's container args and env (so what the chart or
// the FluxInstance configures is what runs), minus the flags that only make
// sense inside a pod, which are replaced by host equivalents: a kubeconfig,
// loopback ports, folders in the cluster's temp dir. Each process runs as its
// pod's ServiceAccount (pod-identity.ts): what the RBAC does not grant fails
// here as in a cluster.
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeCluster } from "./control-plane";
import type { KubeObject } from "./kube-client";
import { hostPodAddress } from "./pod-endpoints";
import { toolHome } from "./tool-home";

/** What the host flags of a controller may use. */
interface HostContext {
    cluster: KubeCluster;
    /** A kubeconfig with the pod's ServiceAccount token. */
    kubeconfig: string;
    /** A folder of this process's own. */
    dir: string;
    port(): Promise<number>;
    /** The port this replica serves its Service's traffic on (see HostController.serves). */
    servedPort?: number;
    /** The port the Flux Operator's web UI listens on. */
    webUiPort: number;
    /** The process runs in its pod's sandbox (pod-sandbox.ts): ServiceAccount volume and hostname. */
    sandboxed: boolean;
}

export interface HostController {
    namespace: string;
    deployment: string;
    binary: string;
    /** The container port (name) the pod serves through its Services: each replica's process gets a port of its own. */
    serves?: string;
    /** Flags to set (a value) or drop (undefined) whatever the container says. */
    hostFlags(ctx: HostContext): Promise<Record<string, string | undefined>>;
}

const loopback = async (ctx: HostContext) => `127.0.0.1:${await ctx.port()}`;

/** Flags of every Flux controller (and the operator) that bind ports or elect leaders. */
const fluxRuntimeFlags = async (ctx: HostContext) => ({
    "--metrics-addr": await loopback(ctx),
    "--health-addr": await loopback(ctx),
    // Leader election stays as the Deployment sets it, except outside a pod sandbox: controller-runtime
    // finds its Lease's namespace only in the ServiceAccount volume (pod-sandbox.ts).
    ...(ctx.sandboxed ? {} : { "--enable-leader-election": "false" }),
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
        // Its webhooks go through the chart's Service (kyverno-svc), to this replica's port.
        serves: "https",
        hostFlags: async (ctx) => {
            return {
                "--kubeconfig": ctx.kubeconfig,
                // Without --serverIP Kyverno registers its webhooks by Service, with the caBundle it writes.
                "--serverIP": undefined,
                "--webhookServerPort": String(ctx.servedPort),
                "--metricsPort": String(await ctx.port()),
                "--profilePort": String(await ctx.port()),
                // controller-runtime's own metrics server defaults to :8080: a second cluster's
                // Kyverno (two environments on one host) would crash on that port.
                "--controllerRuntimeMetricsAddress": `127.0.0.1:${await ctx.port()}`,
            };
        },
    },
];

export interface Container {
    name: string;
    args?: string[];
    command?: string[];
    env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    ports?: { name?: string; containerPort: number }[];
    readinessProbe?: { httpGet?: { path?: string; port?: number | string; scheme?: string } };
}

/** The pod's container that runs the controller: "manager" (Flux), "kyverno", else the first. */
export function mainContainer(pod: KubeObject): Container {
    const containers = (pod.spec?.containers ?? []) as Container[];
    return containers.find((c) => c.name === "manager" || c.name === "kyverno") ?? containers[0];
}

/** The container's env with the pod's downward-API fields (Kyverno's leader election names itself by its pod). */
export function containerEnv(pod: KubeObject, container: Container, dir: string): Record<string, string> {
    const fields: Record<string, string> = {
        "metadata.namespace": pod.metadata.namespace ?? "default",
        "metadata.name": pod.metadata.name,
        "spec.serviceAccountName": pod.spec?.serviceAccountName ?? "default",
        "spec.nodeName": pod.spec?.nodeName ?? "",
        "status.podIP": podAddress(),
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

/** The address the pod's endpoints carry, or loopback on a host without another (nothing then serves a Service). */
function podAddress(): string {
    try {
        return hostPodAddress();
    } catch {
        return "127.0.0.1";
    }
}

/** Kubernetes' $(VAR) expansion of container args. */
export function expandVars(args: string[], env: Record<string, string>): string[] {
    return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m));
}

/** The container's args with each overridden flag replaced (or dropped). */
export function hostArgs(args: string[], overrides: Record<string, string | undefined>): string[] {
    const flagName = (a: string) => a.split("=")[0];
    const kept = args.filter((a) => !(flagName(a) in overrides));
    const added = Object.entries(overrides).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    return [...kept, ...added];
}
