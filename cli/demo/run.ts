// Starting and stopping the demo: the servers, the `local` stack's settings,
// the real `pulumi up` (and `pulumi destroy`), and the wait for Flux to converge.
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { loopState, webUiSync } from "../../local-cluster/convergence";
import { registerDeployKeys, stackStateFiles } from "../../local-cluster/deploy-key-registrar";
import { startGitSshServer } from "../../local-cluster/git-server";
import { startLiveCluster } from "../../local-cluster/live-cluster";
import { runningProcessGroups } from "../../local-cluster/processes";
import { pulumiEnv } from "../../local-cluster/pulumi-env";
import { fleetPodinfoTags } from "../../local-cluster/registry";
import { DemoPaths, DemoState, demoPorts, repoRoot, stack } from "./state";

const CONVERGE_SECONDS = 300;
const log = (line: string) => console.log(`[demo] ${line}`);
const elapsed = (since: number) => `${Math.round((Date.now() - since) / 1000)}s`;

export async function startDemo(paths: DemoPaths): Promise<DemoState> {
    const started = Date.now();
    fs.mkdirSync(paths.dir, { recursive: true });
    fs.writeFileSync(paths.pid, `${process.pid}\n`);
    const record = (folders: string[] = []) => {
        fs.writeFileSync(paths.pgids, runningProcessGroups().join("\n") + "\n");
        if (folders.length) fs.appendFileSync(paths.folders, folders.join("\n") + "\n");
    };
    const stops: (() => Promise<void> | void)[] = [];
    try {
        log(
            "starting the local cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok, registry, chart mirror",
        );
        const [ui] = demoPorts();
        const live = await startLiveCluster({
            name: stack,
            ports: { webUi: ui.port, registry: 5001 },
            images: fleetPodinfoTags(path.join(repoRoot, "fleet")).map((tag) => ({
                repository: "stefanprodan/podinfo",
                tag,
            })),
        });
        stops.push(() => live.stop());
        record([live.cluster.dir]);
        fs.copyFileSync(live.cluster.kubeconfig, paths.kubeconfig);
        fs.chmodSync(paths.kubeconfig, 0o600);
        log(`cluster up at ${live.cluster.server} (${elapsed(started)})`);

        log("starting the Git server (sshd on 127.0.0.1) with a new fleet repository");
        const git = await startGitSshServer({ dir: paths.git });
        stops.push(() => git.stop());
        record();
        const repoUrl = git.createRepository("fleet");
        const writeKey = git.newKey("pulumi-push");
        git.authorize(writeKey.publicKey, "write");
        const readKey = git.newKey("you");
        git.authorize(readKey.publicKey, "read");
        const registrar = registerDeployKeys(git, stackStateFiles(paths.backend, stack));
        stops.push(() => registrar.stop());

        fs.writeFileSync(paths.passphrase, crypto.randomBytes(24).toString("base64"), { mode: 0o600 });
        const env = pulumiEnv(paths.backend, { file: paths.passphrase });
        fs.mkdirSync(paths.backend, { recursive: true });
        const state: DemoState = { paths, live, git, registrar, env };

        log(`creating the stack "${stack}" (${path.relative(repoRoot, paths.stackConfig)}; backend ${paths.backend})`);
        await pulumi(env, ["stack", "init", stack, "--secrets-provider", "passphrase"], { quiet: true });
        const settings: Record<string, string> = {
            gitProvider: "ssh",
            gitUrl: repoUrl,
            gitKnownHosts: git.knownHosts,
            kubeconfig: paths.kubeconfig,
            kubeContext: live.cluster.context,
            fluxOperatorChartRepo: live.charts.url,
            kyvernoChartRepo: live.charts.url,
            certManagerChartRepo: live.charts.url,
        };
        for (const [key, value] of Object.entries(settings))
            await pulumi(env, ["config", "set", "--stack", stack, key, "--", value], { quiet: true });
        await pulumi(env, ["config", "set", "--stack", stack, "--secret", "gitWriteKey"], {
            quiet: true,
            stdin: writeKey.privateKey,
        });

        log(
            "pulumi up (the real engine and program; it returns once Flux is installed and has fetched the fleet commit)",
        );
        const upStarted = Date.now();
        await pulumi(env, ["up", "--yes", "--skip-preview", "--stack", stack]);
        log(
            `pulumi up done in ${elapsed(upStarted)}; waiting for Flux to apply the tree and Kyverno to mutate podinfo`,
        );

        const converged = Date.now();
        let last = "";
        for (;;) {
            const s = await loopState(live.kube);
            // "ready" promises what the web UI shows too, so wait for its report to show the sync.
            const ui = s.converged ? await webUiSync(live.webUiUrl) : undefined;
            if (ui?.ready && ui.path?.includes(`clusters/${stack}`)) break;
            if (s.converged)
                s.waitingFor.push(
                    `the Flux web UI to report the sync of clusters/${stack} (its report refreshes every 20s)`,
                );
            const line = s.waitingFor.join("; ");
            if (line !== last || (Date.now() - converged) % 10_000 < 1000)
                log(`${elapsed(converged)}: waiting for ${line}`);
            last = line;
            if (Date.now() - converged > CONVERGE_SECONDS * 1000)
                throw new Error(`Flux did not converge within ${CONVERGE_SECONDS}s: ${line}`);
            await new Promise((r) => setTimeout(r, 1000));
        }
        const info = readyText({
            paths,
            repoUrl,
            readKeyFile: readKey.file,
            knownHostsFile: path.join(paths.git, "known_hosts"),
            webUiUrl: live.webUiUrl,
            seconds: (Date.now() - started) / 1000,
        });
        fs.writeFileSync(paths.info, info);
        console.log(`\n${info}`);
        return state;
    } catch (err) {
        log(`start failed: ${(err as Error).message}`);
        log("stopping what was started");
        for (const s of stops.reverse()) await Promise.resolve(s()).catch(() => undefined);
        fs.rmSync(paths.dir, { recursive: true, force: true });
        fs.rmSync(paths.stackConfig, { force: true });
        throw err;
    }
}

