// `npm run flux:wait -- STACK [--revision SHA] [--kubeconfig PATH] [--context NAME] [--timeout SECONDS]`
// Waits until Flux runs the fleet commit a `pulumi up` pushed (SHA, by default
// the stack's fleetCommit output), in two steps, as `flux reconcile ks
// --with-source` does: first it asks each GitRepository the Kustomizations
// follow to fetch now (the reconcile.fluxcd.io/requestedAt annotation) and
// waits until its artifact is SHA (or a later head fetched after the request);
// only then asks every Kustomization to reconcile and waits until each handled
// that request, or was created after it (a first `up`: Flux creates them from
// clusters/<env>), applied the source's new revision and is Ready. A suspended
// GitRepository or Kustomization fails at once: Flux would never reconcile it.
// Fails with a Kustomization's own message when its reconciliation fails, or
// names what is still waiting at the timeout.
// Exit codes: 0 ready, 1 failed or timed out, 2 usage/unreachable.
import { execFile } from "node:child_process";
import { Condition, KubeObject, objectName } from "./status/checks";
import { get, kubectl, KubeTarget, reachable } from "./status/kubectl";
import { resolveTarget } from "./status/target";

const KS = "kustomizations.kustomize.toolkit.fluxcd.io";
const GIT = "gitrepositories.source.toolkit.fluxcd.io";
const ANNOTATION = "reconcile.fluxcd.io/requestedAt";
// Reasons Flux reports while a later attempt may still succeed on its own.
const TRANSIENT = new Set(["DependencyNotReady", "Progressing", "ProgressingWithRetry"]);

export type State = { done: boolean; failed?: string; line: string };

function readyOf(o: KubeObject): Condition | undefined {
    return o.status?.conditions?.find((c) => c.type === "Ready");
}

function describe(ready: Condition | undefined): string {
    return ready
        ? `Ready=${ready.status} ${ready.reason ?? ""}${ready.message ? `: ${ready.message}` : ""}`
        : "no Ready condition yet";
}

function current(o: KubeObject): boolean {
    return (
        o.status?.observedGeneration === undefined ||
        o.metadata.generation === undefined ||
        o.status.observedGeneration >= o.metadata.generation
    );
}

function suspended(kind: string, o: KubeObject): State | undefined {
    if (o.spec?.suspend !== true) return undefined;
    const resume = `flux resume ${kind === "GitRepository" ? "source git" : "kustomization"} ${o.metadata.name} -n ${o.metadata.namespace ?? "flux-system"}`;
    return {
        done: false,
        failed: `is suspended (spec.suspend: true), so Flux will not reconcile it; resume it with: ${resume}`,
        line: "suspended",
    };
}

/** Whether a Flux revision ("main@sha1:<sha>", or the older "main/<sha>") is the commit `sha`. */
export function isRevision(revision: string | undefined, sha: string): boolean {
    return !!revision && new RegExp(`(^|[@:/])${sha}$`).test(revision);
}

/**
 * A GitRepository: done once its artifact is `sha`, or once it handled the
 * request (fetched after the up pushed `sha`) and is Ready on a later head.
 */
export function sourceState(o: KubeObject, requestedAt: string, sha: string): State {
    const s = suspended("GitRepository", o);
    if (s) return s;
    const ready = readyOf(o);
    const revision = o.status?.artifact?.revision;
    const handled = o.status?.lastHandledReconcileAt === requestedAt;
    if (ready?.status === "True" && current(o) && isRevision(revision, sha))
        return { done: true, line: `at ${revision}` };
    if (handled && ready?.status === "True" && current(o) && revision) {
        return {
            done: true,
            line: `at ${revision}, fetched after ${sha.slice(0, 12)} was pushed (the branch moved on since)`,
        };
    }
    if (handled && ready?.status === "False" && !TRANSIENT.has(ready.reason ?? ""))
        return { done: false, failed: ready.message ?? ready.reason ?? "failed", line: describe(ready) };
    return {
        done: false,
        line: `waiting for ${sha.slice(0, 12)} (now ${revision ?? "no artifact"}; ${describe(ready)})`,
    };
}

/**
 * A Kustomization: done once it handled the request (or was created after
 * it), is Ready on its current generation and applied one of `revisions`
 * when given (the revision its GitRepository reached, or its head since).
 */
