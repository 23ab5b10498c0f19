// Registers Flux's deploy key on the local Git server as soon as the program has
// generated it: what a user does once by hand on their own SSH Git server with
// the public key the first `up` prints (or the stack output deployKeyPublic),
// done here so the tests' and the demo's first `up` needs no hand. Read-only, as
// on any server.
//
// The key's public half is read from the stack's state on the local file
// backend, which the engine saves after each resource: the program checks the
// key against the server (components/deploy-key-access.ts) only after the key
// resource is saved, and gives the server a few seconds to register it.
import * as fs from "node:fs";
import * as path from "node:path";
import type { GitSshServer } from "./git-server";

export interface DeployKeyRegistrar {
    /** Public keys registered so far. */
    registered: string[];
    stop(): void;
}

const project = "gitops-kyverno";
const generatedKeyType = "tls:index/privateKey:PrivateKey";

/** Where the file backend at backendDir keeps the state of `stack`: project-scoped, or the layout of older backends. */
export function stackStateFiles(backendDir: string, stack: string): string[] {
    const stacks = path.join(backendDir, ".pulumi", "stacks");
    return [path.join(stacks, project, `${stack}.json`), path.join(stacks, `${stack}.json`)];
}

/** Public keys of the deploy keys the program generated, as the saved state holds them. */
export function generatedPublicKeys(stateFiles: string[]): string[] {
    const keys: string[] = [];
    for (const file of stateFiles) {
        let state: {
            checkpoint?: { latest?: { resources?: { type: string; outputs?: { publicKeyOpenssh?: unknown } }[] } };
        };
        try {
            state = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch {
            continue; // not written yet (the engine replaces it whole, so never half-written)
        }
        for (const r of state.checkpoint?.latest?.resources ?? []) {
            if (r.type === generatedKeyType && typeof r.outputs?.publicKeyOpenssh === "string")
                keys.push(r.outputs.publicKeyOpenssh.trim());
        }
    }
    return keys;
}

export function registerDeployKeys(git: GitSshServer, stateFiles: string[], everyMs = 250): DeployKeyRegistrar {
    const registered: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
        for (const pub of generatedPublicKeys(stateFiles)) {
            if (registered.includes(pub)) continue;
            git.authorize(pub, "read");
            registered.push(pub);
        }
        timer = setTimeout(tick, everyMs);
    };
    tick();
    return {
        registered,
        stop() {
            if (timer) clearTimeout(timer);
            timer = undefined;
        },
    };
}
