// A tiny read-only OCI registry on 127.0.0.1 for the image-lookup tests: it
// serves one manifest and its config blob per tag, with the digests a real
// registry would compute, and can demand credentials like a private one.
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface RegistryImage {
    repository: string;
    tag: string;
}

export interface OciRegistry {
    /** host:port, as it appears in an image reference. */
    host: string;
    /** The digest the registry serves for repository:tag (sha256 of the manifest). */
    digestOf(image: RegistryImage): string;
    /** Every request path the registry answered, in order. */
    requests: string[];
    stop(): Promise<void>;
}

const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

function sha256(data: Buffer): string {
    return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Starts the registry; with `requireAuth`, every request gets 401 as a private registry gives an anonymous client. */
export async function startOciRegistry(
    images: RegistryImage[],
    opts: { requireAuth?: boolean } = {},
): Promise<OciRegistry> {
    const manifests = new Map<string, Buffer>();
    const blobs = new Map<string, Buffer>();
    for (const img of images) {
        const config = Buffer.from(
            JSON.stringify({
                architecture: "amd64",
                os: "linux",
                config: { Labels: { tag: img.tag } },
                rootfs: { type: "layers", diff_ids: [] },
            }),
        );
        blobs.set(`${img.repository}@${sha256(config)}`, config);
        const manifest = Buffer.from(
            JSON.stringify({
                schemaVersion: 2,
                mediaType: MANIFEST_TYPE,
                config: {
                    mediaType: "application/vnd.oci.image.config.v1+json",
                    digest: sha256(config),
                    size: config.length,
                },
                layers: [],
            }),
        );
        manifests.set(`${img.repository}:${img.tag}`, manifest);
    }
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        const url = req.url ?? "";
        requests.push(`${req.method} ${url}`);
        if (opts.requireAuth) {
            res.writeHead(401, {
                "WWW-Authenticate": 'Basic realm="test-registry"',
                "Content-Type": "application/json",
            });
            res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
            return;
        }
        if (url === "/v2/" || url === "/v2") {
            res.writeHead(200, { "Docker-Distribution-API-Version": "registry/2.0" }).end("{}");
            return;
        }
        const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url);
        const body = m
            ? m[2] === "manifests"
                ? manifests.get(`${m[1]}:${m[3]}`)
                : blobs.get(`${m[1]}@${m[3]}`)
            : undefined;
        if (!m || !body) {
            res.writeHead(404, { "Content-Type": "application/json" }).end(
                JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: url }] }),
            );
            return;
        }
        const type = m[2] === "manifests" ? MANIFEST_TYPE : "application/octet-stream";
        res.writeHead(200, {
            "Content-Type": type,
            "Content-Length": body.length,
            "Docker-Content-Digest": sha256(body),
        });
        res.end(req.method === "HEAD" ? undefined : body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        host: `127.0.0.1:${port}`,
        digestOf: (img) => {
            const manifest = manifests.get(`${img.repository}:${img.tag}`);
            if (!manifest) throw new Error(`the registry has no ${img.repository}:${img.tag}`);
            return sha256(manifest);
        },
        requests,
        stop: () => new Promise((resolve) => server.close(() => resolve())),
    };
}
