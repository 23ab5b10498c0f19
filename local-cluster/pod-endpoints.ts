// What the kubelet and the EndpointSlice controller do for a pod that serves a
// Service, done for a host process: one EndpointSlice per (Service, pod), whose
// endpoint is Ready once the process answers its readiness probe and not Ready
// the moment the process exits. The API server routes webhooks to them
// (--enable-aggregator-routing): a webhook reaches Kyverno through its chart's
// Service, with the caBundle Kyverno writes, and a dead replica is skipped.
//
// Endpoints and EndpointSlices refuse loopback addresses, so the endpoint is
// this host's first non-loopback IPv4 address; each replica has a port of its own.
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import type { KubeClient, KubeObject } from "./kube-client";

const managedBy = "host-controllers.gitops-kyverno.io";

/** The host's address for pod endpoints: the first non-internal IPv4 address. */
export function hostPodAddress(): string {
    for (const addresses of Object.values(os.networkInterfaces())) {
        const found = (addresses ?? []).find((a) => a.family === "IPv4" && !a.internal);
        if (found) return found.address;
    }
    throw new Error(
        "no non-loopback IPv4 address on this host: the API server routes to Kyverno's webhooks through " +
            "EndpointSlices, which refuse 127.0.0.0/8 (bring up a network interface, e.g. a dummy one)",
    );
}

interface ContainerPort {
    name?: string;
    containerPort: number;
}

interface ServicePort {
    name?: string;
    port: number;
    targetPort?: number | string;
}

/** A host process's endpoints for the Services that select its pod on `portName`. */
export class PodEndpoints {
    private slices: string[] = [];
    private ready = false;
    /** The host's endpoint address, read once. */
    private readonly address = hostPodAddress();

    constructor(
        private readonly kube: KubeClient,
        private readonly pod: KubeObject,
        private readonly port: ContainerPort,
        private readonly hostPort: number,
        private readonly probePath: string | undefined,
    ) {}

    /** Writes the slices (not Ready) for every Service that selects the pod on this port. */
    async publish(): Promise<void> {
        const ns = this.pod.metadata.namespace!;
        const labels = this.pod.metadata.labels ?? {};
        for (const svc of await this.kube.list(`/api/v1/namespaces/${ns}/services`)) {
            const selector: Record<string, string> = svc.spec?.selector ?? {};
            if (Object.keys(selector).length === 0) continue;
            if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
            const svcPort = ((svc.spec?.ports ?? []) as ServicePort[]).find((p) => this.targets(p));
            if (!svcPort) continue;
            const name = `${svc.metadata.name}-${this.pod.metadata.name}`.slice(0, 63).replace(/-+$/, "");
            const slicePath = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${name}`;
            const apply = `${slicePath}?fieldManager=${managedBy}&force=true`;
            await this.kube.request(
                "PATCH",
                apply,
                {
                    apiVersion: "discovery.k8s.io/v1",
                    kind: "EndpointSlice",
                    metadata: {
                        name,
                        namespace: ns,
                        labels: {
                            "kubernetes.io/service-name": svc.metadata.name,
                            "endpointslice.kubernetes.io/managed-by": managedBy,
                        },
                        // Goes with the pod, as the EndpointSlice controller's would.
                        ownerReferences: [
                            { apiVersion: "v1", kind: "Pod", name: this.pod.metadata.name, uid: this.pod.metadata.uid },
                        ],
                    },
                    addressType: "IPv4",
                    endpoints: [this.endpoint(false)],
                    ports: [{ name: svcPort.name ?? "", port: this.hostPort, protocol: "TCP" }],
                },
                "application/apply-patch+yaml",
            );
            this.slices.push(name);
        }
    }

    /** Probes the process once it is not Ready; marks the endpoints Ready when it answers. */
    async probe(): Promise<void> {
        if (this.ready || this.slices.length === 0) return;
        if (await answers(this.hostPort, this.probePath)) await this.setReady(true);
    }

    /**
     * The process exited: no more traffic to it until it answers again. Returns once the
     * API server's watch cache holds the change: the API server routes a Service's traffic
     * by an informer fed from that cache, so before then it may still pick the dead endpoint.
     */
    async withdraw(): Promise<void> {
        const written = await this.setReady(false);
        const ns = this.pod.metadata.namespace!;
        for (const rv of written)
            await this.kube.list(
                `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?resourceVersion=${rv}&resourceVersionMatch=NotOlderThan`,
            );
    }

    async remove(): Promise<void> {
        const ns = this.pod.metadata.namespace!;
        for (const name of this.slices.splice(0)) {
            await this.kube.delete(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${name}`);
        }
    }

    private targets(p: ServicePort): boolean {
        const target = p.targetPort ?? p.port;
        return target === this.port.containerPort || (this.port.name !== undefined && target === this.port.name);
    }

    private endpoint(ready: boolean) {
        return {
            addresses: [this.address],
            conditions: { ready, serving: ready, terminating: false },
            nodeName: this.pod.spec?.nodeName,
            targetRef: {
                kind: "Pod",
                namespace: this.pod.metadata.namespace,
                name: this.pod.metadata.name,
                uid: this.pod.metadata.uid,
            },
        };
    }

    /** Marks every slice of the pod; the resourceVersions written. */
    private async setReady(ready: boolean): Promise<string[]> {
        this.ready = ready;
        const ns = this.pod.metadata.namespace!;
        const written: string[] = [];
        for (const name of this.slices) {
            const slice = await this.kube.patch(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${name}`, {
                endpoints: [this.endpoint(ready)],
            });
            if (slice.metadata.resourceVersion) written.push(slice.metadata.resourceVersion);
        }
        return written;
    }
}

/** The readiness probe: an HTTPS GET of `path` (any certificate: the kubelet does not verify it), else a TCP connect. */
function answers(port: number, path: string | undefined): Promise<boolean> {
    return new Promise((resolve) => {
        if (path === undefined) {
            const socket = net.connect({ host: "127.0.0.1", port }, () => {
                socket.destroy();
                resolve(true);
            });
            socket.on("error", () => resolve(false));
            return;
        }
        const req = https.get({ host: "127.0.0.1", port, path, rejectUnauthorized: false, timeout: 1000 }, (res) => {
            res.resume();
            resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        });
        req.on("error", () => resolve(false));
        req.on("timeout", () => req.destroy());
    });
}
