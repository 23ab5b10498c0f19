// A throwaway Kubernetes control plane on 127.0.0.1 for tests and manual use:
// etcd + kube-apiserver + kube-controller-manager (namespace, garbage-collector
// and service-account controllers, so namespace deletion finishes). No kubelet:
// pods are never scheduled or run.
//
//   import { startKubeCluster } from "../local-cluster/control-plane";
//   const cluster = await startKubeCluster({ name: "staging" });
//   // cluster.kubeconfig: a kubeconfig file (context `cluster.context`, admin
//   // client certificate embedded); cluster.server: https://127.0.0.1:PORT
//   await cluster.stop(); // kills every process group and removes the temp dir
//
// Binaries: kube-apiserver and kube-controller-manager from .tools/bin
// (`npm run tools -- kube-apiserver kube-controller-manager`), else PATH;
// etcd v3.6 from .tools/bin (`npm run tools -- etcd`).
// Set KUBE_CLUSTER_KEEP=1 to keep the temp dir (logs, certs) after stop().
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findBinary, freePort, httpsGet, waitFor } from "./util";
import { writeCerts, Certs } from "./certs";
import { hasExited, launch, logPath, logTail, removeOnExit, stopProcess } from "./processes";

export interface KubeClusterOptions {
    /** Cluster, user and context name in the kubeconfig. */
    name?: string;
    /** kube-controller-manager --controllers list. */
    controllers?: string[];
    /** Also run kube-scheduler, so pods get a node (the live cluster's kwok then runs them). */
    scheduler?: boolean;
    /** Seconds to wait for /readyz and the controllers. */
    timeoutSeconds?: number;
}

export interface KubeCluster {
    name: string;
    context: string;
    server: string;
    kubeconfig: string;
    dir: string;
    certs: Certs;
    /** Stops every process (SIGTERM, then SIGKILL) and removes dir. */
    stop(): Promise<void>;
}

/** What the live cluster adds: the controllers that turn Deployments and Jobs into pods, and the one that
 *  lifts a new node's not-ready taint once it reports Ready. */
export const WORKLOAD_CONTROLLERS = [
    "deployment-controller",
    "replicaset-controller",
    "job-controller",
    "node-lifecycle-controller",
    // Kyverno's chart grants its controllers' rules through aggregated ClusterRoles.
    "clusterrole-aggregation-controller",
];

export const DEFAULT_CONTROLLERS = [
    "namespace-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
];

export async function startKubeCluster(opts: KubeClusterOptions = {}): Promise<KubeCluster> {
    // A port found free can be taken by another process before our daemon binds
    // it (parallel test runs); such a start is retried on fresh ports.
    for (let attempt = 1; ; attempt++) {
        try {
            return await startOnce(opts);
        } catch (err) {
            if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
        }
    }
}

