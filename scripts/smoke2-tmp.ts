import * as fs from "fs";
import { startKubeCluster, DEFAULT_CONTROLLERS, WORKLOAD_CONTROLLERS } from "../local-cluster/control-plane";
import { KubeClient } from "../local-cluster/kube-client";
import { startFakeNodes } from "../local-cluster/nodes";
async function main() {
  const c = await startKubeCluster({ name: "smoke", controllers: [...DEFAULT_CONTROLLERS, ...WORKLOAD_CONTROLLERS], scheduler: true });
  const kube = new KubeClient(c.server, c.certs);
  await startFakeNodes(c, kube);
  fs.writeFileSync("/tmp/smoke-kubeconfig", c.kubeconfig);
  console.log("READY", c.dir);
  setInterval(() => undefined, 1 << 30);
}
main().catch(e => { console.error(e); process.exit(1); });
