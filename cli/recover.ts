// Finishes what an interrupted `pulumi up` or `destroy` of a stack left behind,
// without asking anything, so that the next run (or CI's) goes through:
//   ts-node cli/recover.ts STACK [--cancel-lock]
// (run by cli/stack.sh: `npm run up -- STACK --recover`, `npm run recover -- STACK`).
// In order: refuse while the run still holds the stack; kill the run's leftover
// plugin processes; remove its stale lock; put Helm releases it left pending
// back to their last deployed revision (or out of Helm's records when they
// never deployed); resolve its pending operations against what exists. Prints
// each thing it did; exits 1, naming the holder and the fix, when it must not
// act. The pieces that decide are in cli/recover/, apart from the I/O.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { kubectl, KubeTarget, reachable } from "./status/kubectl";
import { readRevisions, removeRevisions, repairRelease, HelmRelease } from "./recover/helm-records";
import { findLeftovers, isRunning, killLeftovers, readProcess, readProcesses } from "./recover/leftovers";
import { decideLock, fileBackendDir, findLocks, HolderProcess } from "./recover/lock";
import { Existing, helmReleaseOf, helmReleaseType, KubeRef, resolve, Resolution, subjectOf } from "./recover/pending";
import { projectName, PulumiCli } from "./recover/pulumi-cli";

class Refusal extends Error {}

const say = (line: string) => console.error(`[recover] ${line}`);

function holderOf(pid: number): HolderProcess {
    const proc = readProcess(pid);
    if (proc) return { alive: isRunning(pid), command: proc.comm };
    try {
        process.kill(pid, 0);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EPERM") return { alive: false };
    }
    // No /proc (macOS): ask ps for the command.
    try {
        const comm = execFileSync("ps", ["-p", String(pid), "-o", "comm="], { encoding: "utf8" }).trim();
        return { alive: true, command: comm.split("/").pop() };
    } catch {
        return { alive: true };
    }
}

async function existingObject(target: KubeTarget, ref: KubeRef): Promise<Existing> {
    const args = ["get", ref.resource, ref.name, "-o", "json", ...(ref.namespace ? ["-n", ref.namespace] : [])];
    const r = await kubectl(target, args);
    if (r.code !== 0) {
        if (/\(NotFound\)/.test(r.stderr)) return null;
        throw new Error(`checking whether ${ref.resource} ${ref.name} exists: ${r.stderr.trim()}`);
    }
    const ns = (JSON.parse(r.stdout) as { metadata?: { namespace?: string } }).metadata?.namespace;
    return ns ? `${ns}/${ref.name}` : ref.name;
}

