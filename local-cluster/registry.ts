// A local OCI registry (crane's) on 127.0.0.1, holding one small image per
// tag asked for, so Kyverno resolves real digests without the internet. Each
// image is a single layer naming its repository and tag, so every tag has a
// digest of its own. Loopback registries are plain HTTP for go-containerregistry
// (and so for Kyverno) without any flag.
import { execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { launch, stopProcess } from "./processes";
import { canConnect, findBinary, freePort, waitFor } from "./util";

const run = promisify(execFile);

export interface LocalRegistry {
    /** host:port, e.g. 127.0.0.1:5001 */
    host: string;
    process: ChildProcess;
    /** Pushes a small image as HOST/REPOSITORY:TAG and returns its sha256 digest. */
    push(repository: string, tag: string): Promise<string>;
    /** The digest HOST/REPOSITORY:TAG resolves to now. */
    digest(repository: string, tag: string): Promise<string>;
    stop(): Promise<void>;
}

export async function startLocalRegistry(dir: string, port?: number): Promise<LocalRegistry> {
    const crane = findBinary("crane");
    const listen = port ?? (await freePort());
    const host = `127.0.0.1:${listen}`;
    const storage = path.join(dir, "registry");
    fs.mkdirSync(storage, { recursive: true });
    const proc = launch(crane, ["registry", "serve", "--address", host, "--disk", storage], {
        dir,
        logFile: path.join(dir, "registry.log"),
    });
    await waitFor(
        `registry on ${host}`,
        () => canConnect(listen),
        20_000,
        () => (proc.exitCode !== null ? `crane exited (${proc.exitCode}); see ${dir}/registry.log` : undefined),
    );

    const digest = async (repository: string, tag: string) =>
        (await run(crane, ["digest", `${host}/${repository}:${tag}`])).stdout.trim();
    return {
        host,
        process: proc,
        digest,
        async push(repository, tag) {
            const work = fs.mkdtempSync(path.join(dir, "image-"));
            try {
                fs.writeFileSync(path.join(work, "image.txt"), `${repository}:${tag}\n`);
                await run("tar", [
                    "-cf",
                    path.join(work, "layer.tar"),
                    "-C",
                    work,
                    "--mtime=1970-01-01",
                    "--owner=0",
                    "--group=0",
                    "image.txt",
                ]);
                await run(crane, ["append", "-f", path.join(work, "layer.tar"), "-t", `${host}/${repository}:${tag}`]);
            } finally {
                fs.rmSync(work, { recursive: true, force: true });
            }
            return digest(repository, tag);
        },
        stop: () => stopProcess(proc),
    };
}

/** Every podinfo tag the fleet's overlays (and base) name: what the registry must hold. */
export function fleetPodinfoTags(fleetDir: string): string[] {
    const tags = new Set<string>();
    const appsDir = path.join(fleetDir, "apps");
    for (const env of fs.readdirSync(appsDir)) {
        const file = path.join(appsDir, env, "kustomization.yaml");
        if (!fs.existsSync(file)) continue;
        for (const img of (YAML.parse(fs.readFileSync(file, "utf8"))?.images ?? []) as { newTag?: string }[])
            if (img.newTag) tags.add(img.newTag);
    }
    const base = fs.readFileSync(path.join(appsDir, "base", "podinfo", "deployment.yaml"), "utf8");
    for (const m of base.matchAll(/image: ghcr\.io\/stefanprodan\/podinfo:([\w.-]+)/g)) tags.add(m[1]);
    return [...tags];
}
