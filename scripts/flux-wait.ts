// `npm run flux:wait -- STACK [--kubeconfig PATH] [--context NAME] [--timeout SECONDS]`
// Asks Flux to reconcile now (the reconcile.fluxcd.io/requestedAt annotation,
// as `flux reconcile` sets it) on every GitRepository and Kustomization of the
// environment's cluster, then waits until each Kustomization has handled that
// request and is Ready, printing progress. Fails with a Kustomization's own
// message when its reconciliation fails, or names those still not Ready at
// the timeout. Exit codes: 0 ready, 1 failed or timed out, 2 usage/unreachable.
import { Condition, KubeObject, objectName } from "./status/checks";
import { get, kubectl, KubeTarget, reachable } from "./status/kubectl";
import { resolveTarget } from "./status/target";

const KS = "kustomizations.kustomize.toolkit.fluxcd.io";
const SOURCES = ["gitrepositories.source.toolkit.fluxcd.io", "ocirepositories.source.toolkit.fluxcd.io"];
const ANNOTATION = "reconcile.fluxcd.io/requestedAt";
// Reasons Flux reports while a later attempt may still succeed on its own.
const TRANSIENT = new Set(["DependencyNotReady", "Progressing", "ProgressingWithRetry"]);

type State = { done: boolean; failed?: string; line: string };

export function kustomizationState(o: KubeObject, requestedAt: string): State {
  const ready: Condition | undefined = o.status?.conditions?.find((c) => c.type === "Ready");
  const handled = o.status?.lastHandledReconcileAt === requestedAt;
  const current = o.status?.observedGeneration === undefined || o.metadata.generation === undefined || o.status.observedGeneration >= o.metadata.generation;
  const line = ready ? `Ready=${ready.status} ${ready.reason ?? ""}${ready.message ? `: ${ready.message}` : ""}` : "no Ready condition yet";
  if (!handled) return { done: false, line: `waiting for the controller (${line})` };
  if (ready?.status === "True" && current) return { done: true, line: `Ready, revision ${o.status?.lastAppliedRevision ?? "?"}` };
  if (ready?.status === "False" && !TRANSIENT.has(ready.reason ?? "")) return { done: false, failed: ready.message ?? ready.reason ?? "failed", line };
  return { done: false, line };
}

async function annotateAll(target: KubeTarget, resource: string, requestedAt: string): Promise<KubeObject[]> {
  const r = await get(target, resource);
  if (r.kind !== "ok") return [];
  for (const o of r.items) {
    const res = await kubectl(target, ["annotate", "--overwrite", "-n", o.metadata.namespace ?? "default", `${resource}/${o.metadata.name}`, `${ANNOTATION}=${requestedAt}`]);
    if (res.code !== 0) throw new Error(`cannot request a reconciliation of ${o.metadata.name}: ${res.stderr.trim()}`);
  }
  return r.items;
}

function parseTimeout(argv: string[]): { rest: string[]; seconds: number } {
  const rest: string[] = [];
  let seconds = 600;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--timeout(?:=(.*))?$/.exec(argv[i]);
    if (m) seconds = Number(m[1] ?? argv[++i]);
    else rest.push(argv[i]);
  }
  return { rest, seconds };
}

async function main(): Promise<number> {
  const { rest, seconds } = parseTimeout(process.argv.slice(2));
  const t = resolveTarget(rest, process.cwd());
  if ("usage" in t || !Number.isFinite(seconds) || seconds <= 0) {
    console.error("usage: flux-wait STACK [--kubeconfig PATH] [--context NAME] [--environment ENV] [--timeout SECONDS]");
    return 2;
  }
  const unreachable = await reachable(t);
  if (unreachable) {
    console.error(`cannot reach the cluster: ${unreachable}`);
    return 2;
  }
  const requestedAt = new Date().toISOString();
  for (const s of SOURCES) await annotateAll(t, s, requestedAt);
  const kustomizations = await annotateAll(t, KS, requestedAt);
  if (kustomizations.length === 0) {
    console.error("no Flux Kustomization found in the cluster");
    return 1;
  }
  console.log(`requested reconciliation of ${kustomizations.length} Kustomization(s) at ${requestedAt}`);
  const deadline = Date.now() + seconds * 1000;
  const last = new Map<string, string>();
  for (;;) {
    const r = await get(t, KS);
    if (r.kind !== "ok") throw new Error(`cannot list Kustomizations: ${r.kind === "error" ? r.message : r.kind}`);
    let pending = 0;
    for (const o of r.items) {
      const name = objectName("Kustomization", o);
      const s = kustomizationState(o, requestedAt);
      if (last.get(name) !== s.line) console.log(`  ${name}: ${s.line}`);
      last.set(name, s.line);
      if (s.failed) {
        console.error(`${name} failed: ${s.failed}`);
        return 1;
      }
      if (!s.done) pending++;
    }
    if (pending === 0) {
      console.log("all Kustomizations Ready");
      return 0;
    }
    if (Date.now() > deadline) {
      console.error(`timed out after ${seconds}s; not Ready:`);
      for (const [name, line] of last) if (!line.startsWith("Ready,")) console.error(`  ${name}: ${line}`);
      return 1;
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error((err as Error).message);
      process.exit(2);
    },
  );
}