export async function recover(stack: string, opts: { cancelLock: boolean; projectDir: string }): Promise<string[]> {
    const done: string[] = [];
    const did = (line: string) => {
        done.push(line);
        say(line);
    };
    const fix = `npm run recover -- ${stack}`;
    const pulumi = new PulumiCli(stack, opts.projectDir);
    const project = projectName(opts.projectDir);

    // 1. Who holds the stack. Nothing is touched while a live run does.
    const backendDir = fileBackendDir(process.env.PULUMI_BACKEND_URL);
    const locks = backendDir ? findLocks(backendDir, project, stack) : [];
    const staleLocks: { file: string; reason: string }[] = [];
    for (const lock of locks) {
        const d = decideLock(lock.content, os.hostname(), holderOf);
        if (d.action === "remove") staleLocks.push({ file: lock.file, reason: d.reason });
        else if (d.canCancel && opts.cancelLock)
            staleLocks.push({ file: lock.file, reason: `${d.reason}; removed as asked (--cancel-lock)` });
        else {
            const how = d.canCancel
                ? `If that run is gone (a cancelled job, a lost machine), remove the lock: ${fix} --cancel-lock`
                : `Wait for it to finish, or stop it (kill ${lock.content?.pid}) and run: ${fix}`;
            throw new Refusal(
                `stack ${stack} is locked by ${d.holder}: ${d.reason}. ${how}\n  lock file: ${lock.file}`,
            );
        }
    }

    // 2. The dead run's plugins, before anything reads what they might still change.
    const procs = readProcesses();
    if (procs) {
        const leftovers = findLeftovers(procs, opts.projectDir, stack);
        const stuck = await killLeftovers(leftovers);
        for (const l of leftovers)
            if (!stuck.includes(l.pid)) did(`killed leftover process ${l.pid} (${l.what}): ${l.why}`);
        if (stuck.length > 0)
            throw new Error(
                `leftover processes ${stuck.join(", ")} of an interrupted run did not exit after SIGKILL; stop them, then run: ${fix}`,
            );
    } else {
        say("no /proc on this system: leftover plugin processes are not looked for");
    }

    // 3. The stale lock.
    for (const l of staleLocks) {
        fs.rmSync(l.file, { force: true });
        // The blob store's metadata sidecar of the lock.
        fs.rmSync(`${l.file}.attrs`, { force: true });
        did(`removed the stale lock ${l.file}: ${l.reason}`);
    }
    if (!backendDir && opts.cancelLock) {
        // Pulumi Cloud or a bucket: its lock cannot be inspected from here, so it is cancelled only when asked.
        const r = await pulumi.run(["cancel", "--yes"]);
        const said = (r.stdout + r.stderr).trim().split("\n").slice(-3).join(" ");
        if (r.code === 0) did(`pulumi cancel: ${said || "the stack's update in progress was cancelled"}`);
        else say(`pulumi cancel found nothing to cancel or failed (exit ${r.code}): ${said}`);
    }

    const state = await pulumi.exportState();
    if (!state) {
        say(`stack ${stack} has no state yet: nothing else to recover`);
        return done;
    }
    const pending = state.deployment.pending_operations ?? [];

    // 4. Helm releases the run left pending, from the state and its pending operations.
    const releases = new Map<string, HelmRelease>();
    for (const r of [...(state.deployment.resources ?? []), ...pending.map((p) => p.resource)]) {
        if (r.type !== helmReleaseType) continue;
        const rel = helmReleaseOf(r);
        if (rel) releases.set(`${rel.namespace}/${rel.name}`, rel);
    }
    const target: KubeTarget = {
        kubeconfig: (await pulumi.config("kubeconfig"))?.replace(/^~(?=$|\/)/, os.homedir()),
        context: await pulumi.config("kubeContext"),
    };
    const needsCluster =
        releases.size > 0 || pending.some((p) => p.type === "creating" && subjectOf(p.resource).kind !== "other");
    const unreachable = needsCluster ? await reachable(target) : undefined;
    if (unreachable) {
        const where = `${target.kubeconfig ?? "$KUBECONFIG or ~/.kube/config"}${target.context ? `, context ${target.context}` : ""}`;
        if (pending.length > 0) {
            throw new Error(
                `the interrupted run's pending operations need the cluster to be resolved, and it cannot be reached (${where}): ${unreachable}. Fix the access, then run: ${fix}`,
            );
        }
        say(`the cluster cannot be reached (${where}), so Helm's records were not checked: ${unreachable}`);
    }
    const deployed = new Set<string>();
    if (!unreachable) {
        for (const [key, rel] of releases) {
            const revisions = await readRevisions(target, rel);
            const repair = repairRelease(rel, revisions);
            if (repair) {
                await removeRevisions(target, rel, repair.remove);
                did(repair.summary);
            }
            const left = revisions.filter((r) => !repair?.remove.includes(r.secret));
            if (left.some((r) => r.status === "deployed")) deployed.add(key);
        }
    }

    // 5. Pending operations, each against what exists.
    if (pending.length === 0) return done;
    const resolutions: Resolution[] = [];
    for (const op of pending) {
        let existing: Existing | undefined;
        if (op.type === "creating") {
            const s = subjectOf(op.resource);
            if (s.kind === "helm") {
                const key = `${s.release.namespace}/${s.release.name}`;
                existing = deployed.has(key) ? key : null;
            } else if (s.kind === "kube") existing = await existingObject(target, s.ref);
        }
        resolutions.push(resolve(op, existing));
    }
    const imports = resolutions.filter((r): r is Extract<Resolution, { action: "import" }> => r.action === "import");
    const clears = resolutions.filter((r) => r.action === "clear");
    if (imports.length > 0) {
        await pulumi.importPendingCreates(imports, clears.length > 0);
        const left = (await pulumi.exportState())?.deployment.pending_operations ?? [];
        if (left.length > 0) {
            throw new Error(
                `the refresh left ${left.length} pending operation(s): ${left.map((p) => `${p.type} ${p.resource.urn}`).join(", ")}`,
            );
        }
    } else if (clears.length > 0) {
        // `pulumi stack import` drops every pending operation: the clears, all of them here.
        state.deployment.pending_operations = [];
        await pulumi.importState(state);
    }
    for (const r of [...clears, ...imports]) did(r.why);
    return done;
}

async function main(argv: string[]): Promise<number> {
    const stack = argv.find((a) => !a.startsWith("-"));
    const unknown = argv.filter((a) => a.startsWith("-") && a !== "--cancel-lock");
    if (!stack || unknown.length > 0) {
        console.error(
            `usage: ts-node cli/recover.ts STACK [--cancel-lock]${unknown.length ? ` (unknown: ${unknown.join(" ")})` : ""}`,
        );
        return 2;
    }
    try {
        const done = await recover(stack, {
            cancelLock: argv.includes("--cancel-lock"),
            projectDir: fs.realpathSync(process.cwd()),
        });
        say(
            done.length === 0
                ? `stack ${stack}: no interrupted run to finish`
                : `stack ${stack}: ${done.length} thing(s) recovered`,
        );
        return 0;
    } catch (err) {
        say(err instanceof Error ? err.message : String(err));
        return 1;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
