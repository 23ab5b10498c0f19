// Files of the pinned tools, where this machine has them: the tools' builds
// (scripts/tools.sh) and Go's module cache. A test that needs them skips without.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fluxOperatorRelease } from "../../../stacks/flux-operator";

export const toolsCache =
    process.env.GITOPS_TOOLS_CACHE ?? path.join(os.homedir(), ".cache", "gitops-kyverno", "tools");
const goModules =
    process.env.GOMODCACHE ?? path.join(process.env.GOPATH ?? path.join(os.homedir(), "go"), "pkg", "mod");

/** A folder of the pinned Flux Operator: in its build (which copies config/data to data/), then in its module. */
export function fluxOperatorDirs(inBuild: string, inModule = inBuild): string[] {
    const release = `v${fluxOperatorRelease}`;
    const module = path.join(goModules, "github.com", "controlplaneio-fluxcd", `flux-operator@${release}`);
    return [path.join(toolsCache, "flux-operator", release, inBuild), path.join(module, inModule)];
}

/** The first of `dirs` that exists; otherwise the test is skipped, its title saying why. */
export function existingOrSkip(ctx: Mocha.Context, dirs: string[], what: string): string {
    const dir = dirs.find((d) => fs.existsSync(d));
    if (dir === undefined) {
        ctx.test!.title += ` (skipped: no ${what} at ${dirs.join(" or ")})`;
        ctx.skip();
    }
    return dir;
}
