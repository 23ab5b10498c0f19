// Prints a kubeconfig for the identity pull-request previews run as
// (components/preview-access.ts): the stack's cluster and context name, and a
// token of the preview ServiceAccount minted by `kubectl create token`, which
// expires. Run it with your own (admin) credentials for the cluster; the token
// can only read and dry-run, so it is what the `staging-preview` environment's
// KUBECONFIG secret should hold.
//   npx ts-node cli/preview-kubeconfig.ts STACK [--duration 24h] [--out FILE]
//       [--kubeconfig PATH] [--context NAME]
//   npx ts-node cli/preview-kubeconfig.ts staging --duration 168h | gh secret set KUBECONFIG --env staging-preview
// The cluster and context come from Pulumi.STACK.yaml (kubeconfig, kubeContext)
// unless given, else from kubectl's defaults; the context keeps its name, so
// the stack's kubeContext finds it (scripts/ci/kubeconfig.sh checks that).
// Exit codes: 0 printed, 1 kubectl failed (its message), 2 usage.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { previewIdentity, previewUsername } from "../components/preview-access";
import { resolveTarget } from "./status/target";

const usage = [
    "usage: npx ts-node cli/preview-kubeconfig.ts STACK [--duration 24h] [--out FILE]",
    "         [--kubeconfig PATH] [--context NAME]",
    "  reads kubeconfig and kubeContext from Pulumi.STACK.yaml unless given",
].join("\n");

interface Kubeconfig {
    clusters?: { name: string; cluster: Record<string, unknown> }[];
    contexts?: { name: string; context: { cluster: string; namespace?: string } }[];
}

function fail(message: string, code: number): never {
    console.error(message);
    process.exit(code);
}

/** Takes `--NAME VALUE` or `--NAME=VALUE` out of argv. */
function take(argv: string[], name: string): string | undefined {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    const inline = argv[i].includes("=") ? argv[i].slice(argv[i].indexOf("=") + 1) : undefined;
    const value = inline ?? argv[i + 1];
    if (value === undefined || value === "") fail(`--${name} needs a value\n${usage}`, 2);
    argv.splice(i, inline === undefined ? 2 : 1);
    return value;
}

function main(): void {
    const argv = process.argv.slice(2);
    const duration = take(argv, "duration") ?? "24h";
    const out = take(argv, "out");
    const root = path.resolve(__dirname, "..");
    const t = resolveTarget(argv, root);
    if ("usage" in t || !t.stack) fail(usage, 2);

    const kubectl = (args: string[]): string => {
        const flags: string[] = [];
        if (t.kubeconfig) flags.push(`--kubeconfig=${t.kubeconfig}`);
        if (t.context) flags.push(`--context=${t.context}`);
        const r = spawnSync("kubectl", [...flags, ...args], { encoding: "utf8", timeout: 60_000 });
        if (r.error) fail(`kubectl ${args.join(" ")}: ${r.error.message}`, 1);
        if (r.status !== 0) fail(`kubectl ${args.join(" ")}: ${(r.stderr || r.stdout).trim()}`, 1);
        return r.stdout;
    };

    // --flatten embeds a CA file's content: the kubeconfig must work on another machine.
    const view = JSON.parse(kubectl(["config", "view", "--minify", "--flatten", "-o", "json"])) as Kubeconfig;
    const context = view.contexts?.[0];
    const cluster = view.clusters?.find((c) => c.name === context?.context.cluster);
    if (!context || !cluster) fail(`no context${t.context ? ` ${t.context}` : ""} with a cluster in the kubeconfig`, 1);

    const id = previewIdentity;
    const mint = ["create", "token", id.serviceAccount, "-n", id.namespace, `--duration=${duration}`, "-o", "json"];
    const request = JSON.parse(kubectl(mint)) as {
        status: { token: string; expirationTimestamp: string };
    };
    const user = id.namespace;
    const config = {
        apiVersion: "v1",
        kind: "Config",
        clusters: [cluster],
        users: [{ name: user, user: { token: request.status.token } }],
        contexts: [{ name: context.name, context: { cluster: cluster.name, user } }],
        "current-context": context.name,
    };
    const text = stringify(config);
    if (out) {
        fs.writeFileSync(out, text, { mode: 0o600 });
        fs.chmodSync(out, 0o600);
    } else process.stdout.write(text);
    // The API server may cap the duration (--service-account-max-token-expiration): say what it gave.
    console.error(
        `${out ? `wrote ${out}: ` : ""}kubeconfig for ${previewUsername(id)} on context ${context.name}; ` +
            `the token expires ${request.status.expirationTimestamp} (mint a new one before then)`,
    );
}

main();
