// flux-wait against a real API server. The test plays Flux's kustomize
// controller: it answers a reconcile.fluxcd.io/requestedAt request by writing
// the Kustomization's status, as the controller does, and only then.
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { KubeCluster, startKubeCluster } from "../support/kube-cluster";
import { apply, crdManifest, crds, gitRepository, kubectl, kustomization, ready, revision } from "./fixtures";

const root = path.resolve(__dirname, "..", "..");
const projectNode = path.join(root, "node_modules", ".bin", "node");
const node = fs.existsSync(projectNode) ? projectNode : process.execPath;
const tsNode = require.resolve("ts-node/register/transpile-only");
const run = promisify(execFile);
const KS = "kustomizations.kustomize.toolkit.fluxcd.io";

type Behaviour = "ready" | "ignore" | { fail: string };

interface Ks {
  metadata: { name: string; namespace: string; generation: number; annotations?: Record<string, string> };
  status?: { lastHandledReconcileAt?: string };
}

/** Polls Kustomizations and answers each new reconcile request per `behaviour`. */
function fakeKustomizeController(kubeconfig: string, behaviour: Record<string, Behaviour>): { stop: () => Promise<void>; handled: string[] } {
  let stopped = false;
  const handled: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      const { stdout } = await run("kubectl", [`--kubeconfig=${kubeconfig}`, "get", KS, "-A", "-o", "json"]);
      for (const k of (JSON.parse(stdout) as { items: Ks[] }).items) {
        const requested = k.metadata.annotations?.["reconcile.fluxcd.io/requestedAt"];
        const b = behaviour[k.metadata.name] ?? "ignore";
        if (!requested || requested === k.status?.lastHandledReconcileAt || b === "ignore") continue;
        const status =
          b === "ready"
            ? { observedGeneration: k.metadata.generation, lastHandledReconcileAt: requested, lastAppliedRevision: revision, conditions: [ready("True", `Applied revision: ${revision}`)] }
            : { observedGeneration: k.metadata.generation, lastHandledReconcileAt: requested, conditions: [ready("False", b.fail, "HealthCheckFailed")] };
        await run("kubectl", [`--kubeconfig=${kubeconfig}`, "-n", k.metadata.namespace, "patch", KS, k.metadata.name, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
        handled.push(k.metadata.name);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    handled,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function fluxWait(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(node, ["-r", tsNode, path.join(root, "scripts", "flux-wait.ts"), ...args], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: "/nonexistent", TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("flux-wait (real API server)", function () {
  this.timeout(300_000);
  let cluster: KubeCluster;
  let flags: string[];

  before(async () => {
    cluster = await startKubeCluster({ name: "flux-wait-test" });
    const kc = cluster.kubeconfig;
    flags = ["staging", `--kubeconfig=${kc}`, `--context=${cluster.context}`];
    apply(kc, crds.map(crdManifest));
    kubectl(kc, ["wait", "--for=condition=Established", "--timeout=60s", ...crds.map((c) => `crd/${c.plural}.${c.group}`)]);
    apply(kc, [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } },
      gitRepository,
      kustomization("infrastructure", "./infrastructure/configs"),
      kustomization("apps", "./apps/staging"),
    ]);
  });

  after(async () => {
    if (cluster) await cluster.stop();
  });

  it("requests a reconciliation and returns once every Kustomization handled it and is Ready", async () => {
    const ctl = fakeKustomizeController(cluster.kubeconfig, { infrastructure: "ready", apps: "ready" });
    try {
      const r = await fluxWait(flags);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /requested reconciliation of 2 Kustomization\(s\)/);
      assert.match(r.stdout, /Kustomization flux-system\/apps: Ready, revision main@sha1:/);
      assert.match(r.stdout, /all Kustomizations Ready/);
      assert.deepEqual([...ctl.handled].sort(), ["apps", "infrastructure"]);
      // The source was asked to fetch at once, too.
      const ann = kubectl(cluster.kubeconfig, ["-n", "flux-system", "get", "gitrepositories.source.toolkit.fluxcd.io/flux-system", "-o", "jsonpath={.metadata.annotations}"]);
      assert.match(ann, /reconcile\.fluxcd\.io\/requestedAt/);
    } finally {
      await ctl.stop();
    }
  });

  it("fails with the failing Kustomization's own message", async () => {
    const msg = "health check failed after 30s: timeout waiting for: [Deployment/podinfo/podinfo status: 'InProgress']";
    const ctl = fakeKustomizeController(cluster.kubeconfig, { infrastructure: "ready", apps: { fail: msg } });
    try {
      const r = await fluxWait(flags);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.ok(r.stderr.includes(`Kustomization flux-system/apps failed: ${msg}`), r.stderr);
    } finally {
      await ctl.stop();
    }
  });

  it("times out naming the Kustomization whose reconciliation was never handled", async () => {
    // Status left Ready=True from earlier runs must not count: the new request is unanswered.
    const ctl = fakeKustomizeController(cluster.kubeconfig, { infrastructure: "ready", apps: "ignore" });
    try {
      const r = await fluxWait([...flags, "--timeout=6"]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /timed out after 6s; not Ready:\n {2}Kustomization flux-system\/apps: waiting for the controller/);
      assert.doesNotMatch(r.stderr, /infrastructure/);
    } finally {
      await ctl.stop();
    }
  });
});
