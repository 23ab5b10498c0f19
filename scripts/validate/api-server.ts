// The local kube-apiserver as validate talks to it: server-side applies over
// HTTP, as `kubectl apply --server-side` sends them, without a kubectl process
// for each of the hundreds of objects the trees hold.
import type { KubeCluster } from "../../local-cluster/control-plane";
import { KubeClient, KubeRequestError } from "../../local-cluster/kube-client";
import type { KubeObject } from "./trees";

/** Where the API server serves a kind: its resource name and whether it is namespaced. */
interface Resource {
    name: string;
    namespaced: boolean;
}

export type Applied = { warnings: string[] } | { error: string };

export class ApiServer {
    readonly kube: KubeClient;
    private readonly resources = new Map<string, Resource>();

    constructor(cluster: KubeCluster) {
        this.kube = new KubeClient(cluster.server, cluster.certs);
    }

    /** Reads the API server's kinds (built-in and installed CRDs'): call once the CRDs are established. */
    async discover(): Promise<void> {
        const versions = ["/api/v1"];
        const groups = (await this.kube.request("GET", "/apis")) as {
            groups: { versions: { groupVersion: string }[] }[];
        };
        for (const g of groups.groups) for (const v of g.versions) versions.push(`/apis/${v.groupVersion}`);
        for (const prefix of versions) {
            const list = (await this.kube.request("GET", prefix)) as {
                groupVersion: string;
                resources: { name: string; kind: string; namespaced: boolean }[];
            };
            for (const res of list.resources)
                if (!res.name.includes("/"))
                    this.resources.set(`${list.groupVersion}/${res.kind}`, {
                        name: res.name,
                        namespaced: res.namespaced,
                    });
        }
    }

    /** The object's URL; a namespaced object without a namespace goes to "default", as with kubectl. */
    private url(o: KubeObject): string | undefined {
        const res = this.resources.get(`${o.apiVersion}/${o.kind}`);
        if (!res) return undefined;
        const base = String(o.apiVersion).includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
        const ns = res.namespaced ? `/namespaces/${o.metadata?.namespace ?? "default"}` : "";
        return `${base}${ns}/${res.name}/${encodeURIComponent(o.metadata?.name ?? "")}`;
    }

    /**
     * A server-side apply (field manager "validate"), a dry run unless `persist`, with
     * strict field validation if `strict`: the API server's warnings, or its refusal in
     * kubectl's words ("Error from server (Reason): message").
     */
    async apply(o: KubeObject, opts: { persist?: boolean; strict?: boolean } = {}): Promise<Applied> {
        const url = this.url(o);
        if (!url) return { error: `no matches for kind "${o.kind}" in version "${o.apiVersion}"` };
        const query = [
            "fieldManager=validate",
            "force=true",
            ...(opts.strict ? ["fieldValidation=Strict"] : []),
            ...(opts.persist ? [] : ["dryRun=All"]),
        ].join("&");
        try {
            const r = await this.kube.requestWithWarnings(
                "PATCH",
                `${url}?${query}`,
                o,
                "application/apply-patch+yaml",
            );
            return { warnings: r.warnings };
        } catch (err) {
            if (!(err instanceof KubeRequestError)) throw err;
            return { error: refusal(err) };
        }
    }

    /** Deletes the object; gone already is fine. */
    async delete(o: KubeObject): Promise<void> {
        const url = this.url(o);
        if (url) await this.kube.delete(url);
    }
}

function refusal(err: KubeRequestError): string {
    try {
        const status = JSON.parse(err.body) as { reason?: string; message?: string };
        return `Error from server (${status.reason ?? err.status}): ${status.message ?? err.body}`;
    } catch {
        return `Error from server (${err.status}): ${err.body}`;
    }
}