async function startOnce(opts: KubeClusterOptions): Promise<KubeCluster> {
    const name = opts.name ?? "local";
    const timeoutMs = (opts.timeoutSeconds ?? 120) * 1000;
    const dir = removeOnExit(fs.mkdtempSync(path.join(os.tmpdir(), `kube-${name}-`)), "KUBE_CLUSTER_KEEP");
    const procs: ChildProcess[] = [];
    let stopped = false;
    const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        // Controller manager first, etcd last, so nothing logs storage errors.
        for (const p of [...procs].reverse()) await stopProcess(p);
        if (!process.env.KUBE_CLUSTER_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    };

    try {
        const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
        const certs = writeCerts(path.join(dir, "pki"), name);
        const server = `https://127.0.0.1:${apiPort}`;
        const kubeconfig = path.join(dir, "kubeconfig");
        fs.writeFileSync(kubeconfig, kubeconfigYaml(name, server, certs), { mode: 0o600 });

        const start = (bin: string, args: string[]): ChildProcess => {
            const p = launch(bin, args, { dir });
            procs.push(p);
            return p;
        };
        const etcdUrl = `http://127.0.0.1:${etcdPort}`;
        const peerUrl = `http://127.0.0.1:${peerPort}`;
        start(findBinary("etcd"), [
            `--name=${name}`,
            `--data-dir=${path.join(dir, "etcd")}`,
            `--listen-client-urls=${etcdUrl}`,
            `--advertise-client-urls=${etcdUrl}`,
            `--listen-peer-urls=${peerUrl}`,
            `--initial-advertise-peer-urls=${peerUrl}`,
            `--initial-cluster=${name}=${peerUrl}`,
            "--logger=zap",
            "--log-level=warn",
        ]);
        start(findBinary("kube-apiserver"), [
            `--etcd-servers=${etcdUrl}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            `--secure-port=${apiPort}`,
            `--cert-dir=${path.join(dir, "apiserver-certs")}`,
            `--tls-cert-file=${certs.serverCert}`,
            `--tls-private-key-file=${certs.serverKey}`,
            `--client-ca-file=${certs.caCert}`,
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/24",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            `--service-account-key-file=${certs.saPublic}`,
            `--service-account-signing-key-file=${certs.saPrivate}`,
            "--allow-privileged=true",
            // Webhooks (and aggregated APIs) go to a Service's EndpointSlices, not its ClusterIP: nothing
            // here routes ClusterIPs, and the host controllers publish their pods' endpoints (pod-endpoints.ts).
            "--enable-aggregator-routing=true",
            "--profiling=false",
        ]);
        const auth = { ca: certs.caCert, cert: certs.adminCert, key: certs.adminKey };
        await waitFor(
            "kube-apiserver /readyz",
            async () => (await httpsGet(`${server}/readyz`, auth)).status === 200,
            timeoutMs,
            () => failureOf(procs, dir),
        );

        start(findBinary("kube-controller-manager"), [
            `--kubeconfig=${kubeconfig}`,
            `--controllers=${(opts.controllers ?? DEFAULT_CONTROLLERS).join(",")}`,
            "--leader-elect=false",
            "--secure-port=0",
            `--service-account-private-key-file=${certs.saPrivate}`,
            `--root-ca-file=${certs.caCert}`,
            "--use-service-account-credentials=false",
        ]);
        // The default service account appears once the controller manager works.
        if ((opts.controllers ?? DEFAULT_CONTROLLERS).includes("serviceaccount-controller")) {
            await waitFor(
                "kube-controller-manager (default service account)",
                async () =>
                    (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, auth)).status ===
                    200,
                timeoutMs,
                () => failureOf(procs, dir),
            );
        }
        if (opts.scheduler) {
            start(findBinary("kube-scheduler"), [
                `--kubeconfig=${kubeconfig}`,
                "--leader-elect=false",
                "--secure-port=0",
            ]);
        }
        return { name, context: name, server, kubeconfig, dir, certs, stop };
    } catch (err) {
        const keep = process.env.KUBE_CLUSTER_KEEP;
        await stop();
        throw new Error(`${(err as Error).message}${keep ? ` (kept ${dir})` : ""}`, { cause: err });
    }
}

// Names the first process that exited and the tail of its log.
function failureOf(procs: ChildProcess[], dir: string): string | undefined {
    for (const p of procs) {
        if (!hasExited(p)) continue;
        const name = path.basename(p.spawnfile);
        return `${name} exited (${p.exitCode ?? p.signalCode}):\n${logTail(logPath(dir, name))}`;
    }
    return undefined;
}

function kubeconfigYaml(name: string, server: string, c: Certs): string {
    const b64 = (f: string): string => fs.readFileSync(f).toString("base64");
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: ${name}`,
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority-data: ${b64(c.caCert)}`,
        "users:",
        `- name: ${name}-admin`,
        "  user:",
        `    client-certificate-data: ${b64(c.adminCert)}`,
        `    client-key-data: ${b64(c.adminKey)}`,
        "contexts:",
        `- name: ${name}`,
        "  context:",
        `    cluster: ${name}`,
        `    user: ${name}-admin`,
        `current-context: ${name}`,
        "",
    ].join("\n");
}
