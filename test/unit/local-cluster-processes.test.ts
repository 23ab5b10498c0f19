// The local cluster's daemons and temp folders must not outlive the Node process
// that started them, however it ends: a signal with nobody else listening, or an
// exit after another listener (the demo's) has handled the signal.
import * as assert from "assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const processesModule = path.resolve(__dirname, "../../local-cluster/processes.ts");

interface Started {
    child: ReturnType<typeof spawn>;
    daemonPgid: number;
    dir: string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    output: () => string;
}

/** A Node process that launches `sleep` through processes.ts and registers a temp folder. */
async function startOwner(extra = ""): Promise<Started> {
    const script = `
        const fs = require("node:fs"), os = require("node:os"), path = require("node:path");
        const { launch, removeOnExit } = require(${JSON.stringify(processesModule)});
        const dir = removeOnExit(fs.mkdtempSync(path.join(os.tmpdir(), "processes-test-")));
        const daemon = launch("sleep", ["300"], { dir });
        ${extra}
        console.log("started " + daemon.pid + " " + dir);
        setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    const deadline = Date.now() + 30_000;
    while (!/started \d+ /.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the owner did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
    }
    const [, pgid, dir] = /started (\d+) (\S+)/.exec(out)!;
    return { child, daemonPgid: Number(pgid), dir, exited, output: () => out };
}

function groupAlive(pgid: number): boolean {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch {
        return false;
    }
}

async function gone(pgid: number, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (groupAlive(pgid)) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 50));
    }
    return true;
}

describe("local cluster processes", () => {
    const owners: Started[] = [];
    afterEach(() => {
        for (const o of owners.splice(0)) {
            o.child.kill("SIGKILL");
            if (groupAlive(o.daemonPgid)) process.kill(-o.daemonPgid, "SIGKILL");
            fs.rmSync(o.dir, { recursive: true, force: true });
        }
    });

    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
        it(`${signal} with nobody else listening: the daemon and the temp folder go, and the owner dies of ${signal}`, async () => {
            const owner = await startOwner();
            owners.push(owner);
            assert.ok(groupAlive(owner.daemonPgid), "the daemon did not start");
            owner.child.kill(signal);
            const { signal: died } = await owner.exited;
            assert.equal(died, signal, owner.output());
            assert.ok(await gone(owner.daemonPgid), `daemon group ${owner.daemonPgid} outlived its owner`);
            assert.ok(!fs.existsSync(owner.dir), `${owner.dir} is left`);
        });
    }

    it("a signal another listener handles is left to it; the exit it chooses still stops the daemon", async () => {
        const owner = await startOwner(
            `process.on("SIGTERM", () => { console.log("handled"); setTimeout(() => process.exit(3), 300); });`,
        );
        owners.push(owner);
        owner.child.kill("SIGTERM");
        await new Promise((r) => setTimeout(r, 100));
        assert.ok(groupAlive(owner.daemonPgid), "the daemon was killed before the owner's own handler chose to exit");
        const { code } = await owner.exited;
        assert.equal(code, 3, owner.output());
        assert.match(owner.output(), /handled/);
        assert.ok(await gone(owner.daemonPgid), `daemon group ${owner.daemonPgid} outlived its owner`);
        assert.ok(!fs.existsSync(owner.dir), `${owner.dir} is left`);
    });
});
