// Interrupted runs: the real engine's `up` (and `destroy`), started the way a
// user does (cli/stack.sh, in a copy of the project), SIGKILLed with its
// wrapper at a chosen moment, as a cancelled CI job or a lost shell does: while
// the Kyverno Helm release installs, right after the fleet push landed, while
// waiting for Flux, while a destroy deletes. The plugins are left running, as
// they are then. One documented command, `npm run up -- STACK --recover` (or
// destroy), must then finish the job: exit 0, the loop converged, exactly one
// fleet commit for the change, one deployed Helm record per release, and no
// process of the killed run left. One live cluster serves every case, in order.
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { loopState } from "../../local-cluster/convergence";
import { readyCondition } from "../../local-cluster/kube-client";
import { parseMarker, readProcesses } from "../../cli/recover/leftovers";
import { E2eWorld, Environment, nextPodinfoTag, until } from "../../harness/e2e-world";
import { repoRoot } from "../../harness/pulumi-cli";

const stack = "staging";
const minutes = (n: number) => n * 60_000;
const FLUX = "/apis/fluxcd.controlplane.io/v1/namespaces/flux-system/fluxinstances/flux";
const GITREPO = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system";
const PODINFO = "/apis/apps/v1/namespaces/podinfo/deployments/podinfo";
const helmRecords = (release: string, ns: string) =>
    `/api/v1/namespaces/${ns}/secrets?labelSelector=${encodeURIComponent(`owner=helm,name=${release}`)}`;
const releases = [
    { name: "kyverno", namespace: "kyverno" },
    { name: "cert-manager", namespace: "cert-manager" },
    { name: "flux-operator", namespace: "flux-system" },
];
const committedTag = (
    YAML.parse(fs.readFileSync(path.join(repoRoot, "fleet", "apps", stack, "kustomization.yaml"), "utf8")).images as {
        newTag: string;
    }[]
)[0].newTag;
const timings: string[] = [];

interface Run {
    child: ChildProcess;
    output: () => string;
    exited: Promise<number>;
}

