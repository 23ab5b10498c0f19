// A small client for the local cluster's API server, authenticated with its
// admin client certificate: what the local cluster itself needs (create the
// fake node, watch Deployments) and what tests read back.
import * as fs from "node:fs";
import * as https from "node:https";
import type { Certs } from "./certs";

export interface KubeObject {
    apiVersion?: string;
    kind?: string;
    metadata: {
        name: string;
        namespace?: string;
        uid?: string;
        resourceVersion?: string;
        generation?: number;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        deletionTimestamp?: string;
        finalizers?: string[];
    };
    spec?: any;
    status?: any;
    data?: Record<string, string>;
}

export class KubeRequestError extends Error {
    constructor(
        readonly method: string,
        readonly path: string,
        readonly status: number,
        readonly body: string,
    ) {
        super(`${method} ${path}: HTTP ${status} ${body.slice(0, 400)}`);
    }
}

export class KubeClient {
    private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };

    constructor(
        readonly server: string,
        certs: Pick<Certs, "caCert" | "adminCert" | "adminKey">,
    ) {
        this.tls = {
            ca: fs.readFileSync(certs.caCert),
            cert: fs.readFileSync(certs.adminCert),
            key: fs.readFileSync(certs.adminKey),
        };
    }

    /** One request; throws KubeRequestError on a status >= 300. */
    async request(method: string, apiPath: string, body?: unknown, contentType = "application/json"): Promise<any> {
        return (await this.requestWithWarnings(method, apiPath, body, contentType)).body;
    }

    /** One request, with the warnings the API server sent (its Warning headers, e.g. PodSecurity's). */
    requestWithWarnings(
        method: string,
        apiPath: string,
        body?: unknown,
        contentType = "application/json",
    ): Promise<{ body: any; warnings: string[] }> {
        return new Promise((resolve, reject) => {
            const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
            const req = https.request(
                `${this.server}${apiPath}`,
                {
                    method,
                    ...this.tls,
                    timeout: 30_000,
                    headers: { Accept: "application/json", ...(payload ? { "Content-Type": contentType } : {}) },
                },
                (res) => {
                    let text = "";
                    res.setEncoding("utf8");
                    res.on("data", (d: string) => (text += d));
                    res.on("end", () => {
                        const status = res.statusCode ?? 0;
                        if (status >= 300) reject(new KubeRequestError(method, apiPath, status, text));
                        else
                            resolve({
                                body: text ? JSON.parse(text) : undefined,
                                warnings: warnings(res.headers.warning),
                            });
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: timed out`)));
            req.on("error", reject);
            req.end(payload);
        });
    }

    /** GET; undefined on 404. */
    async get<T = KubeObject>(apiPath: string): Promise<T | undefined> {
        try {
            return (await this.request("GET", apiPath)) as T;
        } catch (err) {
            if (err instanceof KubeRequestError && err.status === 404) return undefined;
            throw err;
        }
    }

    async list(apiPath: string): Promise<KubeObject[]> {
        return (await this.get<{ items: KubeObject[] }>(apiPath))?.items ?? [];
    }

    create(apiPath: string, object: KubeObject): Promise<KubeObject> {
        return this.request("POST", apiPath, object);
    }

    /** A JSON merge patch. */
    patch(apiPath: string, patch: unknown): Promise<KubeObject> {
        return this.request("PATCH", apiPath, patch, "application/merge-patch+json");
    }

    /** DELETE; false when it was already gone. */
    async delete(apiPath: string): Promise<boolean> {
        try {
            await this.request("DELETE", apiPath);
            return true;
        } catch (err) {
            if (err instanceof KubeRequestError && err.status === 404) return false;
            throw err;
        }
    }
}

/** The texts of Warning headers (`299 - "text"`, several joined by ", "), unquoted. */
function warnings(header: string | string[] | undefined): string[] {
    const all = Array.isArray(header) ? header.join(", ") : (header ?? "");
    return [...all.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, "$1"));
}

/** The Ready condition of a Kubernetes or Flux object, if it has one. */
export function readyCondition(
    obj: KubeObject | undefined,
): { status: string; reason?: string; message?: string } | undefined {
    const conditions = (obj?.status?.conditions ?? []) as {
        type: string;
        status: string;
        reason?: string;
        message?: string;
    }[];
    return conditions.find((c) => c.type === "Ready");
}
