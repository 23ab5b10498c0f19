// flux-wait against a real API server. The test plays Flux's source and
// kustomize controllers: a GitRepository answers a reconcile.fluxcd.io/requestedAt
// request by fetching (after a delay, to a given commit), a Kustomization answers
// its own request, or its creation, by applying whatever revision its source
// holds at that moment, as the controllers do. Suspended objects are skipped,
// as Flux skips them.
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { KubeCluster, startKubeCluster } from "../../local-cluster/control-plane";
import {
    apply,
    crdManifest,
    crds,
    gitRepository,
    kubectl,
    kustomization,
    ready,
    revision,
    setStatus,
} from "./fixtures";

const root = path.resolve(__dirname, "..", "..");
const projectNode = path.join(root, "node_modules", ".bin", "node");
const node = fs.existsSync(projectNode) ? projectNode : process.execPath;
const tsNode = require.resolve("ts-node/register/transpile-only");
const run = promisify(execFile);
const KS = "kustomizations.kustomize.toolkit.fluxcd.io";
const GIT = "gitrepositories.source.toolkit.fluxcd.io";

// The fixtures' revision is the commit the cluster ran before this `up`; this is the up's.
const newSha = "fedcba9876543210fedc".repeat(2);
const newRevision = `main@sha1:${newSha}`;

type Behaviour = "ready" | "ignore" | { fail: string };

interface Obj {
    metadata: { name: string; namespace: string; generation: number; annotations?: Record<string, string> };
    spec?: { suspend?: boolean };
    status?: { lastHandledReconcileAt?: string; artifact?: { revision?: string } };
}

interface FakeFlux {
    /** The commit the GitRepository fetches when asked. */
    head: string;
    /** How long a fetch takes. */
    fetchMs: number;
    kustomizations: Record<string, Behaviour>;
    /** Objects a Kustomization creates the first time it applies (as clusters/<env> creates the others). */
    creates?: Record<string, object[]>;
}

