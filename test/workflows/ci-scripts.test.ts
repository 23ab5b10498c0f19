// The scripts the workflows' jobs run (scripts/ci/), run here as a job would:
// the environment guard, the shared-repository check before a teardown deletes
// it (against real Git repositories), and the kubeconfig step (with kubectl).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findBinary } from "../../local-cluster/util";

const root = path.resolve(__dirname, "..", "..");
const projectNode = path.join(root, "node_modules", ".bin");

function script(
    name: string,
    args: string[],
    env: Record<string, string> = {},
): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("bash", [path.join(root, "scripts", "ci", name), ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, PATH: `${projectNode}${path.delimiter}${process.env.PATH}`, GITHUB_ENV: "", ...env },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function git(cwd: string, args: string[]): string {
    const r = spawnSync(
        "git",
        ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main", ...args],
        {
            cwd,
            encoding: "utf8",
        },
    );
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

describe("scripts/ci (what the workflow jobs run)", function () {
    this.timeout(120_000);
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ci-scripts-"))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    describe("require-environment.sh: the job runs in the environment named after its stack", () => {
        it("passes when the environment's ENVIRONMENT_NAME is the stack (up, destroy) or STACK-preview (preview)", () => {
            for (const [cmd, stack, env] of [
                ["up", "production", "production"],
                ["destroy", "staging", "staging"],
                ["preview", "staging", "staging-preview"],
            ]) {
                const r = script("require-environment.sh", [cmd, stack, env]);
                assert.equal(r.status, 0, `${cmd} ${stack} in ${env}: ${r.stderr}`);
            }
        });

        it("fails closed: no environment, a misspelled or auto-created one, another stack's, a preview's", () => {
            for (const [cmd, stack, env, says] of [
                ["up", "production", "", "'<no ENVIRONMENT_NAME variable>'"],
                ["up", "production", "prodution", "'prodution'"],
                ["up", "production", "staging", "'staging'"],
                ["destroy", "production", "production-preview", "'production-preview'"],
                ["preview", "production", "staging-preview", "'staging-preview'"],
            ]) {
                const r = script("require-environment.sh", [cmd, stack, env]);
                assert.equal(r.status, 1, `${cmd} ${stack} in "${env}" passed: ${r.stdout}`);
                assert.ok(r.stderr.includes(`environment says ${says}`), r.stderr);
                assert.match(r.stderr, /ENVIRONMENT_NAME=/);
            }
        });

        it("rejects an empty or odd stack name and an unknown command", () => {
            assert.equal(script("require-environment.sh", ["up", "", ""]).status, 1);
            assert.equal(script("require-environment.sh", ["up", "-production", "-production"]).status, 1);
            assert.match(
                script("require-environment.sh", ["refresh", "staging", "staging"]).stderr,
                /unknown command 'refresh'/,
            );
        });
    });

    describe("fleet-in-use.sh: deleting the shared repository while another environment uses it", () => {
        /** A bare repository whose main branch has clusters/<env>/ for each env. */
        function fleet(name: string, envs: string[]): string {
            const work = path.join(tmp, `${name}-work`);
            const bare = path.join(tmp, `${name}.git`);
            git(tmp, ["init", "-q", work]);
            fs.mkdirSync(path.join(work, "apps", "base"), { recursive: true });
            fs.writeFileSync(path.join(work, "apps", "base", "kustomization.yaml"), "resources: []\n");
            for (const e of envs) {
                fs.mkdirSync(path.join(work, "clusters", e), { recursive: true });
                fs.writeFileSync(path.join(work, "clusters", e, "kustomization.yaml"), "resources: []\n");
            }
            git(work, ["add", "-A"]);
            git(work, ["commit", "-qm", "fleet"]);
            git(tmp, ["clone", "-q", "--bare", work, bare]);
            return `file://${bare}`;
        }

        it("refuses, naming the environment, while production still has clusters/production/", () => {
            const url = fleet("both", ["staging", "production"]);
            const r = script("fleet-in-use.sh", ["staging"], { FLEET_URL: url });
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(
                r.stderr,
                /refusing to delete the fleet repository .*: environment\(s\) production still sync from clusters\/<env>\/ on main/,
            );
        });

        it("allows it when only the stack's own environment is left", () => {
            const url = fleet("own", ["staging"]);
            const r = script("fleet-in-use.sh", ["staging"], { FLEET_URL: url });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /no environment other than staging has clusters/);
        });

        it("refuses when it cannot read the branch (unknown users count as users)", () => {
            const r = script("fleet-in-use.sh", ["staging"], { FLEET_URL: `file://${path.join(tmp, "missing.git")}` });
            assert.equal(r.status, 2, r.stdout + r.stderr);
            assert.match(r.stderr, /cannot read branch main of .*refusing/);
        });

        it("names the repository from the committed settings, and refuses without a githubOwner", () => {
            // Pulumi.staging.yaml commits no githubOwner (it is set per checkout).
            const r = script("fleet-in-use.sh", ["staging"]);
            assert.equal(r.status, 2, r.stdout + r.stderr);
            assert.match(r.stderr, /Pulumi\.staging\.yaml sets no githubOwner/);
        });
    });

    describe("kubeconfig.sh: the environment's kubeconfig and the stack's kubeContext", () => {
        let kubectlDir: string;
        before(function () {
            try {
                kubectlDir = path.dirname(findBinary("kubectl"));
            } catch (e) {
                throw new Error(
                    `${(e as Error).message}: this test runs kubectl config on a file, as the runner does`,
                    { cause: e },
                );
            }
        });

        const kubeconfig = (context: string) =>
            [
                "apiVersion: v1",
                "kind: Config",
                "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]",
                "users: [{name: u, user: {token: not-a-real-token}}]",
                `contexts: [{name: ${context}, context: {cluster: c, user: u}}]`,
                `current-context: ${context}`,
                "",
            ].join("\n");

        function run(stack: string, data: string, extra: Record<string, string> = {}, pathFirst = "") {
            const file = path.join(tmp, `kubeconfig-${stack}-${Math.random().toString(36).slice(2)}`);
            const githubEnv = path.join(tmp, `github-env-${Math.random().toString(36).slice(2)}`);
            fs.writeFileSync(githubEnv, "");
            const r = script("kubeconfig.sh", [stack, file], {
                KUBECONFIG_DATA: data,
                GITHUB_ENV: githubEnv,
                PATH: `${pathFirst}${kubectlDir}${path.delimiter}${projectNode}${path.delimiter}${process.env.PATH}`,
                ...extra,
            });
            return { ...r, file, githubEnv: fs.readFileSync(githubEnv, "utf8") };
        }

        /**
         * The AWS CLI as the runner has it, for what this script asks of it: `aws eks
         * update-kubeconfig` writes a kubeconfig whose user runs `aws eks get-token`.
         * (AWS itself cannot be reached here.) It logs its arguments.
         */
        function fakeAws(): { dir: string; log: string } {
            const dir = fs.mkdtempSync(path.join(tmp, "aws-"));
            const log = path.join(dir, "calls.log");
            const kubeconfigOf = [
                "apiVersion: v1",
                "kind: Config",
                "clusters: [{name: arn, cluster: {server: 'https://eks.example'}}]",
                "users: [{name: arn, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token]}}}]",
                "contexts: [{name: ${alias:-arn}, context: {cluster: arn, user: arn}}]",
                "current-context: ${alias:-arn}",
            ].join("\n");
            fs.writeFileSync(
                path.join(dir, "aws"),
                [
                    "#!/usr/bin/env bash",
                    `echo "$*" >> ${JSON.stringify(log)}`,
                    'out="" alias=""',
                    'while [ $# -gt 0 ]; do case "$1" in --kubeconfig) out=$2; shift;; --alias) alias=$2; shift;; esac; shift; done',
                    `cat > "$out" <<EOF\n${kubeconfigOf}\nEOF`,
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            return { dir, log };
        }

        it("with EKS_CLUSTER, writes the kubeconfig with aws eks update-kubeconfig under the stack's context name: no credential in it", () => {
            const aws = fakeAws();
            const r = run(
                "staging",
                "",
                { EKS_CLUSTER: "fleet-staging", EKS_REGION: "eu-west-1" },
                `${aws.dir}${path.delimiter}`,
            );
            assert.equal(r.status, 0, r.stderr);
            assert.equal(
                fs.readFileSync(aws.log, "utf8").trim(),
                `eks update-kubeconfig --name fleet-staging --region eu-west-1 --kubeconfig ${r.file} --alias kind-staging`,
            );
            assert.equal(fs.statSync(r.file).mode & 0o777, 0o600);
            assert.doesNotMatch(fs.readFileSync(r.file, "utf8"), /token:|client-key|password/);
            assert.equal(r.githubEnv, `KUBECONFIG=${r.file}\n`);
        });

        it("writes the secret to a file only the runner user can read and exports KUBECONFIG when the context exists", () => {
            // Pulumi.staging.yaml names kubeContext kind-staging.
            const r = run("staging", kubeconfig("kind-staging"));
            assert.equal(r.status, 0, r.stderr);
            assert.equal(fs.statSync(r.file).mode & 0o777, 0o600);
            assert.equal(r.githubEnv, `KUBECONFIG=${r.file}\n`);
        });

        it("fails, naming the contexts the secret has, when the stack's kubeContext is not one of them", () => {
            const r = run("production", kubeconfig("prod-admin"));
            assert.equal(r.status, 1, r.stdout);
            assert.match(
                r.stderr,
                /Pulumi\.production\.yaml sets kubeContext 'kind-production', which the KUBECONFIG secret does not have \(it has: prod-admin \)/,
            );
            assert.equal(r.githubEnv, "");
        });

        it("fails when the environment has neither EKS_CLUSTER nor a KUBECONFIG secret", () => {
            const r = run("staging", "");
            assert.equal(r.status, 1);
            assert.match(
                r.stderr,
                /no cluster credential for staging in this job's environment: set the variable EKS_CLUSTER .* or add .* secret named KUBECONFIG/,
            );
        });
    });
});