export function kustomizationState(
    o: KubeObject,
    requestedAt: string,
    opts: { createdAfter?: boolean; revisions?: string[] } = {},
): State {
    const s = suspended("Kustomization", o);
    if (s) return s;
    const ready = readyOf(o);
    const handled = opts.createdAfter || o.status?.lastHandledReconcileAt === requestedAt;
    const line = describe(ready);
    if (!handled) return { done: false, line: `waiting for the controller (${line})` };
    const applied = o.status?.lastAppliedRevision;
    if (ready?.status === "True" && current(o)) {
        if (opts.revisions === undefined || (applied !== undefined && opts.revisions.includes(applied)))
            return { done: true, line: `Ready, revision ${applied ?? "?"}` };
        return { done: false, line: `Ready on ${applied ?? "no revision"}, waiting for ${opts.revisions[0]}` };
    }
    if (ready?.status === "False" && !TRANSIENT.has(ready.reason ?? ""))
        return { done: false, failed: ready.message ?? ready.reason ?? "failed", line };
    return { done: false, line };
}

function key(o: KubeObject): string {
    return `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;
}

/** The GitRepository a Kustomization follows, as namespace/name (undefined for other source kinds). */
function gitSourceOf(o: KubeObject): string | undefined {
    const ref = o.spec?.sourceRef as { kind?: string; name?: string; namespace?: string } | undefined;
    if (!ref?.name || ref.kind !== "GitRepository") return undefined;
    return `${ref.namespace ?? o.metadata.namespace ?? "default"}/${ref.name}`;
}

async function annotate(target: KubeTarget, resource: string, o: KubeObject, requestedAt: string): Promise<void> {
    const r = await kubectl(target, [
        "annotate",
        "--overwrite",
        "-n",
        o.metadata.namespace ?? "default",
        `${resource}/${o.metadata.name}`,
        `${ANNOTATION}=${requestedAt}`,
    ]);
    if (r.code !== 0) throw new Error(`cannot request a reconciliation of ${o.metadata.name}: ${r.stderr.trim()}`);
}

async function list(target: KubeTarget, resource: string): Promise<KubeObject[]> {
    const r = await get(target, resource);
    if (r.kind === "ok") return r.items;
    if (r.kind === "no-such-type") return [];
    throw new Error(`cannot list ${resource}: ${r.kind === "error" ? r.message : r.kind}`);
}

/** The up's commit: `pulumi stack output fleetCommit` of the stack (the CLI and backend of the caller's environment). */
function fleetCommit(stack: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(
            "pulumi",
            ["stack", "output", "fleetCommit", "--stack", stack],
            { timeout: 120_000 },
            (err, stdout, stderr) => {
                const sha = stdout.trim();
                if (err || !/^[0-9a-f]{40}$/.test(sha)) {
                    reject(
                        new Error(
                            `cannot read the fleetCommit output of stack ${stack} (${(stderr || err?.message || `got "${sha}"`).trim()}); pass --revision SHA`,
                        ),
                    );
                } else resolve(sha);
            },
        );
    });
}

function parseFlags(argv: string[]): { rest: string[]; seconds: number; revision?: string } {
    const rest: string[] = [];
    let seconds = 600;
    let revision: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const t = /^--timeout(?:=(.*))?$/.exec(argv[i]);
        const r = /^--revision(?:=(.*))?$/.exec(argv[i]);
        if (t) seconds = Number(t[1] ?? argv[++i]);
        else if (r) revision = r[1] ?? argv[++i] ?? "";
        else rest.push(argv[i]);
    }
    return { rest, seconds, revision };
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Prints a line per object when it changes; returns the first failure. */
class Progress {
    private last = new Map<string, string>();
    report(name: string, s: State): void {
        if (this.last.get(name) !== s.line) console.log(`  ${name}: ${s.line}`);
        this.last.set(name, s.line);
    }
    pending(isDone: (line: string) => boolean): string[] {
        return [...this.last].filter(([, line]) => !isDone(line)).map(([name, line]) => `  ${name}: ${line}`);
    }
}

async function main(): Promise<number> {
    const { rest, seconds, revision } = parseFlags(process.argv.slice(2));
    const t = resolveTarget(rest, process.cwd());
    if (
        "usage" in t ||
        !Number.isFinite(seconds) ||
        seconds <= 0 ||
        (revision !== undefined && !/^[0-9a-f]{40}$/.test(revision))
    ) {
        console.error(
            "usage: flux-wait STACK [--revision SHA] [--kubeconfig PATH] [--context NAME] [--environment ENV] [--timeout SECONDS]",
        );
        console.error("  SHA: the full fleet commit to wait for (default: the stack's fleetCommit output)");
        return 2;
    }
    const unreachable = await reachable(t);
    if (unreachable) {
        console.error(`cannot reach the cluster: ${unreachable}`);
        return 2;
    }
    const sha = revision ?? (await fleetCommit(t.stack ?? ""));
    const deadline = Date.now() + seconds * 1000;
    const timedOut = (what: string, lines: string[]) => {
        console.error(`timed out after ${seconds}s${what ? ` ${what}` : ""}; not Ready:`);
        for (const l of lines) console.error(l);
        return 1;
    };

    // The Kustomizations and the GitRepositories they follow. On a first up the
    // Flux Operator may not have created them yet.
    let sources: KubeObject[];
    for (;;) {
        const ks = await list(t, KS);
        const wanted = new Set(ks.map(gitSourceOf).filter((s): s is string => !!s));
        sources = (await list(t, GIT)).filter((g) => wanted.has(key(g)));
        for (const [kind, o] of [
            ...sources.map((g) => ["GitRepository", g] as const),
            ...ks.map((k) => ["Kustomization", k] as const),
        ]) {
            const s = suspended(kind, o);
            if (s) {
                console.error(`${objectName(kind, o)} ${s.failed}`);
                return 1;
            }
        }
        if (ks.length > 0 && sources.length === wanted.size) break;
        if (Date.now() > deadline) {
            console.error(
                ks.length === 0
                    ? "no Flux Kustomization found in the cluster"
                    : `GitRepository ${[...wanted].join(", ")} not found`,
            );
            return 1;
        }
        await sleep(2000);
    }

    // 1. The sources fetch the up's commit.
    const sourceRequest = new Date().toISOString();
    for (const g of sources) await annotate(t, GIT, g, sourceRequest);
    console.log(`waiting for ${sources.map((g) => `GitRepository ${key(g)}`).join(", ")} to reach ${sha}`);
    const reached = new Map<string, string>();
    const sourceProgress = new Progress();
    for (;;) {
        let pending = 0;
        for (const g of await list(t, GIT)) {
            if (!sources.some((s) => key(s) === key(g))) continue;
            const name = objectName("GitRepository", g);
            const s = sourceState(g, sourceRequest, sha);
            sourceProgress.report(name, s);
            if (s.failed) {
                console.error(`${name} failed: ${s.failed}`);
                return 1;
            }
            if (s.done) reached.set(key(g), g.status?.artifact?.revision ?? "");
            else pending++;
        }
        if (pending === 0 && reached.size === sources.length) break;
        if (Date.now() > deadline)
            return timedOut(
                "waiting for the sources",
                sourceProgress.pending((l) => l.startsWith("at ")),
            );
        await sleep(2000);
    }

    // 2. Every Kustomization applies it; those created from now on count too.
    const ksRequest = new Date().toISOString();
    const requested = new Set<string>();
    for (const k of await list(t, KS)) {
        const s = suspended("Kustomization", k);
        if (s) {
            console.error(`${objectName("Kustomization", k)} ${s.failed}`);
            return 1;
        }
        await annotate(t, KS, k, ksRequest);
        requested.add(key(k));
    }
    console.log(`requested reconciliation of ${requested.size} Kustomization(s) at ${ksRequest}`);
    const progress = new Progress();
    for (;;) {
        let pending = 0;
        const heads = new Map((await list(t, GIT)).map((g) => [key(g), g.status?.artifact?.revision ?? ""]));
        for (const k of await list(t, KS)) {
            const name = objectName("Kustomization", k);
            const src = gitSourceOf(k);
            const revisions = src && reached.has(src) ? [reached.get(src)!, heads.get(src) ?? ""] : undefined;
            const s = kustomizationState(k, ksRequest, { createdAfter: !requested.has(key(k)), revisions });
            progress.report(name, s);
            if (s.failed) {
                console.error(`${name} ${s.line === "suspended" ? "" : "failed: "}${s.failed}`);
                return 1;
            }
            if (!s.done) pending++;
        }
        if (pending === 0) {
            console.log(`all Kustomizations Ready, fleet commit ${sha} applied`);
            return 0;
        }
        if (Date.now() > deadline)
            return timedOut(
                "",
                progress.pending((l) => l.startsWith("Ready,")),
            );
        await sleep(2000);
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
