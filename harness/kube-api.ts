// The local cluster's client (local-cluster/kube-client.ts) with the reads the
// end-to-end tests repeat: namespaces, secrets, config maps, CRDs.
import { KubeClient, KubeObject } from "../local-cluster/kube-client";
import type { KubeCluster } from "../local-cluster/control-plane";

export type { KubeObject };

export class KubeApi extends KubeClient {
    constructor(cluster: KubeCluster) {
        super(cluster.server, cluster.certs);
    }

    namespace(name: string) {
        return this.get(`/api/v1/namespaces/${name}`);
    }

    secret(namespace: string, name: string) {
        return this.get(`/api/v1/namespaces/${namespace}/secrets/${name}`);
    }

    configMap(namespace: string, name: string) {
        return this.get(`/api/v1/namespaces/${namespace}/configmaps/${name}`);
    }

    crd(name: string) {
        return this.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    }

    /** A Secret's data, base64-decoded. */
    static decode(secret: KubeObject | undefined): Record<string, string> {
        return Object.fromEntries(
            Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
        );
    }
}
