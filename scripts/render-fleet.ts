// Writes the tree one stack commits to the fleet repository into a folder, so the
// real tools (kustomize, flux, kyverno) can check exactly what would be pushed.
// Usage: ts-node scripts/render-fleet.ts --env staging --out /tmp/fleet-staging
import * as fs from "fs";
import * as path from "path";
import { renderFleetTree } from "../components/fleet-tree";
import { defaultFleetDir } from "../stacks/settings";

function arg(name: string): string {
    const i = process.argv.indexOf(`--${name}`);
    const value = i >= 0 ? process.argv[i + 1] : undefined;
    if (!value) {
        console.error(`usage: render-fleet --env <environment> --out <folder>  (missing --${name})`);
        process.exit(2);
    }
    return value;
}

const env = arg("env");
const out = path.resolve(arg("out"));
const files = renderFleetTree(defaultFleetDir(), env);
for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
    fs.writeFileSync(path.join(out, rel), content);
}
console.log(`${Object.keys(files).length} files for ${env} in ${out}`);
