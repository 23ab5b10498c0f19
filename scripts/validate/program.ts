// The Kubernetes objects the Pulumi program creates itself (the FluxInstance,
// its Secret, the controllers' Namespaces), as opposed to the fleet tree Flux
// applies. The program runs under Pulumi's mocks for each stack, as in the unit
// tests, and every object it registers with the Kubernetes provider is handed
// to the schema check, so a custom resource meets its real CRD in a strict
// server-side dry run. Helm releases are left out: their objects come from the
// charts, not from this program.
import * as fs from "node:fs";
import * as path from "node:path";
import { githubConfig, installMocks, Registered, runProgram } from "../../harness/mocks";
import { Built } from "./builds";
import { repoRoot } from "./exec";
import { Report } from "./report";
import { KubeObject } from "./trees";

/** Registered types that are not objects of the cluster's API. */
const NOT_OBJECTS = /^kubernetes:helm\.sh\//;

export async function programObjects(programDir: string, envs: string[], report: Report): Promise<Built[]> {
    const entry = path.join(programDir, "index.ts");
    const out: Built[] = [];
    for (const env of envs) {
        const check = `Pulumi program (stack ${env})`;
        if (!fs.existsSync(entry)) {
            report.fail({ check, file: entry, message: "no Pulumi program here (index.ts)" });
            continue;
        }
        // The same settings the unit tests give a GitHub stack: nothing here reaches GitHub.
        const registered = installMocks(env, githubConfig(), ["github:token"]);
        try {
            await runProgram(entry);
        } catch (err) {
            report.fail({ check, file: entry, message: `the program failed under mocks: ${(err as Error).message}` });
            continue;
        }
        const objects = registered
            .filter((r) => r.type.startsWith("kubernetes:") && !NOT_OBJECTS.test(r.type))
            .map(asObject);
        if (objects.length === 0) {
            report.fail({
                check,
                file: entry,
                message: "the program registered no Kubernetes object: nothing to check",
            });
            continue;
        }
        report.pass(
            check,
            `${objects.length} Kubernetes objects registered (${[...new Set(objects.map((o) => o.kind))].join(", ")})`,
        );
        // root: a folder without YAML, so a failure names the program, not a fleet file.
        out.push({
            source: `stack ${env}: the Pulumi program (${shown(entry)})`,
            root: path.join(programDir, "components"),
            objects,
        });
    }
    return out;
}

/** A path relative to this checkout when it is inside it, else as it is. */
function shown(file: string): string {
    const rel = path.relative(repoRoot, file);
    return rel.startsWith("..") ? file : rel;
}

/** The object as the provider sends it: the inputs, with a name when the program leaves naming to the provider. */
function asObject(r: Registered): KubeObject {
    const o = JSON.parse(JSON.stringify(r.inputs)) as KubeObject;
    o.metadata = { ...(o.metadata ?? {}) };
    o.metadata.name ??= `${r.name}-autonamed`;
    return o;
}
