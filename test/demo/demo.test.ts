// `npm run demo` as a user runs it: it reaches "ready", the commands it prints
// work as printed, Flux's web UI (served by the real Flux Operator) shows the
// apps Kustomization Ready in a real Chromium, and `npm run demo -- down`
// leaves no process, port, folder or namespace behind.
import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { demoPaths, demoPorts, isAlive } from "../../cli/demo/state";
import { repoRoot } from "../../harness/pulumi-cli";
import { openFluxUi } from "./flux-ui";

const minutes = (n: number) => n * 60_000;
const paths = demoPaths(repoRoot);
// The README's picture is refreshed only when asked (UPDATE_SCREENSHOT=1); otherwise the
// screenshot goes to test-results/ (git-ignored), so a test run leaves the tree clean.
export const screenshotPath = process.env.UPDATE_SCREENSHOT
    ? path.join(repoRoot, "docs", "images", "flux-web-ui.png")
    : path.join(repoRoot, "test-results", "flux-web-ui.png");

/** Runs a command without blocking the event loop (the demo's output keeps being read). */
function runAsync(cmd: string, args: string[]): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        child.on("close", (status) => resolve({ status, output }));
    });
}

/**
 * Follows the cluster's namespaces through its API server (a kubectl watch) until
 * that server stops: `names` is the last set the API reported, `deleted` each
 * deletion it reported. `listed` resolves once the API has listed each of `expected`.
 */
