// `ts-node scripts/pr-comment/flux-diff.ts --tree DIR --env ENV --kubeconfig FILE [--context NAME] [--out FILE] [--max-chars N]`
// For the pull-request comment: what Flux would change in ENV if the tree in
// DIR (fleet/ plus the generated clusters/ENV/, see scripts/render-fleet.ts)
// were merged. Runs `flux diff kustomization` for each Kustomization of
// clusters/ENV/ and prints (or writes to --out) one markdown section. A diff
// is information, and an error (an unreachable cluster, a broken tree) is
// reported inside the section: both exit 0. Exit 2 only for bad usage.
import * as fs from "node:fs";
import * as path from "node:path";
import { diffEnvironment } from "./flux-diff-run";
import { renderSection } from "./flux-diff-section";

// GitHub comments hold 65536 characters; the fleet tree's git diff shares the comment.
const DEFAULT_MAX = 30000;

function option(name: string, required: boolean): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    const value = i >= 0 ? process.argv[i + 1] : undefined;
    if (required && !value) {
        console.error(
            `usage: flux-diff-comment --tree DIR --env ENV --kubeconfig FILE [--context NAME] [--out FILE] [--max-chars N]  (missing --${name})`,
        );
        process.exit(2);
    }
    return value;
}

const tree = path.resolve(option("tree", true)!);
const environment = option("env", true)!;
const kubeconfig = option("kubeconfig", true)!;
const context = option("context", false);
const out = option("out", false);
const maxChars = Number(option("max-chars", false) ?? DEFAULT_MAX);
if (!Number.isInteger(maxChars) || maxChars < 2000) {
    console.error(`--max-chars must be a whole number of at least 2000 (got ${option("max-chars", false)})`);
    process.exit(2);
}

let section: string;
try {
    section = renderSection(environment, diffEnvironment(tree, environment, { kubeconfig, context }), maxChars);
} catch (err) {
    section = `#### What Flux would change in ${environment}\nerror: the diff could not be made: ${(err as Error).message.replace(/\s+/g, " ")}\n`;
}
if (out) fs.writeFileSync(out, section);
else process.stdout.write(section);
