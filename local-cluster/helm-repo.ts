// A Helm chart repository over HTTP on 127.0.0.1: writes each chart's files,
// packages them as <name>-<version>.tgz (tar), writes index.yaml, and serves
// the folder. The program reaches it through the same chart repository and
// version settings a user sets for a private mirror.
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { removeOnExit } from "./processes";

export interface ChartFiles {
    name: string;
    version: string;
    /** Paths inside the chart folder (e.g. "templates/configmap.yaml") and their content; Chart.yaml is added. */
    files: Record<string, string>;
}

/** A chart folder as it is published (its own Chart.yaml), packaged as is. */
export interface ChartDir {
    dir: string;
}

export interface HelmRepo {
    url: string;
    dir: string;
    /** Paths requested so far, e.g. "/index.yaml". */
    requests: string[];
    stop(): Promise<void>;
}

export async function startHelmRepo(
    charts: (ChartFiles | ChartDir)[],
    opts: { port?: number; dir?: string } = {},
): Promise<HelmRepo> {
    const dir = opts.dir ?? removeOnExit(fs.mkdtempSync(path.join(os.tmpdir(), "helm-repo-")));
    fs.mkdirSync(dir, { recursive: true });
    const served = path.join(dir, "served");
    fs.mkdirSync(served);
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        const name = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
        requests.push(name);
        const file = path.join(served, path.basename(name));
        if (req.method !== "GET" || !fs.existsSync(file)) {
            res.writeHead(404).end("not found\n");
            return;
        }
        const type = file.endsWith(".yaml") ? "application/x-yaml" : "application/gzip";
        res.writeHead(200, { "Content-Type": type });
        fs.createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

    const entries: Record<string, unknown[]> = {};
    for (const source of charts) {
        let chart: Record<string, unknown> & { name: string; version: string };
        let src: string;
        if ("dir" in source) {
            chart = YAML.parse(fs.readFileSync(path.join(source.dir, "Chart.yaml"), "utf8"));
            src = path.join(dir, "src", chart.name);
            fs.cpSync(source.dir, src, { recursive: true });
        } else {
            chart = chartYaml(source);
            src = path.join(dir, "src", source.name);
            const files = { "Chart.yaml": YAML.stringify(chart), ...source.files };
            for (const [rel, content] of Object.entries(files)) {
                fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
                fs.writeFileSync(path.join(src, rel), content);
            }
        }
        const tgz = `${chart.name}-${chart.version}.tgz`;
        execFileSync("tar", ["-czf", path.join(served, tgz), "-C", path.dirname(src), chart.name]);
        const digest = crypto
            .createHash("sha256")
            .update(fs.readFileSync(path.join(served, tgz)))
            .digest("hex");
        (entries[chart.name] ??= []).push({
            ...chart,
            urls: [`${url}/${tgz}`],
            created: new Date().toISOString(),
            digest,
        });
    }
    fs.writeFileSync(
        path.join(served, "index.yaml"),
        YAML.stringify({ apiVersion: "v1", entries, generated: new Date().toISOString() }),
    );

    return {
        url,
        dir,
        requests,
        stop: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => {
                    fs.rmSync(dir, { recursive: true, force: true });
                    resolve();
                });
            }),
    };
}

function chartYaml(chart: ChartFiles) {
    return {
        apiVersion: "v2",
        name: chart.name,
        version: chart.version,
        appVersion: chart.version,
        type: "application",
        description: `Test chart ${chart.name}`,
    };
}
