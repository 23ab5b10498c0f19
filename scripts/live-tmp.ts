import * as fs from "fs";
import { startLiveCluster } from "../local-cluster/live-cluster";
async function main() {
  const live = await startLiveCluster({ name: "tmp", images: [{ repository: "stefanprodan/podinfo", tag: "6.9.2" }] });
  fs.writeFileSync("/tmp/live-info.json", JSON.stringify({ kubeconfig: live.cluster.kubeconfig, dir: live.cluster.dir, charts: live.charts.url, ui: live.webUiUrl, registry: live.registry.host, digests: live.digests }));
  console.log("READY");
  process.on("SIGTERM", async () => { await live.stop(); process.exit(0); });
  setInterval(() => undefined, 1 << 30);
}
main().catch(e => { console.error(e); process.exit(1); });
