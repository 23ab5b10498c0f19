// Where a pinned tool's build lives: .tools/bin/<binary> links into
// ~/.cache/gitops-kyverno/tools/<tool>/<version>/bin/<binary>; the files a tool
// ships beside its binary (kwok's stages, the Flux Operator's manifests, the
// charts) are in that version folder.
import * as fs from "node:fs";
import * as path from "node:path";
import { findBinary } from "./util";

/** The version folder of the tool that provides `binary`. */
export function toolHome(binary: string): string {
    return path.dirname(path.dirname(fs.realpathSync(findBinary(binary))));
}

/** A folder of a tool without a binary (local-charts), from the tools cache. */
export function toolCacheDir(tool: string): string {
    const cache =
        process.env.GITOPS_TOOLS_CACHE ?? path.join(process.env.HOME ?? "/root", ".cache", "gitops-kyverno", "tools");
    const base = path.join(cache, tool);
    const versions = fs.existsSync(base)
        ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, ".complete")))
        : [];
    if (versions.length !== 1) {
        throw new Error(
            `${tool}: expected one complete build in ${base}, found ${versions.length} (run: npm run tools -- ${tool})`,
        );
    }
    return path.join(base, versions[0]);
}
