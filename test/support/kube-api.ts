// Reads from a local test cluster's API server with its admin client
// certificate: enough for the e2e test to check what `pulumi up` created.
import type { KubeCluster } from "./kube-cluster";
import { httpsGet } from "./kube-cluster-util";

export interface KubeObject {
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
    status?: { phase?: string };
    spec?: Record<string, unknown>;
    data?: Record<string, string>;
    type?: string;
}

export class KubeApi {
    constructor(private readonly cluster: KubeCluster) {}

    /** GETs an API path; undefined on 404. */
    async get<T = KubeObject>(apiPath: string): Promise<T | undefined> {
        const { certs, server } = this.cluster;
        const res = await httpsGet(`${server}${apiPath}`, { ca: certs.caCert, cert: certs.adminCert, key: certs.adminKey });
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw new Error(`GET ${apiPath}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
        return JSON.parse(res.body) as T;
    }

    async list(apiPath: string): Promise<KubeObject[]> {
        return (await this.get<{ items: KubeObject[] }>(apiPath))?.items ?? [];
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
        return Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    }
}
