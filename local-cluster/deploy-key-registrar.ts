// Registers Flux's deploy key on the local Git server as soon as the program
// puts it in the cluster (the Secret flux-system/flux-system): what a user does
// once by hand on their own SSH Git server with the stack output
// deployKeyPublic, done here so the first `pulumi up` (which waits for Flux to
// fetch) needs no hand. Read-only, as on any server.
import type { GitSshServer } from "./git-server";
import type { KubeClient } from "./kube-client";

export interface DeployKeyRegistrar {
    /** Public keys registered so far. */
    registered: string[];
    stop(): void;
}

export function registerDeployKeys(git: GitSshServer, kube: KubeClient, secret = { namespace: "flux-system", name: "flux-system" }): DeployKeyRegistrar {
    const registered: string[] = [];
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
        try {
            const s = await kube.get(`/api/v1/namespaces/${secret.namespace}/secrets/${secret.name}`);
            const pub = s?.data?.["identity.pub"] ? Buffer.from(s.data["identity.pub"], "base64").toString("utf8").trim() : undefined;
            if (pub && !registered.includes(pub)) {
                git.authorize(pub, "read");
                registered.push(pub);
            }
        } catch {
            // the API server may be busy or stopping; try again
        }
        if (!stopped) timer = setTimeout(() => void tick(), 500);
    };
    void tick();
    return {
        registered,
        stop() {
            stopped = true;
            if (timer) clearTimeout(timer);
        },
    };
}
