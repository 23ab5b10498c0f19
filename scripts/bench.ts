// npm run bench: how long the real engine takes on this program, against the
// engine's own floor. In one run it starts the e2e test's local world (Git
// server over SSH, chart mirror, a local control plane), brings a stack up
// (not timed), then times `pulumi preview` of the unchanged stack, a no-op
// `pulumi up`, and `pulumi preview` of an empty program on the same backend.
// BENCH_RUNS (default 3) rounds, each running every measure once (interleaved,
// so load from elsewhere on a shared machine hits all alike); the median is reported. A last line
// times the preview right after a source change, when the program's own type
// check (boot/type-checked.ts) is due again.
import * as fs from "node:fs";
import * as path from "node:path";
import { E2eWorld } from "../harness/e2e-world";
import { repoRoot } from "../harness/pulumi-cli";
import { typeCheckCacheFile } from "../boot/type-check";

const runs = Number(process.env.BENCH_RUNS ?? 3);

interface Measure {
    what: string;
    args: string[];
    cwd?: string;
    before?: () => void;
}

/** Runs every measure once per round, so a busy moment on a shared machine weighs on all of them alike. */
async function time(world: E2eWorld, measures: Measure[]): Promise<[string, number[]][]> {
    const seconds = measures.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) {
        for (const [j, m] of measures.entries()) {
            m.before?.();
            seconds[j].push((await world.pulumi.run(m.args, { cwd: m.cwd })).seconds);
        }
    }
    return measures.map((m, j) => [m.what, seconds[j]]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A Pulumi program that registers nothing, beside the project copy. */
function emptyProgram(world: E2eWorld): string {
    const dir = path.join(world.pulumi.dir, "empty");
    fs.mkdirSync(dir);
    fs.writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        "name: bench-empty\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
    );
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-empty", main: "index.ts" }));
    fs.writeFileSync(path.join(dir, "index.ts"), "export const empty = true;\n");
    fs.copyFileSync(path.join(repoRoot, "tsconfig.json"), path.join(dir, "tsconfig.json"));
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

async function main(): Promise<void> {
    const world = new E2eWorld();
    try {
        await world.start();
        await world.addEnvironment("staging");
        console.log("bringing the staging stack up (not timed)...");
        await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);

        const empty = emptyProgram(world);
        await world.pulumi.run(["stack", "init", "empty", "--secrets-provider", "passphrase"], { cwd: empty });
        await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "empty"], { cwd: empty });

        // The first run after a change to the program pays for its type check.
        const forget = () => fs.rmSync(typeCheckCacheFile(world.pulumi.projectDir), { force: true });
        const results = await time(world, [
            { what: "preview, unchanged stack", args: ["preview", "--stack", "staging"] },
            { what: "up, no changes", args: ["up", "--yes", "--skip-preview", "--stack", "staging"] },
            { what: "preview, empty program (floor)", args: ["preview", "--stack", "empty"], cwd: empty },
            { what: "(preview, after a source change)", args: ["preview", "--stack", "staging"], before: forget },
        ]);
        const floor = median(results[2][1]);
        console.log(`\npulumi ${(await world.pulumi.run(["version"])).stdout.trim()}, median of ${runs} run(s) each:`);
        for (const [what, xs] of results) {
            const m = median(xs);
            console.log(
                `  ${what.padEnd(36)} ${m.toFixed(2).padStart(7)} s  ${(m / floor).toFixed(2).padStart(5)}x floor   [${xs.map((x) => x.toFixed(2)).join(", ")}]`,
            );
        }
        const worst = Math.max(median(results[0][1]), median(results[1][1])) / floor;
        console.log(
            `target: unchanged preview and no-op up <= 2.00x floor: ${worst <= 2 ? "met" : "NOT met"} (${worst.toFixed(2)}x)`,
        );
    } finally {
        await world.stop();
    }
}

main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
});