export async function stopDemo(state: DemoState): Promise<void> {
    const { paths, live, git, registrar, env } = state;
    let failure: Error | undefined;
    try {
        await pulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
        const left = (await live.kube.list("/api/v1/namespaces"))
            .map((n) => n.metadata.name)
            .filter((n) => ["podinfo", "flux-system", "kyverno", "cert-manager"].includes(n));
        log(
            left.length === 0
                ? "pulumi destroy left no namespace of the program"
                : `namespaces left after destroy: ${left.join(", ")}`,
        );
    } catch (err) {
        failure = err as Error;
    }
    registrar.stop();
    await git.stop();
    await live.stop();
    fs.rmSync(paths.dir, { recursive: true, force: true });
    fs.rmSync(paths.stackConfig, { force: true });
    log("stopped every process the demo started and removed .demo/");
    if (failure) throw failure;
}

function readyText(o: {
    paths: DemoPaths;
    repoUrl: string;
    readKeyFile: string;
    knownHostsFile: string;
    webUiUrl: string;
    seconds: number;
}): string {
    const ssh = `ssh -i ${o.readKeyFile} -o IdentitiesOnly=yes -o UserKnownHostsFile=${o.knownHostsFile}`;
    return [
        `[demo] ready in ${Math.round(o.seconds)}s: Flux applied the fleet repository and Kyverno mutated podinfo.`,
        "",
        "The cluster (a real API server, controllers and admission; simulated nodes: pods never run containers):",
        `  export KUBECONFIG=${o.paths.kubeconfig}`,
        "  kubectl get kustomizations -n flux-system",
        `  kubectl -n podinfo get deployment podinfo -o jsonpath='{.spec.template.spec.containers[0].image}{"\\n"}'`,
        "  kubectl get clusterpolicies",
        "The fleet repository (read-only key):",
        `  GIT_SSH_COMMAND='${ssh}' git clone ${o.repoUrl} fleet`,
        `Flux web UI:  ${o.webUiUrl}`,
        `Status:       npm run status -- ${stack}`,
        "Stop:         Ctrl-C here, or npm run demo -- down",
        "",
    ].join("\n");
}

/** Runs the project's Pulumi CLI in the project on the demo's backend; output shown unless quiet. */
function pulumi(env: NodeJS.ProcessEnv, args: string[], opts: { quiet?: boolean; stdin?: string } = {}): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi", ["--non-interactive", ...args], {
            cwd: repoRoot,
            env,
            stdio: ["pipe", opts.quiet ? "pipe" : "inherit", opts.quiet ? "pipe" : "inherit"],
        });
        let output = "";
        child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0
                ? resolve()
                : reject(
                      new Error(
                          `pulumi ${args.slice(0, 2).join(" ")} exited ${code}${output ? `:\n${output.slice(-2000)}` : ""}`,
                      ),
                  ),
        );
        child.stdin?.end(opts.stdin ?? "");
    });
}