function watchNamespaces(kubeconfig: string, expected: string[]) {
    const names = new Set<string>();
    const deleted: string[] = [];
    const watch = spawn(
        "kubectl",
        [
            "get",
            "namespaces",
            "--watch",
            "--output-watch-events",
            "-o",
            'jsonpath={.type} {.object.metadata.name}{"\\n"}',
        ],
        {
            env: { ...process.env, KUBECONFIG: kubeconfig },
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    let pending = "";
    let errors = "";
    let onEvent = () => {};
    watch.stdout.on("data", (d: Buffer) => {
        pending += d.toString();
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const [type, name] of lines.filter(Boolean).map((l) => l.split(" "))) {
            if (type !== "DELETED") names.add(name);
            else {
                names.delete(name);
                deleted.push(name);
            }
        }
        onEvent();
    });
    watch.stderr.on("data", (d: Buffer) => (errors += d.toString()));
    const ended = new Promise<void>((resolve) => watch.on("close", () => resolve()));
    const listed = new Promise<void>((resolve, reject) => {
        const missing = () =>
            `${expected.filter((n) => !names.has(n)).join(", ")} (it listed ${[...names].join(", ")})\n${errors}`;
        const timer = setTimeout(() => reject(new Error(`the API did not list ${missing()} within 60s`)), 60_000);
        onEvent = () => {
            if (!expected.every((n) => names.has(n))) return;
            clearTimeout(timer);
            resolve();
        };
        void ended.then(() => {
            clearTimeout(timer);
            reject(new Error(`the namespace watch ended before listing ${missing()}`));
        });
    });
    return { names, deleted, listed, ended, stop: () => watch.kill() };
}

describe("npm run demo: the main job on the embedded local default", function () {
    this.timeout(minutes(15));
    let demo: ChildProcess;
    let output = "";
    let readySeconds = 0;
    const printed = (prefix: RegExp) => {
        const line = output.split("\n").find((l) => prefix.test(l.trim()));
        assert.ok(line, `the demo printed no line matching ${prefix}:\n${output.slice(-3000)}`);
        return line.trim();
    };
    const shell = (command: string, cwd = repoRoot) =>
        spawnSync("bash", ["-c", command], { cwd, encoding: "utf8", env: { ...process.env, KUBECONFIG: "" } });

    before(function () {
        assert.ok(
            !fs.existsSync(paths.dir),
            `${paths.dir} exists: a demo is running on this checkout (npm run demo -- down)`,
        );
    });

    after(async function () {
        this.timeout(minutes(10));
        if (demo && demo.exitCode === null) await runAsync("bash", [path.join(repoRoot, "cli", "demo.sh"), "down"]);
        if (readySeconds) console.log(`      npm run demo -> ready: ${readySeconds.toFixed(0)}s (tools cached)`);
    });

    it("refuses clearly, before starting anything, when a port it needs is taken", async () => {
        const [ui] = demoPorts();
        const blocker = net.createServer();
        await new Promise<void>((resolve) => blocker.listen(ui.port, "127.0.0.1", resolve));
        try {
            const r = spawnSync("bash", [path.join(repoRoot, "cli", "demo.sh")], { cwd: repoRoot, encoding: "utf8" });
            assert.equal(r.status, 2, r.stdout + r.stderr);
            assert.match(r.stderr, new RegExp(`port ${ui.port} \\(Flux web UI\\) is in use by another program`));
            assert.ok(!fs.existsSync(paths.dir), "the refused demo left its state folder");
        } finally {
            await new Promise((r) => blocker.close(r));
        }
    });

    it("reaches ready and prints the kubeconfig, three kubectl commands, the clone URL, the web UI and status", async function () {
        this.timeout(minutes(12));
        const started = Date.now();
        demo = spawn("bash", [path.join(repoRoot, "cli", "demo.sh")], {
            cwd: repoRoot,
            stdio: ["ignore", "pipe", "pipe"],
        });
        await new Promise<void>((resolve, reject) => {
            const onData = (d: Buffer) => {
                output += d.toString();
                if (/\[demo\] ready in \d+s/.test(output) && /Stop: /.test(output)) resolve();
            };
            demo.stdout!.on("data", onData);
            demo.stderr!.on("data", onData);
            demo.on("exit", (code) =>
                reject(new Error(`npm run demo exited ${code} before ready:\n${output.slice(-4000)}`)),
            );
        });
        readySeconds = (Date.now() - started) / 1000;
        for (const re of [
            /^export KUBECONFIG=/,
            /^kubectl get kustomizations/,
            /^kubectl -n podinfo get deployment podinfo/,
            /^kubectl get clusterpolicies/,
            /git clone ssh:\/\//,
            /^Flux web UI: +http:\/\/127\.0\.0\.1:\d+/,
            /^Status: +npm run status -- local$/,
        ]) {
            printed(re);
        }
    });

    it("the commands it prints work as printed", () => {
        const kubeconfig = printed(/^export KUBECONFIG=/);
        const ks = shell(`${kubeconfig}\n${printed(/^kubectl get kustomizations/)}`);
        assert.equal(ks.status, 0, ks.stderr);
        assert.match(ks.stdout, /^apps\s.*True/m);
        const image = shell(`${kubeconfig}\n${printed(/^kubectl -n podinfo get deployment podinfo/)}`);
        assert.equal(image.status, 0, image.stderr);
        assert.match(image.stdout.trim(), /^127\.0\.0\.1:5001\/stefanprodan\/podinfo.*@sha256:[0-9a-f]{64}$/);
        const policies = shell(`${kubeconfig}\n${printed(/^kubectl get clusterpolicies/)}`);
        assert.equal(policies.status, 0, policies.stderr);
        assert.match(policies.stdout, /resolve-image-digest/);

        const work = fs.mkdtempSync(path.join(os.tmpdir(), "demo-clone-"));
        try {
            const clone = shell(printed(/git clone ssh:\/\//), work);
            assert.equal(clone.status, 0, clone.stderr);
            assert.ok(
                fs.existsSync(path.join(work, "fleet", "clusters", "local", "apps.yaml")),
                "the clone lacks clusters/local",
            );
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
        const status = shell(printed(/^Status: +npm run status/).replace(/^Status: +/, ""));
        assert.equal(status.status, 0, status.stdout + status.stderr);
    });

    it("Flux's web UI, in Chromium, shows the environment's FluxInstance and the apps Kustomization Ready", async function () {
        this.timeout(minutes(4));
        const url = printed(/^Flux web UI:/).replace(/^Flux web UI: +/, "");
        const distribution = /Flux Distribution:\s*v2\.9\.5/;
        const sync = /\.\/clusters\/local/;
        const seen = await openFluxUi(url, screenshotPath, [distribution, sync]);
        // The cluster page reports the FluxInstance's distribution and the environment's sync.
        assert.match(
            seen.instanceText,
            distribution,
            `the UI does not show the FluxInstance:\n${seen.instanceText.slice(0, 1500)}`,
        );
        assert.match(
            seen.instanceText,
            sync,
            `the UI does not show the sync of clusters/local:\n${seen.instanceText.slice(0, 1500)}`,
        );
        assert.ok(seen.appsReady, `the UI does not show the apps Kustomization as Ready:\n${seen.appsText}`);
    });

    it("npm run demo -- down runs pulumi destroy and leaves no process, port, folder or namespace", async function () {
        this.timeout(minutes(10));
        const pgids = fs.readFileSync(paths.pgids, "utf8").split("\n").filter(Boolean).map(Number);
        const folders = fs.readFileSync(paths.folders, "utf8").split("\n").filter(Boolean);
        // The demo stops its cluster right after pulumi destroy: the API's own word on the
        // namespaces is the last state a watch opened before `down` saw.
        const programs = ["cert-manager", "flux-system", "gitops-preview", "kyverno", "podinfo"];
        const namespaces = watchNamespaces(printed(/^export KUBECONFIG=/).replace(/^export KUBECONFIG=/, ""), programs);
        await namespaces.listed;
        // Not spawnSync: the test must keep reading the demo's output while it tears down,
        // or the demo blocks writing pulumi destroy's progress to a full pipe.
        const down = await runAsync("bash", [path.join(repoRoot, "cli", "demo.sh"), "down"]);
        assert.equal(down.status, 0, down.output);
        await new Promise<void>((resolve) => (demo.exitCode !== null ? resolve() : demo.once("exit", () => resolve())));
        assert.equal(demo.exitCode, 0, output.slice(-3000));
        namespaces.stop();
        await namespaces.ended;
        assert.deepEqual(
            [...namespaces.deleted].sort(),
            programs,
            "the API reported other deletions than the program's namespaces",
        );
        assert.deepEqual(
            [...namespaces.names].sort(),
            ["default", "kube-node-lease", "kube-public", "kube-system"],
            "namespaces left after destroy",
        );
        for (const pgid of pgids) assert.ok(!isAlive(pgid), `process ${pgid} is still running`);
        for (const folder of folders) assert.ok(!fs.existsSync(folder), `${folder} is left`);
        assert.ok(
            !fs.existsSync(paths.dir) && !fs.existsSync(paths.stackConfig),
            ".demo/ or Pulumi.local.yaml is left",
        );
        for (const p of demoPorts()) {
            const free = await new Promise<boolean>((resolve) => {
                const s = net.createServer().once("error", () => resolve(false));
                s.listen(p.port, "127.0.0.1", () => s.close(() => resolve(true)));
            });
            assert.ok(free, `port ${p.port} (${p.what}) is still taken`);
        }
    });
});