/** Polls the Flux objects and answers requests as the controllers would; returns what it did. */
function fakeFlux(kubeconfig: string, f: FakeFlux): { stop: () => Promise<void>; handled: string[] } {
    let stopped = false;
    const handled: string[] = [];
    const asked = new Map<string, number>();
    const created = new Set<string>();
    const list = async (resource: string) =>
        (
            JSON.parse(
                (await run("kubectl", [`--kubeconfig=${kubeconfig}`, "get", resource, "-A", "-o", "json"])).stdout,
            ) as { items: Obj[] }
        ).items;
    const patch = (resource: string, o: Obj, status: object) =>
        run("kubectl", [
            `--kubeconfig=${kubeconfig}`,
            "-n",
            o.metadata.namespace,
            "patch",
            resource,
            o.metadata.name,
            "--subresource=status",
            "--type=merge",
            "-p",
            JSON.stringify({ status }),
        ]);
    const loop = (async () => {
        while (!stopped) {
            for (const g of await list(GIT)) {
                const requested = g.metadata.annotations?.["reconcile.fluxcd.io/requestedAt"];
                if (g.spec?.suspend || !requested || requested === g.status?.lastHandledReconcileAt) continue;
                const first = asked.get(requested) ?? Date.now();
                asked.set(requested, first);
                if (Date.now() - first < f.fetchMs) continue;
                await patch(GIT, g, {
                    observedGeneration: g.metadata.generation,
                    lastHandledReconcileAt: requested,
                    artifact: { revision: `main@sha1:${f.head}` },
                    conditions: [ready("True", `stored artifact for revision 'main@sha1:${f.head}'`, "Succeeded")],
                });
                handled.push(`GitRepository/${g.metadata.name}`);
            }
            const source = (await list(GIT))[0]?.status?.artifact?.revision;
            for (const k of await list(KS)) {
                const requested = k.metadata.annotations?.["reconcile.fluxcd.io/requestedAt"];
                const isNew = k.status === undefined || Object.keys(k.status).length === 0;
                const b = f.kustomizations[k.metadata.name] ?? "ignore";
                if (k.spec?.suspend || b === "ignore") continue;
                if (!isNew && (!requested || requested === k.status?.lastHandledReconcileAt)) continue;
                const status =
                    b === "ready"
                        ? {
                              observedGeneration: k.metadata.generation,
                              lastHandledReconcileAt: requested,
                              lastAppliedRevision: source,
                              conditions: [ready("True", `Applied revision: ${source}`)],
                          }
                        : {
                              observedGeneration: k.metadata.generation,
                              lastHandledReconcileAt: requested,
                              conditions: [ready("False", b.fail, "HealthCheckFailed")],
                          };
                await patch(KS, k, status);
                handled.push(`Kustomization/${k.metadata.name}`);
                const more = f.creates?.[k.metadata.name];
                if (more && !created.has(k.metadata.name)) {
                    created.add(k.metadata.name);
                    apply(kubeconfig, more);
                }
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

function fluxWait(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    const started = Date.now();
    return new Promise((resolve) => {
        const p = spawn(node, ["-r", tsNode, path.join(root, "cli", "flux-wait.ts"), ...args], {
            cwd: root,
            env: { ...process.env, KUBECONFIG: "/nonexistent", TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        p.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
    });
}

function appliedRevision(kubeconfig: string, name: string): string {
    return kubectl(kubeconfig, [
        "-n",
        "flux-system",
        "get",
        `${KS}/${name}`,
        "-o",
        "jsonpath={.status.lastAppliedRevision}",
    ]);
}

describe("flux-wait (real API server)", function () {
    this.timeout(300_000);
    let cluster: KubeCluster;
    let flags: string[];

    before(async () => {
        cluster = await startKubeCluster({ name: "flux-wait-test" });
        const kc = cluster.kubeconfig;
        flags = ["staging", `--kubeconfig=${kc}`, `--context=${cluster.context}`, `--revision=${newSha}`];
        apply(kc, crds.map(crdManifest));
        kubectl(kc, [
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            ...crds.map((c) => `crd/${c.plural}.${c.group}`),
        ]);
        apply(kc, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } }]);
    });

    /** A cluster that ran the old commit: its source and both Kustomizations Ready on it. */
    beforeEach(() => {
        const kc = cluster.kubeconfig;
        kubectl(kc, ["-n", "flux-system", "delete", KS, "--all", "--wait=true"]);
        kubectl(kc, ["-n", "flux-system", "delete", GIT, "--all", "--wait=true"]);
        apply(kc, [
            gitRepository,
            kustomization("infrastructure", "./infrastructure/configs"),
            kustomization("apps", "./apps/staging"),
        ]);
        setStatus(kc, GIT, "flux-system", "flux-system", {
            observedGeneration: 1,
            artifact: { revision },
            conditions: [ready("True", `stored artifact for revision '${revision}'`, "Succeeded")],
        });
        for (const name of ["infrastructure", "apps"]) {
            setStatus(kc, KS, name, "flux-system", {
                observedGeneration: 1,
                lastAppliedRevision: revision,
                conditions: [ready("True", `Applied revision: ${revision}`)],
            });
        }
    });

    after(async () => {
        if (cluster) await cluster.stop();
    });

    it("waits for the GitRepository to fetch the up's commit before asking the Kustomizations, so they apply it", async () => {
        // The fetch takes a few seconds; a Kustomization asked at the same moment
        // would apply the old revision and report Ready.
        const flux = fakeFlux(cluster.kubeconfig, {
            head: newSha,
            fetchMs: 3000,
            kustomizations: { infrastructure: "ready", apps: "ready" },
        });
        try {
            const r = await fluxWait(flags);
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.match(r.stdout, new RegExp(`GitRepository flux-system/flux-system: at ${newRevision}`));
            assert.match(r.stdout, new RegExp(`Kustomization flux-system/apps: Ready, revision ${newRevision}`));
            assert.equal(appliedRevision(cluster.kubeconfig, "apps"), newRevision);
            assert.equal(appliedRevision(cluster.kubeconfig, "infrastructure"), newRevision);
            // The source first, then the Kustomizations.
            assert.equal(flux.handled[0], "GitRepository/flux-system");
            assert.deepEqual([...flux.handled.slice(1)].sort(), ["Kustomization/apps", "Kustomization/infrastructure"]);
        } finally {
            await flux.stop();
        }
    });

    it("waits for a Kustomization created after the request (a first up) to apply the commit", async () => {
        const late = kustomization("podinfo", "./apps/staging/podinfo");
        const flux = fakeFlux(cluster.kubeconfig, {
            head: newSha,
            fetchMs: 500,
            kustomizations: { infrastructure: "ready", apps: "ready", podinfo: "ready" },
            creates: { apps: [late] },
        });
        try {
            const r = await fluxWait([...flags, "--timeout=60"]);
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.match(r.stdout, new RegExp(`Kustomization flux-system/podinfo: Ready, revision ${newRevision}`));
            assert.ok(flux.handled.includes("Kustomization/podinfo"));
        } finally {
            await flux.stop();
        }
    });

    it("fails with the message of a Kustomization created after the request when it fails", async () => {
        const msg =
            "health check failed after 30s: timeout waiting for: [Deployment/podinfo/podinfo status: 'InProgress']";
        const flux = fakeFlux(cluster.kubeconfig, {
            head: newSha,
            fetchMs: 0,
            kustomizations: { infrastructure: "ready", apps: "ready", podinfo: { fail: msg } },
            creates: { apps: [kustomization("podinfo", "./apps/staging/podinfo")] },
        });
        try {
            const r = await fluxWait([...flags, "--timeout=60"]);
            assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
            assert.ok(r.stderr.includes(`Kustomization flux-system/podinfo failed: ${msg}`), r.stderr);
        } finally {
            await flux.stop();
        }
    });

    it("fails at once, saying how to resume it, when a Kustomization or the GitRepository is suspended", async () => {
        const flux = fakeFlux(cluster.kubeconfig, {
            head: newSha,
            fetchMs: 0,
            kustomizations: { infrastructure: "ready", apps: "ready" },
        });
        try {
            kubectl(cluster.kubeconfig, [
                "-n",
                "flux-system",
                "patch",
                KS,
                "apps",
                "--type=merge",
                "-p",
                '{"spec":{"suspend":true}}',
            ]);
            const r = await fluxWait([...flags, "--timeout=120"]);
            assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
            assert.match(
                r.stderr,
                /Kustomization flux-system\/apps is suspended \(spec\.suspend: true\).*flux resume kustomization apps -n flux-system/,
            );
            assert.ok(r.ms < 30_000, `took ${r.ms} ms`);

            kubectl(cluster.kubeconfig, [
                "-n",
                "flux-system",
                "patch",
                KS,
                "apps",
                "--type=merge",
                "-p",
                '{"spec":{"suspend":false}}',
            ]);
            kubectl(cluster.kubeconfig, [
                "-n",
                "flux-system",
                "patch",
                GIT,
                "flux-system",
                "--type=merge",
                "-p",
                '{"spec":{"suspend":true}}',
            ]);
            const g = await fluxWait([...flags, "--timeout=120"]);
            assert.equal(g.code, 1, `${g.stdout}\n${g.stderr}`);
            assert.match(
                g.stderr,
                /GitRepository flux-system\/flux-system is suspended .*flux resume source git flux-system -n flux-system/,
            );
            assert.ok(g.ms < 30_000, `took ${g.ms} ms`);
        } finally {
            await flux.stop();
        }
    });

    it("times out naming the GitRepository while it is still on the previous commit", async () => {
        // The source never answers: Ready=True on the old revision must not count.
        const flux = fakeFlux(cluster.kubeconfig, {
            head: newSha,
            fetchMs: 3_600_000,
            kustomizations: { infrastructure: "ready", apps: "ready" },
        });
        try {
            const r = await fluxWait([...flags, "--timeout=6"]);
            assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
            assert.match(
                r.stderr,
                new RegExp(
                    `timed out after 6s waiting for the sources; not Ready:\\n {2}GitRepository flux-system/flux-system: waiting for ${newSha.slice(0, 12)} \\(now ${revision}`,
                ),
            );
            assert.ok(
                !flux.handled.some((h) => h.startsWith("Kustomization/")),
                `Kustomizations were asked before the source had the commit: ${flux.handled}`,
            );
            assert.equal(appliedRevision(cluster.kubeconfig, "apps"), revision);
        } finally {
            await flux.stop();
        }
    });

    it("accepts a later head the GitRepository fetched after the request (the branch moved on)", async () => {
        const later = "0badc0de".repeat(5);
        const flux = fakeFlux(cluster.kubeconfig, {
            head: later,
            fetchMs: 0,
            kustomizations: { infrastructure: "ready", apps: "ready" },
        });
        try {
            const r = await fluxWait(flags);
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.match(
                r.stdout,
                new RegExp(`at main@sha1:${later}, fetched after ${newSha.slice(0, 12)} was pushed`),
            );
            assert.equal(appliedRevision(cluster.kubeconfig, "apps"), `main@sha1:${later}`);
        } finally {
            await flux.stop();
        }
    });

    it("fails with the failing Kustomization's own message", async () => {
        const msg =
            "health check failed after 30s: timeout waiting for: [Deployment/podinfo/podinfo status: 'InProgress']";
        const flux = fakeFlux(cluster.kubeconfig, {
            head: newSha,
            fetchMs: 0,
            kustomizations: { infrastructure: "ready", apps: { fail: msg } },
        });
        try {
            const r = await fluxWait(flags);
            assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
            assert.ok(r.stderr.includes(`Kustomization flux-system/apps failed: ${msg}`), r.stderr);
        } finally {
            await flux.stop();
        }
    });

    it("times out naming the Kustomization whose reconciliation was never handled", async () => {
        // Status left Ready=True from the previous commit must not count: the new request is unanswered.
        const flux = fakeFlux(cluster.kubeconfig, {
            head: newSha,
            fetchMs: 0,
            kustomizations: { infrastructure: "ready", apps: "ignore" },
        });
        try {
            const r = await fluxWait([...flags, "--timeout=8"]);
            assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
            assert.match(
                r.stderr,
                /timed out after 8s; not Ready:\n {2}Kustomization flux-system\/apps: waiting for the controller/,
            );
            assert.doesNotMatch(r.stderr, /infrastructure/);
        } finally {
            await flux.stop();
        }
    });

    it("rejects a --revision that is not a full commit SHA", async () => {
        const r = await fluxWait(["staging", `--kubeconfig=${cluster.kubeconfig}`, "--revision=abc123"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /usage: flux-wait STACK \[--revision SHA\]/);
    });
});
