// The digest policy with real lookups: Kyverno's own engine (`kyverno apply
// --registry`) runs resolve-image-digest against a registry on 127.0.0.1 that
// speaks the registry protocol. The CLI tests beside the policy stub the
// registry's answer; this proves the lookup itself, for containers and init
// containers, and what a failing lookup looks like: an error naming the image,
// which the admission webhook (failurePolicy Fail) turns into a denied Deployment.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { findBinary } from "../../local-cluster/util";
import { OciRegistry, startOciRegistry } from "../support/oci-registry";

const repoRoot = path.resolve(__dirname, "..", "..");
const policy = path.join(
    repoRoot,
    "fleet",
    "infrastructure",
    "configs",
    "policies",
    "resolve-image-digest",
    "resolve-image-digest.yaml",
);
const app = { repository: "team/app", tag: "1.0" };
const migrate = { repository: "team/migrate", tag: "2.0" };

interface Container {
    name: string;
    image: string;
}

function deployment(containers: Container[], initContainers: Container[]): Record<string, unknown> {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "app", namespace: "apps" },
        spec: {
            selector: { matchLabels: { app: "app" } },
            template: { metadata: { labels: { app: "app" } }, spec: { initContainers, containers } },
        },
    };
}

interface Applied {
    out: string;
    errors: number;
    /** The Deployment as the policy left it (absent when the rule failed). */
    result?: { spec: { template: { spec: { containers: Container[]; initContainers: Container[] } } } };
}

/** Runs a command without blocking the event loop: the registry answering it lives in this process. */
function runAsync(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
        const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        p.stdout.on("data", (d: Buffer) => (out += d.toString()));
        p.stderr.on("data", (d: Buffer) => (out += d.toString()));
        const timer = setTimeout(() => p.kill(), 120_000);
        p.on("error", reject);
        p.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, out });
        });
    });
}

/** kyverno apply of the digest policy to one Deployment in a dev-team namespace, with registry access. */
async function applyPolicy(resource: Record<string, unknown>): Promise<Applied> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "digest-lookup-"));
    try {
        const input = path.join(dir, "deployment.yaml");
        const values = path.join(dir, "values.yaml");
        const output = path.join(dir, "out.yaml");
        fs.writeFileSync(input, stringify(resource));
        fs.writeFileSync(
            values,
            stringify({
                apiVersion: "cli.kyverno.io/v1alpha1",
                kind: "Values",
                metadata: { name: "values" },
                namespaceSelector: [{ name: "apps", labels: { "toolkit.fluxcd.io/tenant": "dev-team" } }],
            }),
        );
        const { code, out } = await runAsync(findBinary("kyverno"), [
            "apply",
            policy,
            "-r",
            input,
            "-f",
            values,
            "-o",
            output,
            "--registry",
            "--remove-color",
        ]);
        const summary = /pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)/.exec(out);
        assert.ok(summary, `kyverno apply printed no summary (exit ${code}):\n${out}`);
        const docs = fs.existsSync(output)
            ? parseAllDocuments(fs.readFileSync(output, "utf8")).map((d) => d.toJS())
            : [];
        const result = docs.filter((d) => d?.kind === "Deployment").pop();
        return { out, errors: Number(summary[4]), result };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("the digest policy against a registry", function () {
    this.timeout(5 * 60 * 1000);
    let registry: OciRegistry;
    before(async () => (registry = await startOciRegistry([app, migrate])));
    after(() => registry?.stop());

    it("resolves the tag of each container and init container to the digest the registry serves", async () => {
        const r = await applyPolicy(
            deployment(
                [{ name: "app", image: `${registry.host}/team/app:1.0` }],
                [{ name: "migrate", image: `${registry.host}/team/migrate:2.0` }],
            ),
        );
        assert.equal(r.errors, 0, r.out);
        const spec = r.result?.spec.template.spec;
        assert.deepEqual(
            spec?.containers.map((c) => c.image),
            [`${registry.host}/team/app@${registry.digestOf(app)}`],
            r.out,
        );
        assert.deepEqual(
            spec?.initContainers.map((c) => c.image),
            [`${registry.host}/team/migrate@${registry.digestOf(migrate)}`],
            r.out,
        );
    });

    it("never asks the registry about images pinned by digest", async () => {
        const asked = registry.requests.length;
        const pinnedApp = `${registry.host}/team/app@${registry.digestOf(app)}`;
        const pinnedMigrate = `${registry.host}/team/migrate@${registry.digestOf(migrate)}`;
        const r = await applyPolicy(
            deployment([{ name: "app", image: pinnedApp }], [{ name: "migrate", image: pinnedMigrate }]),
        );
        assert.equal(r.errors, 0, r.out);
        assert.deepEqual(registry.requests.slice(asked), [], "the registry was asked about a pinned image");
        const spec = r.result?.spec.template.spec;
        assert.ok(spec, `kyverno apply wrote back no Deployment:\n${r.out}`);
        assert.deepEqual(
            spec.containers.map((c) => c.image),
            [pinnedApp],
            r.out,
        );
        assert.deepEqual(
            spec.initContainers.map((c) => c.image),
            [pinnedMigrate],
            r.out,
        );
    });

    it("fails naming the image when the registry is down", async () => {
        const down = await startOciRegistry([app]);
        await down.stop();
        const image = `${down.host}/team/app:1.0`;
        const r = await applyPolicy(deployment([{ name: "app", image }], []));
        assert.equal(r.errors, 1, r.out);
        assert.ok(r.out.includes(image), `the error does not name ${image}:\n${r.out}`);
        assert.match(r.out, /connection refused/);
    });

    it("fails naming the image when the registry is private and Kyverno has no credentials for it", async () => {
        const closed = await startOciRegistry([app], { requireAuth: true });
        try {
            const image = `${closed.host}/team/app:1.0`;
            const r = await applyPolicy(deployment([{ name: "app", image }], []));
            assert.equal(r.errors, 1, r.out);
            assert.ok(r.out.includes(image), `the error does not name ${image}:\n${r.out}`);
            assert.match(r.out, /UNAUTHORIZED|401/);
        } finally {
            await closed.stop();
        }
    });
});
