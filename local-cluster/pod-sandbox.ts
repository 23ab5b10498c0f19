// What a pod gives its container that a host process lacks: the ServiceAccount
// volume at its well-known path (controller-runtime reads the namespace of its
// leader-election Lease there, client-go's in-cluster config the token and CA)
// and the pod's name as hostname (the identity controller-runtime's leader
// election records). A host process gets both from a private mount and UTS
// namespace (`unshare`), so nothing on the host sees the mount.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface PodSandbox {
    /** The folder mounted at SERVICE_ACCOUNT_MOUNT (token, ca.crt, namespace). */
    serviceAccountDir: string;
    hostname: string;
}

// $1 folder, $2 mount point, $3 hostname, then the command.
const ENTER = 'mount --bind "$1" "$2" && hostname "$3" && shift 3 && exec "$@"';

/** The command that runs bin with args inside the pod's sandbox. */
export function sandboxed(bin: string, args: string[], box: PodSandbox): { bin: string; args: string[] } {
    return {
        bin: "unshare",
        args: [
            "--mount",
            "--uts",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            ENTER,
            "pod-sandbox",
            box.serviceAccountDir,
            SERVICE_ACCOUNT_MOUNT,
            box.hostname,
            bin,
            ...args,
        ],
    };
}

let available: string | undefined;

/**
 * Why pods cannot be sandboxed on this host ("" when they can): it takes root
 * (mount and UTS namespaces) and an empty mount point on the host, created here.
 */
export function podSandboxUnavailable(): string {
    if (available !== undefined) return available;
    available = probe();
    return available;
}

function probe(): string {
    if (process.getuid?.() !== 0) return "not root: no private mount namespace for the ServiceAccount volume";
    try {
        fs.mkdirSync(SERVICE_ACCOUNT_MOUNT, { recursive: true });
    } catch (err) {
        return `cannot create ${SERVICE_ACCOUNT_MOUNT}: ${(err as Error).message}`;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-sandbox-"));
    try {
        fs.writeFileSync(path.join(dir, "namespace"), "probe");
        const { bin, args } = sandboxed("cat", [path.join(SERVICE_ACCOUNT_MOUNT, "namespace")], {
            serviceAccountDir: dir,
            hostname: "probe",
        });
        const r = spawnSync(bin, args, { encoding: "utf8" });
        if (r.error) return `${bin}: ${r.error.message}`;
        return r.status === 0 && r.stdout === "probe" ? "" : `unshare failed: ${r.stderr.trim()}`;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
