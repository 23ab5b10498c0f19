// A host controller's pod sandbox: the ServiceAccount volume at the path
// client-go and controller-runtime read, and the pod's name as hostname, both
// seen only by the sandboxed process. Run for real (root here, as in CI).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { podSandboxUnavailable, sandboxed, SERVICE_ACCOUNT_MOUNT } from "../../local-cluster/pod-sandbox";

describe("the pod sandbox of a host controller", () => {
    let dir: string;
    before(function () {
        // Without root there is no sandbox, and the supervisor says so (Flux's leader election off).
        if (podSandboxUnavailable()) this.skip();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-test-"));
        fs.writeFileSync(path.join(dir, "namespace"), "flux-system");
        fs.writeFileSync(path.join(dir, "token"), "a-token");
    });
    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    it("shows the process its ServiceAccount volume and its pod's hostname, and the host neither", () => {
        const script = `cat ${SERVICE_ACCOUNT_MOUNT}/namespace; echo; cat ${SERVICE_ACCOUNT_MOUNT}/token; echo; hostname`;
        const { bin, args } = sandboxed("/bin/sh", ["-c", script], {
            serviceAccountDir: dir,
            hostname: "source-controller-7d9f-abcde",
        });
        const r = spawnSync(bin, args, { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.stdout.trim().split("\n"), ["flux-system", "a-token", "source-controller-7d9f-abcde"]);
        assert.equal(fs.existsSync(path.join(SERVICE_ACCOUNT_MOUNT, "token")), false, "the mount leaked to the host");
        assert.notEqual(os.hostname(), "source-controller-7d9f-abcde", "the hostname leaked to the host");
    });

    it("keeps the process id, so stopping the process group stops the controller", () => {
        const { bin, args } = sandboxed("/bin/sh", ["-c", "echo $$"], { serviceAccountDir: dir, hostname: "p" });
        const r = spawnSync(bin, args, { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        // unshare and the entry script exec: the controller is the process that was spawned.
        assert.equal(Number(r.stdout.trim()), r.pid);
    });
});
