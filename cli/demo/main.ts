// `npm run demo [-- up|down]`: the main job, `pulumi up`, on an embedded local
// default: the live local cluster, an SSH Git server holding a new fleet
// repository, the registry and the chart mirror, and the stack `local` on a
// file backend in .demo/. It stays up until Ctrl-C or `npm run demo -- down`,
// which runs `pulumi destroy` and stops everything it started.
// (cli/demo.sh builds or reuses the tools first.)
import * as fs from "node:fs";
import * as path from "node:path";
import { demoPaths, DemoState, readPid, isAlive, removeLeftovers, portsInUse, demoPorts } from "./state";
import { startDemo, stopDemo } from "./run";

async function up(): Promise<number> {
    const paths = demoPaths();
    const pid = readPid(paths);
    if (pid && isAlive(pid)) {
        console.log(`The demo is already running (pid ${pid}).\n`);
        if (fs.existsSync(paths.info)) console.log(fs.readFileSync(paths.info, "utf8"));
        return 0;
    }
    if (fs.existsSync(paths.dir)) {
        console.log("[demo] a previous demo did not stop cleanly: removing what it left (processes, folders)");
        removeLeftovers(paths);
    }
    const taken = await portsInUse(demoPorts());
    if (taken.length > 0) {
        for (const t of taken)
            console.error(
                `[demo] port ${t.port} (${t.what}) is in use by another program: stop it${t.env ? `, or set ${t.env} to another port` : ""}.`,
            );
        return 2;
    }
    const state: DemoState = await startDemo(paths);
    let stopping: Promise<void> | undefined;
    const stop = (signal: string) => {
        if (stopping) return;
        console.log(`\n[demo] ${signal}: tearing down (pulumi destroy, then every process the demo started)...`);
        stopping = stopDemo(state).then(
            () => process.exit(0),
            (err: unknown) => {
                console.error(`[demo] teardown failed: ${(err as Error).message}`);
                process.exit(1);
            },
        );
    };
    process.on("SIGINT", () => stop("Ctrl-C"));
    process.on("SIGTERM", () => stop("npm run demo -- down"));
    // Keep running until a signal arrives.
    setInterval(() => undefined, 1 << 30);
    return new Promise<number>(() => undefined);
}

async function down(): Promise<number> {
    const paths = demoPaths();
    const pid = readPid(paths);
    if (pid && isAlive(pid)) {
        console.log(`[demo] asking the demo (pid ${pid}) to tear down...`);
        process.kill(pid, "SIGTERM");
        const deadline = Date.now() + 15 * 60_000;
        while (isAlive(pid)) {
            if (Date.now() > deadline) {
                console.error(
                    `[demo] the demo (pid ${pid}) did not stop within 15 minutes; see ${path.join(paths.dir, "demo.log")}`,
                );
                return 1;
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    }
    if (fs.existsSync(paths.dir) || fs.existsSync(paths.stackConfig)) removeLeftovers(paths);
    console.log("[demo] down: no demo process, port or folder is left.");
    return 0;
}

const command = process.argv[2] ?? "up";
const commands: Record<string, () => Promise<number>> = { up, down };
if (!commands[command]) {
    console.error(`usage: npm run demo [-- up|down]   (unknown: ${command})`);
    process.exit(2);
}
commands[command]().then(
    (code) => process.exit(code),
    (err: unknown) => {
        console.error(`[demo] ${(err as Error).message}`);
        process.exit(1);
    },
);
