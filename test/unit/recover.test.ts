// The decisions of cli/recover/ (which lock to remove, which processes are
// a dead run's leftovers, what to do with a Helm release left pending and with
// each pending operation), on plain data; and the lock files a file backend holds.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repairRelease, HelmRevision } from "../../cli/recover/helm-records";
import { findLeftovers, ProcInfo } from "../../cli/recover/leftovers";
import { decideLock, fileBackendDir, findLocks, LockContent } from "../../cli/recover/lock";
import { resolve, subjectOf, PendingOperation } from "../../cli/recover/pending";

const lock = (over: Partial<LockContent> = {}): LockContent => ({
    pid: 4242,
    username: "ci",
    hostname: "runner-1",
    timestamp: "2026-01-01T00:00:00Z",
    ...over,
});

describe("recover: the stack lock", () => {
    it("removes a lock of this host whose pid is gone, or is no longer pulumi", () => {
        assert.equal(decideLock(lock(), "runner-1", () => ({ alive: false })).action, "remove");
        const reused = decideLock(lock(), "runner-1", () => ({ alive: true, command: "sshd" }));
        assert.equal(reused.action, "remove");
        assert.match(reused.action === "remove" ? reused.reason : "", /now sshd, not pulumi/);
    });

    it("refuses while pulumi still runs as the holder, and offers no --cancel-lock for it", () => {
        const d = decideLock(lock(), "runner-1", () => ({ alive: true, command: "pulumi" }));
        assert.equal(d.action, "refuse");
        assert.equal(d.action === "refuse" && d.canCancel, false);
        assert.match(d.action === "refuse" ? d.reason : "", /pulumi still runs as pid 4242/);
    });

    it("refuses a lock of another host (its pid means nothing here), naming the holder; --cancel-lock may remove it", () => {
        let asked = false;
        const d = decideLock(lock(), "laptop", () => ((asked = true), { alive: false }));
        assert.equal(asked, false, "another host's pid is not looked up here");
        assert.equal(d.action, "refuse");
        assert.equal(d.action === "refuse" && d.canCancel, true);
        assert.match(d.action === "refuse" ? d.holder : "", /ci@runner-1 \(pid 4242/);
    });

    it("finds the lock files of one stack of one project on a file backend, and no other's", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recover-locks-"));
        try {
            const mine = path.join(dir, ".pulumi", "locks", "organization", "gitops-kyverno", "staging");
            const other = path.join(dir, ".pulumi", "locks", "organization", "gitops-kyverno", "production");
            fs.mkdirSync(mine, { recursive: true });
            fs.mkdirSync(other, { recursive: true });
            fs.writeFileSync(path.join(mine, "a.json"), JSON.stringify(lock()));
            fs.writeFileSync(path.join(other, "b.json"), JSON.stringify(lock()));
            const found = findLocks(dir, "gitops-kyverno", "staging");
            assert.deepEqual(
                found.map((l) => [path.basename(l.file), l.content?.pid]),
                [["a.json", 4242]],
            );
            assert.equal(fileBackendDir(`file://${dir}`), dir);
            assert.equal(fileBackendDir("https://api.pulumi.com"), undefined);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("recover: leftover processes", () => {
    const project = "/work/project";
    const proc = (
        pid: number,
        ppid: number,
        comm: string,
        cmdline: string[],
        extra: Partial<ProcInfo> = {},
    ): ProcInfo => ({
        pid,
        ppid,
        comm,
        cmdline,
        cwd: project,
        ...extra,
    });
    const marked = (run: string, stack = "staging") => ({ marker: `${run} ${stack} ${project}` });

    it("kills every marked process of a run whose pulumi CLI is gone, and none of a live run or another stack", () => {
        const procs = [
            proc(1, 0, "init", ["/sbin/init"], { cwd: "/" }),
            // dead run r1: plugins reparented to init
            proc(
                10,
                1,
                "pulumi-resource",
                ["/home/u/.pulumi/plugins/resource-kubernetes/pulumi-resource-kubernetes"],
                marked("r1"),
            ),
            proc(11, 1, "node", ["node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js"], marked("r1")),
            // live run r2 of the same stack: its CLI runs
            proc(20, 1, "pulumi", ["pulumi", "up"], marked("r2")),
            proc(21, 20, "pulumi-language", ["pulumi-language-nodejs"], marked("r2")),
            // dead run of another stack
            proc(30, 1, "pulumi-resource", ["pulumi-resource-tls"], marked("r3", "production")),
        ];
        assert.deepEqual(
            findLeftovers(procs, project, "staging").map((l) => l.pid),
            [10, 11],
        );
    });

    it("without a mark, takes plugins in the project folder with no pulumi CLI above them, and nothing else", () => {
        const procs = [
            proc(1, 0, "init", ["/sbin/init"], { cwd: "/" }),
            proc(40, 1, "pulumi-resource", ["/x/pulumi-resource-kubernetes"]),
            proc(41, 1, "pulumi-language", ["/x/pulumi-language-nodejs"], { cwd: "/elsewhere" }),
            proc(50, 1, "pulumi", ["pulumi", "preview"]),
            proc(51, 50, "pulumi-resource", ["/x/pulumi-resource-kubernetes"]),
            proc(60, 1, "node", ["node", "server.js"]),
        ];
        assert.deepEqual(
            findLeftovers(procs, project, "staging").map((l) => l.pid),
            [40],
        );
    });

    it("never picks itself", () => {
        const procs = [proc(70, 1, "node", ["node", "@pulumi/pulumi/cmd/run"], marked("dead"))];
        assert.deepEqual(findLeftovers(procs, project, "staging", 70), []);
    });
});

describe("recover: Helm releases left pending", () => {
    const rel = { name: "kyverno", namespace: "kyverno" };
    const rev = (version: number, status: string): HelmRevision => ({
        secret: `sh.helm.release.v1.kyverno.v${version}`,
        version,
        status,
    });

    it("leaves a release whose newest revision is not pending alone", () => {
        assert.equal(repairRelease(rel, [rev(1, "superseded"), rev(2, "deployed")]), undefined);
        assert.equal(repairRelease(rel, []), undefined);
    });

    it("removes every record of a release that never deployed, so the next install replaces it", () => {
        const r = repairRelease(rel, [rev(1, "pending-install")]);
        assert.deepEqual(r?.remove, ["sh.helm.release.v1.kyverno.v1"]);
        assert.match(r?.summary ?? "", /never deployed \(pending-install, revision 1\)/);
        assert.deepEqual(repairRelease(rel, [rev(1, "failed"), rev(2, "pending-install")])?.remove, [
            "sh.helm.release.v1.kyverno.v2",
            "sh.helm.release.v1.kyverno.v1",
        ]);
    });

    it("rolls a pending upgrade back to the last deployed revision by dropping only the pending one", () => {
        const r = repairRelease(rel, [rev(1, "superseded"), rev(2, "deployed"), rev(3, "pending-upgrade")]);
        assert.deepEqual(r?.remove, ["sh.helm.release.v1.kyverno.v3"]);
        assert.match(r?.summary ?? "", /revision 2 \(deployed\) is current again/);
        assert.deepEqual(repairRelease(rel, [rev(2, "deployed"), rev(3, "pending-rollback")])?.remove, [
            "sh.helm.release.v1.kyverno.v3",
        ]);
    });
});

describe("recover: pending operations", () => {
    const op = (type: string, resourceType: string, inputs: Record<string, any>): PendingOperation => ({
        type,
        resource: { urn: `urn:pulumi:staging::gitops-kyverno::x$${resourceType}::thing`, type: resourceType, inputs },
    });

    it("knows a Helm release and a Kubernetes object by their type and inputs", () => {
        assert.deepEqual(
            subjectOf(
                op("creating", "kubernetes:helm.sh/v3:Release", { name: "kyverno", namespace: "kyverno" }).resource,
            ),
            {
                kind: "helm",
                release: { name: "kyverno", namespace: "kyverno" },
            },
        );
        assert.deepEqual(
            subjectOf(op("creating", "kubernetes:core/v1:Namespace", { metadata: { name: "kyverno" } }).resource),
            {
                kind: "kube",
                ref: { resource: "Namespace", name: "kyverno" },
            },
        );
        assert.deepEqual(
            subjectOf(
                op("creating", "kubernetes:fluxcd.controlplane.io/v1:FluxInstance", {
                    metadata: { name: "flux", namespace: "flux-system" },
                }).resource,
            ),
            {
                kind: "kube",
                ref: { resource: "FluxInstance.v1.fluxcd.controlplane.io", name: "flux", namespace: "flux-system" },
            },
        );
        assert.deepEqual(subjectOf(op("creating", "pulumi-nodejs:dynamic/gitops-kyverno:FleetFiles", {}).resource), {
            kind: "other",
        });
    });

    it("imports a create that happened, clears one that did not, and clears the rest", () => {
        const helm = op("creating", "kubernetes:helm.sh/v3:Release", { name: "kyverno", namespace: "kyverno" });
        assert.deepEqual(resolve(helm, "kyverno/kyverno"), {
            urn: helm.resource.urn,
            action: "import",
            id: "kyverno/kyverno",
            why: "the interrupted create of thing did happen: imported as kyverno/kyverno",
        });
        assert.equal(resolve(helm, null).action, "clear");
        assert.match(
            resolve(op("creating", "pulumi-nodejs:dynamic/gitops-kyverno:FleetFiles", {}), undefined).why,
            /idempotent/,
        );
        assert.match(
            resolve(op("updating", "kubernetes:helm.sh/v3:Release", {}), "kyverno/kyverno").why,
            /interrupted update of thing: its last recorded state stands/,
        );
        assert.equal(resolve(op("deleting", "kubernetes:core/v1:Namespace", {}), "kyverno").action, "clear");
    });
});
