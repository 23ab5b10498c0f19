// Starts a local control plane (etcd, kube-apiserver, kube-controller-manager
// on 127.0.0.1) for manual use and prints its kubeconfig path; Ctrl-C stops it
// and removes its temp dir.
//   npx ts-node scripts/local-cluster.ts [name]
//   export KUBECONFIG=<printed path>; kubectl get ns
import { startKubeCluster } from "../test/support/kube-cluster";

async function main(): Promise<void> {
    const name = process.argv[2] ?? "local";
    const started = Date.now();
    const cluster = await startKubeCluster({ name });
    console.log(`cluster "${name}" ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${cluster.server}`);
    console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
    console.log("Ctrl-C stops it.");
    let stopping = false;
    const shutdown = (): void => {
        if (stopping) return;
        stopping = true;
        console.log("\nstopping...");
        cluster.stop().then(
            () => process.exit(0),
            (err: unknown) => {
                console.error(err);
                process.exit(1);
            },
        );
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
    // Keep the event loop alive until a signal arrives.
    setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
});
