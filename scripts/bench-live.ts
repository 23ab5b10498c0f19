// npm run bench:live: the live GitOps loop's times, median of BENCH_RUNS (3)
// rounds on one live local cluster (real Flux Operator, source- and
// kustomize-controller, Kyverno; simulated nodes). Each round, on a fresh stack:
//   up            `pulumi up` wall time
//   converge      from up returning to podinfo mutated (digest-pinned) and Available
//   tag change    from the tag-change `pulumi up` returning to the new digest live
//   git outage    a change whose `up` failed while the Git server was down: from
//                 the server back to the change live (the same `up` run again)
//   destroy       `pulumi destroy`, until no namespace of the program is left
// The goal: a change converges within 30 s of `up` returning.
import { loopState } from "../local-cluster/convergence";
import { eventually, LiveWorld, nextPodinfoTag } from "../test/live/live-world";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
    const world = new LiveWorld();
    const rows: Record<string, number[]> = { up: [], converge: [], "tag change": [], "git outage": [], destroy: [] };
    try {
        await world.startLive();
        for (let i = 0; i < runs; i++) {
            console.log(`round ${i + 1} of ${runs}...`);
            world.setPodinfoImage("staging", "6.9.2");
            const up = await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);
            rows.up.push(up.seconds);
            const converged = await eventually("converged", 300, async () => {
                const s = await loopState(world.kube);
                const image = (await world.deployment())?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
                return s.converged && image?.endsWith(`@${world.digest("staging", "6.9.2")}`) ? true : undefined;
            });
            rows.converge.push(converged.seconds);

            world.setPodinfoImage("staging", nextPodinfoTag);
            await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);
            const followed = await eventually("new digest live", 300, async () => {
                const image = (await world.deployment())?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
                return image?.endsWith(`@${world.digest("staging", nextPodinfoTag)}`) ? true : undefined;
            });
            rows["tag change"].push(followed.seconds);

            world.setPodinfoImage("staging", "6.9.2");
            await world.git.pause();
            const refused = await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"], { allowFailure: true });
            await world.git.resume();
            if (refused.code === 0) throw new Error("up succeeded while the Git server was down");
            const back = Date.now();
            await world.pulumi.run(["up", "--yes", "--skip-preview", "--stack", "staging"]);
            await eventually("change live after the outage", 300, async () => {
                const image = (await world.deployment())?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
                return image?.endsWith(`@${world.digest("staging", "6.9.2")}`) ? true : undefined;
            });
            rows["git outage"].push((Date.now() - back) / 1000);

            const start = Date.now();
            await world.pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", "staging"]);
            await eventually("namespaces gone", 120, async () => {
                const left = (await world.kube.list("/api/v1/namespaces")).filter((n) =>
                    ["podinfo", "flux-system", "kyverno", "cert-manager"].includes(n.metadata.name),
                );
                return left.length === 0 ? true : undefined;
            });
            rows.destroy.push((Date.now() - start) / 1000);
        }
        console.log(`live loop, median of ${runs} round(s) on one live local cluster:`);
        const labels: Record<string, string> = {
            up: "pulumi up (fresh stack)",
            converge: "up returned -> podinfo mutated, Available",
            "tag change": "tag-change up returned -> new digest live",
            "git outage": "Git server back -> change live (up re-run)",
            destroy: "pulumi destroy (namespaces gone)",
        };
        for (const [key, values] of Object.entries(rows)) {
            console.log(`  ${labels[key].padEnd(44)} ${median(values).toFixed(1).padStart(6)} s   (${values.map((v) => v.toFixed(1)).join(", ")})`);
        }
    } finally {
        await world.stop();
    }
}

main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
});
