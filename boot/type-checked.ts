// Imported first by index.ts: the program stops here, before any other module
// loads or any resource is registered, unless its TypeScript type-checks.
// Pulumi runs the program through boot/run.js, which only transpiles (from a
// cache, without loading the compiler when nothing changed): that saves
// ts-node's type check, ~1.7 s of every preview and up, and this puts the
// guarantee back for every way the program is started (npm run up, plain
// pulumi, CI), at the cost of a few file reads when nothing changed
// (boot/type-check.ts).
import { ensureTypeChecked, TypeCheckError } from "./type-check";

/** Whether ts-node is already type-checking every file it loads (then this check would be a second one). */
function tsNodeChecks(): boolean {
    const service = (process as unknown as Record<symbol, { transpileOnly?: boolean } | undefined>)[
        Symbol.for("ts-node.register.instance")
    ];
    return service?.transpileOnly === false;
}

if (!tsNodeChecks()) {
    try {
        const how = ensureTypeChecked();
        // For tests and the curious: whether this run checked or found the check remembered.
        if (process.env.GITOPS_KYVERNO_TYPE_CHECK_REPORT === "1") console.error(`[type-check] ${how}`);
    } catch (err) {
        if (!(err instanceof TypeCheckError)) throw err;
        // A RunError prints its message alone, without a stack trace.
        const { RunError } = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        throw new RunError(err.message);
    }
}
