// What a pod's process authenticates as: its ServiceAccount, through a token
// from the TokenRequest API (as the kubelet projects one into a pod), so the
// charts' Roles and ClusterRoles decide what a host controller may do, as they
// would in a cluster. The kubeconfig names the token by file: client-go re-reads
// it, so refresh() renews the token under a running process, as the kubelet does.
// The token, the cluster's CA and the namespace are laid out as the kubelet's
// ServiceAccount volume, for the pod's sandbox to mount (pod-sandbox.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeCluster } from "./control-plane";
import { KubeClient, KubeRequestError } from "./kube-client";

/** A pod's token lives an hour, as the kubelet's projected token does by default; renewed at 80 %. */
const TOKEN_SECONDS = 3600;
const RENEW_AFTER_MS = TOKEN_SECONDS * 800;

export interface PodIdentity {
    /** "system:serviceaccount:NAMESPACE:NAME". */
    user: string;
    kubeconfig: string;
    /** The ServiceAccount volume: token, ca.crt, namespace. */
    serviceAccountDir: string;
    /** Renews the token once it is 80 % through its life. */
    refresh(): Promise<void>;
}

/** The identity of a pod of `namespace` running as `serviceAccount`, written into `dir`; optionally bound to the pod. */
export async function podIdentity(
    cluster: KubeCluster,
    kube: KubeClient,
    dir: string,
    target: { namespace: string; serviceAccount: string; pod?: { name: string; uid: string } },
): Promise<PodIdentity> {
    const { namespace, serviceAccount } = target;
    const serviceAccountDir = path.join(dir, "serviceaccount");
    fs.mkdirSync(serviceAccountDir, { recursive: true });
    fs.copyFileSync(cluster.certs.caCert, path.join(serviceAccountDir, "ca.crt"));
    fs.writeFileSync(path.join(serviceAccountDir, "namespace"), namespace);
    const tokenFile = path.join(serviceAccountDir, "token");
    const kubeconfig = path.join(dir, "kubeconfig");
    let mintedAt = 0;
    const mint = async () => {
        fs.writeFileSync(tokenFile, await requestToken(kube, namespace, serviceAccount, target.pod), { mode: 0o600 });
        mintedAt = Date.now();
    };
    await mint();
    fs.writeFileSync(kubeconfig, tokenKubeconfig(cluster, tokenFile), { mode: 0o600 });
    return {
        user: `system:serviceaccount:${namespace}:${serviceAccount}`,
        kubeconfig,
        serviceAccountDir,
        refresh: async () => {
            if (Date.now() - mintedAt > RENEW_AFTER_MS) await mint();
        },
    };
}

async function requestToken(
    kube: KubeClient,
    namespace: string,
    serviceAccount: string,
    pod: { name: string; uid: string } | undefined,
): Promise<string> {
    const request = {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
            expirationSeconds: TOKEN_SECONDS,
            ...(pod ? { boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.name, uid: pod.uid } } : {}),
        },
    };
    try {
        const answer = await kube.request(
            "POST",
            `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
            request,
        );
        return String(answer.status.token);
    } catch (err) {
        if (err instanceof KubeRequestError && err.status === 404) {
            throw new Error(
                `ServiceAccount ${namespace}/${serviceAccount} does not exist (yet): no token for its pod`,
                { cause: err },
            );
        }
        throw err;
    }
}

function tokenKubeconfig(cluster: KubeCluster, tokenFile: string): string {
    const ca = fs.readFileSync(cluster.certs.caCert).toString("base64");
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: ${cluster.name}`,
        "  cluster:",
        `    server: ${cluster.server}`,
        `    certificate-authority-data: ${ca}`,
        "users:",
        "- name: pod",
        "  user:",
        `    tokenFile: ${tokenFile}`,
        "contexts:",
        `- name: ${cluster.context}`,
        "  context:",
        `    cluster: ${cluster.name}`,
        "    user: pod",
        `current-context: ${cluster.context}`,
        "",
    ].join("\n");
}
