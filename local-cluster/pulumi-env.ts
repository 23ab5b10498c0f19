// The environment the project's offline Pulumi build runs in: a local file
// backend, a passphrase, the plugins scripts/pulumi-plugins.sh installed (in
// their own Pulumi home, apart from ~/.pulumi), and nothing downloaded.
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..");

/** The environment the engine runs in: local backend, passphrase, nothing downloaded. */
export function pulumiEnv(backendDir: string, passphrase: string | { file: string }): NodeJS.ProcessEnv {
    const bin = [path.join(repoRoot, ".tools", "bin"), path.join(repoRoot, "node_modules", ".bin")];
    return {
        ...process.env,
        PATH: [...bin, process.env.PATH ?? ""].join(path.delimiter),
        // The plugins scripts/pulumi-plugins.sh installed, kept apart from ~/.pulumi.
        PULUMI_HOME:
            process.env.GITOPS_PULUMI_HOME ?? path.join(os.homedir(), ".cache", "gitops-kyverno", "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${backendDir}`,
        ...(typeof passphrase === "string"
            ? { PULUMI_CONFIG_PASSPHRASE: passphrase }
            : { PULUMI_CONFIG_PASSPHRASE_FILE: passphrase.file }),
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        NO_COLOR: "1",
        CI: process.env.CI ?? "true",
    };
}