describe("interrupted runs: a killed up or destroy is finished by `npm run up/destroy -- STACK --recover`", function () {
    this.timeout(minutes(20));
    const world = new E2eWorld();
    let env: Environment;
    let projectDir: string;

    const stackSh = (args: string[]): Run => {
        const child = spawn("bash", [path.join(projectDir, "cli", "stack.sh"), ...args], {
            cwd: projectDir,
            env: world.pulumi.env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
        child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
        const exited = new Promise<number>((resolve) =>
            child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : -1))),
        );
        return { child, output: () => out, exited };
    };
    /** The processes of this project's runs of the stack, by run id. */
    const runProcesses = () =>
        (readProcesses() ?? []).flatMap((p) => {
            const m = parseMarker(p.marker);
            return m && m.stack === stack && m.projectDir === projectDir ? [{ ...p, run: m.run }] : [];
        });
    /** SIGKILLs the wrapper and its pulumi CLI (not the plugins, which then outlive it); returns the killed run's id. */
    const kill = async (run: Run): Promise<string> => {
        const cli = runProcesses().find((p) => p.comm === "pulumi");
        assert.ok(cli, `no pulumi CLI of the run to kill:\n${run.output().slice(-2000)}`);
        process.kill(run.child.pid!, "SIGKILL");
        process.kill(cli.pid, "SIGKILL");
        await run.exited;
        return cli.run;
    };
    /** Runs the documented recovery command; asserts exit 0 and that nothing of the killed run is left. */
    const recover = async (label: string, killedRun: string, command: string[]): Promise<string> => {
        const leftBefore = runProcesses().filter((p) => p.run === killedRun);
        const start = Date.now();
        const run = stackSh(command);
        const code = await run.exited;
        const seconds = (Date.now() - start) / 1000;
        timings.push(`${label}: recovery ${command.slice(0, 3).join(" ")} ${seconds.toFixed(1)}s`);
        fs.appendFileSync(
            path.join(world.pulumi.dir, "commands.log"),
            `$ stack.sh ${command.join(" ")}  # ${label}, exit ${code}\n${run.output()}\n`,
        );
        assert.equal(code, 0, `${command.join(" ")} exited ${code}:\n${run.output().slice(-5000)}`);
        const recovered = run
            .output()
            .split("\n")
            .filter((l) => l.startsWith("[recover]"));
        console.log(
            `      ${label}: ${leftBefore.length} process(es) of the killed run were left; recovery said:\n${recovered.map((l) => `        ${l}`).join("\n")}`,
        );
        // Neither the killed run's processes nor the recovery's own (its wrapper reaps them) may be left.
        const left = runProcesses();
        assert.deepEqual(
            left.map((p) => `${p.pid} ${p.cmdline.slice(0, 2).join(" ")}`),
            [],
            "processes of a pulumi run are still running after the recovery",
        );
        if (leftBefore.length > 0) assert.match(run.output(), /\[recover\] killed leftover process/);
        return run.output();
    };
    const assertHelmClean = async () => {
        for (const r of releases) {
            const records = await env.kube.list(helmRecords(r.name, r.namespace));
            const statuses = records.map((s) => `${s.metadata.labels?.version}:${s.metadata.labels?.status}`);
            assert.equal(
                records.filter((s) => s.metadata.labels?.status === "deployed").length,
                1,
                `${r.name} records: ${statuses.join(", ")}`,
            );
            assert.ok(!statuses.some((s) => s.includes("pending")), `${r.name} records: ${statuses.join(", ")}`);
        }
    };
    const assertConverged = async (tag: string) => {
        assert.equal(
            readyCondition(await env.kube.get(FLUX))?.status,
            "True",
            "FluxInstance not Ready after the recovery",
        );
        let last = "";
        await until(
            `the loop converges with podinfo on ${tag}'s digest, mutated`,
            120,
            async () => {
                const state = await loopState(env.kube);
                const d = await env.kube.get(PODINFO);
                const spec = d?.spec?.template?.spec;
                last = `${state.waitingFor.join("; ")} image=${spec?.containers?.[0]?.image}`;
                return (
                    state.converged &&
                    String(spec?.containers?.[0]?.image).endsWith(`@${world.digest(stack, tag)}`) &&
                    spec?.securityContext?.runAsNonRoot === true
                );
            },
            () => last,
        );
    };

    before(async function () {
        this.timeout(minutes(6));
        await world.start();
        // The user's command runs in the project copy: it needs the wrapper and its commands.
        fs.cpSync(path.join(repoRoot, "cli"), path.join(world.pulumi.projectDir, "cli"), { recursive: true });
        projectDir = fs.realpathSync(world.pulumi.projectDir);
        env = await world.addEnvironment(stack);
    });

    after(async function () {
        this.timeout(minutes(4));
        console.log(`      timings:\n${timings.map((t) => `        ${t}`).join("\n")}`);
        await world.stop();
    });

    it("1. killed while the Kyverno Helm release installs: the lock, the pending create and the pending-install record are resolved, nothing duplicated", async () => {
        const commits = world.commitCount();
        const start = Date.now();
        const run = stackSh(["up", stack, "--yes", "--skip-preview"]);
        await until(
            "the kyverno release's Helm record is pending-install",
            300,
            async () =>
                (await env.kube.list(helmRecords("kyverno", "kyverno"))).some(
                    (s) => s.metadata.labels?.status === "pending-install",
                ),
            run.output,
        );
        const killedRun = await kill(run);
        timings.push(`1: killed ${((Date.now() - start) / 1000).toFixed(1)}s into up`);
        const locks = path.join(world.pulumi.backendDir, ".pulumi", "locks", "organization", "gitops-kyverno", stack);
        const lockFiles = () => fs.readdirSync(locks).filter((f) => f.endsWith(".json"));
        assert.equal(
            lockFiles().length,
            1,
            `the killed run did not leave one lock (the case is not reproduced): ${fs.readdirSync(locks).join(", ")}`,
        );
        assert.ok(
            runProcesses().some((p) => p.run === killedRun),
            "no plugin outlived the killed CLI: the case is not reproduced",
        );

        const said = await recover("1", killedRun, ["up", stack, "--recover", "--yes", "--skip-preview"]);
        assert.match(said, /\[recover\] removed the stale lock .*is not running on this host/);
        assert.match(
            said,
            /\[recover\] (Helm release kyverno\/kyverno: never deployed|the interrupted create of kyverno did happen: imported)/,
        );
        assert.deepEqual(lockFiles(), [], "the recovery left the lock");
        assert.equal(world.commitCount(), commits + 1, "not exactly one fleet commit for the first up");
        await assertHelmClean();
        await assertConverged(committedTag);
    });

    it("2. killed right after the fleet push landed: the re-run makes no second commit", async () => {
        world.setPodinfoImage(stack, nextPodinfoTag);
        const commits = world.commitCount();
        const run = stackSh(["up", stack, "--yes", "--skip-preview"]);
        await until("the fleet push lands", 300, async () => world.commitCount() > commits, run.output);
        const killedRun = await kill(run);
        await recover("2", killedRun, ["up", stack, "--recover", "--yes", "--skip-preview"]);
        assert.equal(world.commitCount(), commits + 1, "the recovery pushed a second commit for the same change");
        await assertHelmClean();
        await assertConverged(nextPodinfoTag);
    });

    it("3. killed while waiting for Flux to fetch the commit: the re-run converges with the one commit", async () => {
        world.setPodinfoImage(stack, committedTag);
        const commits = world.commitCount();
        const run = stackSh(["up", stack, "--yes", "--skip-preview"]);
        await until(
            "up asks Flux to fetch its new commit",
            300,
            async () => {
                if (world.commitCount() <= commits) return false;
                const requested = (await env.kube.get(GITREPO))?.metadata.annotations?.[
                    "reconcile.fluxcd.io/requestedAt"
                ];
                return requested === world.repo(["rev-parse", "main"]);
            },
            run.output,
        );
        const killedRun = await kill(run);
        await recover("3", killedRun, ["up", stack, "--recover", "--yes", "--skip-preview"]);
        assert.equal(world.commitCount(), commits + 1, "not exactly one fleet commit for the change");
        await assertHelmClean();
        await assertConverged(committedTag);
    });

    it("4. a destroy killed while it deletes is finished by `npm run destroy -- STACK --recover`: nothing of the environment is left", async () => {
        const commits = world.commitCount();
        const run = stackSh(["destroy", stack, "--yes", "--skip-preview"]);
        await until(
            "the destroy deletes the sync",
            300,
            async () =>
                (await env.kube.get(GITREPO))?.metadata.deletionTimestamp !== undefined ||
                !(await env.kube.get(GITREPO)),
            run.output,
        );
        const killedRun = await kill(run);
        await recover("4", killedRun, ["destroy", stack, "--recover", "--yes", "--skip-preview"]);
        assert.equal(world.commitCount(), commits + 1, "not exactly one fleet commit removing the environment's paths");
        assert.ok(
            !world.repoFiles().some((f) => f.startsWith(`clusters/${stack}/`)),
            "clusters/staging/ is still in the fleet repository",
        );
        for (const r of releases)
            assert.deepEqual(
                await env.kube.list(helmRecords(r.name, r.namespace)),
                [],
                `${r.name} has Helm records left`,
            );
        const exported = JSON.parse((await world.pulumi.run(["stack", "export", "--stack", stack])).stdout) as {
            deployment: { resources?: unknown[] };
        };
        const resources = exported.deployment.resources ?? [];
        assert.equal(resources.length, 0, "the stack still has resources");
    });
});
