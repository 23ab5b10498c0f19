// Simulated nodes: kwok keeps one fake Node Ready and walks every pod bound to
// it through its lifecycle (Running and Ready, Succeeded for a Job's pods,
// removed once deleted), with no container runtime. The stages are kwok's own
// "fast" set, shipped in its module and copied beside the binary.
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeCluster } from "./control-plane";
import { KubeClient } from "./kube-client";
import { launch } from "./processes";
import { toolHome } from "./tool-home";
import { findBinary, waitFor } from "./util";

export const fakeNodeName = "kwok-node-0";
const managedBy = { key: "kwok.x-k8s.io/node", value: "fake" };

const stageFiles = [
    "node/fast/node-initialize.yaml",
    "node/heartbeat/node-heartbeat.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
];

export async function startFakeNodes(cluster: KubeCluster, kube: KubeClient): Promise<ChildProcess> {
    const stages = path.join(toolHome("kwok"), "stages");
    const config = path.join(cluster.dir, "kwok-stages.yaml");
    fs.writeFileSync(
        config,
        stageFiles.map((f) => fs.readFileSync(path.join(stages, f), "utf8").trim()).join("\n---\n") + "\n",
    );
    const kwok = launch(
        findBinary("kwok"),
        [
            `--kubeconfig=${cluster.kubeconfig}`,
            `--config=${config}`,
            `--manage-nodes-with-annotation-selector=${managedBy.key}=${managedBy.value}`,
            "--node-ip=127.0.0.1",
        ],
        { dir: cluster.dir },
    );
    await kube.create("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name: fakeNodeName,
            annotations: { [managedBy.key]: managedBy.value, "node.alpha.kubernetes.io/ttl": "0" },
            labels: {
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": fakeNodeName,
                type: "kwok",
            },
        },
        status: {
            allocatable: { cpu: "64", memory: "256Gi", pods: "500" },
            capacity: { cpu: "64", memory: "256Gi", pods: "500" },
        },
    });
    await waitFor(
        `node ${fakeNodeName} Ready (kwok)`,
        async () => {
            const node = await kube.get(`/api/v1/nodes/${fakeNodeName}`);
            return (node?.status?.conditions ?? []).some(
                (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
            );
        },
        60_000,
        () => (kwok.exitCode !== null ? `kwok exited (${kwok.exitCode}); see ${cluster.dir}/kwok.log` : undefined),
    );
    return kwok;
}
