// Starts the live local cluster (local-cluster/) for manual use, without Pulumi:
// control plane, a kwok node, the host controllers, the chart mirror and the
// registry with the fleet's podinfo images. Prints how to reach each; Ctrl-C
// stops every process and removes its folders.
//   npm run cluster [-- NAME] [-- --control-plane-only]
//   export KUBECONFIG=<printed path>; kubectl get nodes
import * as path from "node:path";
import { startKubeCluster } from "../local-cluster/control-plane";
import { startLiveCluster } from "../local-cluster/live-cluster";
import { fleetPodinfoTags } from "../local-cluster/registry";

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const controlPlaneOnly = args.includes("--control-plane-only");
    const name = args.find((a) => !a.startsWith("-")) ?? "local";
    const tags = fleetPodinfoTags(path.resolve(__dirname, "..", "fleet"));
    const started = Date.now();
    const lines: string[] = [];
    let stop: () => Promise<void>;
    if (controlPlaneOnly) {
        const cluster = await startKubeCluster({ name });
        stop = cluster.stop;
        lines.push(`control plane "${name}" at ${cluster.server}`, `export KUBECONFIG=${cluster.kubeconfig}`);
    } else {
        const live = await startLiveCluster({
            name,
            images: tags.map((tag) => ({ repository: "stefanprodan/podinfo", tag })),
        });
        stop = live.stop;
        lines.push(
            `live cluster "${name}" at ${live.cluster.server} (real API server, controllers and admission; pods never run containers)`,
            `export KUBECONFIG=${live.cluster.kubeconfig}`,
            `Chart mirror:  ${live.charts.url}   (Kyverno, cert-manager, Flux Operator)`,
            `Registry:      ${live.registry.host}   (podinfo ${tags.join(", ")})`,
            `Flux web UI:   ${live.webUiUrl}   (once the Flux Operator's Deployment exists)`,
        );
    }
    console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    for (const line of lines) console.log(line);
    console.log("Ctrl-C stops it.");
    let stopping = false;
    const shutdown = (): void => {
        if (stopping) return;
        stopping = true;
        console.log("\nstopping...");
        stop().then(
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
