// Typed, validated stack settings. loadSettings() reads every key once, collects
// every problem, and throws one SettingsError naming each key and the command that
// fixes it, before the program registers any resource.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    branchDefault,
    chartDefaults,
    environmentDefaults,
    fluxRegistryDefault,
    fluxVersionDefault,
    kyvernoPolicyApiDefault,
    kyvernoReplicasFallback,
    repositoryDefault,
} from "./defaults";
import {
    embeddedFluxVersions,
    embeddedFluxVersionsText,
    fluxOperatorRelease,
    fluxVariants,
    registryVariants,
} from "./flux-operator";
import { asImageRegistry, isImageRegistry } from "./image-registry";
import { pulumiCommand, upCommand } from "./pulumi-command";
import type { SuppliedDeployKey } from "../components/deploy-key";
import type { GitSettings } from "../components/fleet-repository";
import { kyvernoPolicyApis } from "../components/fleet-tree";
import type { EnvironmentSettings } from "../components/gitops-environment";
import { chartImagePaths, type ChartSource } from "../components/helm-source";
import { SshKeyProblem, sshPublicKeyOf } from "../components/ssh-private-key";

/** What the program builds one environment from (the GitOpsEnvironment component's settings). */
export type Settings = EnvironmentSettings;

export class SettingsError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(
            `The stack's settings have ${problems.length} problem(s); nothing was created:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "SettingsError";
    }
}

export const projectNamespace = "gitops-kyverno";

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const githubOwner = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const repoName = /^[A-Za-z0-9._-]{1,100}$/;
const semver = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;
const chartRepo = /^(https?|oci):\/\/[^\s]+$/;
const sshUrl = /^ssh:\/\/[^@\s/]+@[^\s/:]+(?::\d{1,5})?\/[^\s]+$/;

/** Reads raw config values; a seam so the rules can be tested without a stack. */
export interface ConfigSource {
    get(key: string): string | undefined;
    isSecret(key: string): boolean;
    env(name: string): string | undefined;
}

export function pulumiConfigSource(): ConfigSource {
    // isConfigSecret is exported at runtime though not typed; it is how Config warns
    // about secrets read as plaintext.
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
    return {
        get: (key) => {
            const full = key.includes(":") ? key : `${projectNamespace}:${key}`;
            const value = pulumi.runtime.getConfig(full);
            return value === undefined || value === "" ? undefined : value;
        },
        isSecret: (key) => runtime.isConfigSecret?.(key.includes(":") ? key : `${projectNamespace}:${key}`) ?? false,
        env: (name) => process.env[name] || undefined,
    };
}

/** Reads and checks every setting of the stack `stack`; throws SettingsError listing every problem. */
export function loadSettings(
    stack: string,
    source: ConfigSource = pulumiConfigSource(),
    fleetDir = defaultFleetDir(),
): Settings {
    const r = settingsReader(stack, source);
    const environment = readEnvironment(r, fleetDir);
    const git = readGit(r);
    const deployKey = readDeployKey(r);
    const kubeconfig = readKubeconfig(r);
    const charts = readCharts(r);
    const flux = readFlux(r, charts.fluxOperator);
    const kyverno = readKyverno(r, environment);
    const repositoryChoices = readRepositoryChoices(r, git);
    const certManagerCrdsOnDestroy = readCertManagerCrds(r);

    if (r.problems.length > 0 || git === undefined) throw new SettingsError(r.problems);
    return {
        environment,
        git,
        deployKey,
        ...repositoryChoices,
        kubeconfig,
        kubeContext: r.str("kubeContext"),
        charts,
        ...flux,
        ...kyverno,
        certManagerCrdsOnDestroy,
        fleetDir,
        upCommand: upCommand(stack, (name) => source.env(name)),
    };
}

/** The stack's raw values and the problems found in them, with the fix command each problem names. */
type SettingsReader = ReturnType<typeof settingsReader>;

function settingsReader(stack: string, source: ConfigSource) {
    const problems: string[] = [];
    // Every command printed here must work as printed (test/cli/printed-commands.test.ts
    // runs them): the CLI prefix that reaches this stack's backend, and secrets
    // never on a command line (npm echoes its arguments): asked for, or read from a file.
    const cli = pulumiCommand((name) => source.env(name));
    const fix = (key: string, value: string) => `${cli} config set ${key} ${value} --stack ${stack}`;
    const fixSecret = (key: string, file?: string) =>
        `${cli} config set ${key} --secret --stack ${stack}${file ? ` < ${file}` : ""}`;
    const qualified = (key: string) => (key.includes(":") ? key : `${projectNamespace}:${key}`);
    const problemWith = (key: string, what: string, command: string) =>
        problems.push(`${qualified(key)} ${what}. Fix: ${command}`);
    const problem = (key: string, what: string, example: string) => problemWith(key, what, fix(key, example));

    const str = (key: string, fallback?: string) => source.get(key) ?? fallback;
    const bool = (key: string, fallback: boolean): boolean => {
        const raw = source.get(key);
        if (raw === undefined) return fallback;
        if (raw === "true" || raw === "false") return raw === "true";
        problem(key, `must be true or false, not "${raw}"`, String(fallback));
        return fallback;
    };
    // A registry the charts would write into every image reference: wrong, it fails only as pods that cannot pull.
    const registryProblem = (key: string, value: string, imagePath: string) => {
        if (isImageRegistry(value)) return;
        const what =
            `"${value}" is not an image registry: host[:port] and an optional path, without a scheme or a trailing "/" ` +
            `(the images are pulled as <registry>/${imagePath}:<tag>)`;
        const cleaned = asImageRegistry(value);
        if (cleaned !== undefined) problem(key, what, cleaned);
        else problemWith(key, what, `${cli} config rm ${key} --stack ${stack}`);
    };
    return {
        stack,
        source,
        cli,
        fix,
        fixSecret,
        qualified,
        problems,
        problemWith,
        problem,
        str,
        bool,
        registryProblem,
    };
}

/** The environment: names clusters/<env> and apps/<env>, and must have an overlay in the fleet tree. */
function readEnvironment(r: SettingsReader, fleetDir: string): string {
    const { stack, str, problem, problems, fix } = r;
    const environment = str("environment", stack)!;
    if (!dnsLabel.test(environment)) {
        problem(
            "environment",
            `"${environment}" is not a valid environment name (lower-case letters, digits and '-')`,
            "staging",
        );
    } else if (!fs.existsSync(path.join(fleetDir, "apps", environment, "kustomization.yaml"))) {
        problems.push(
            `${projectNamespace}:environment "${environment}" has no overlay: create ${path.join("fleet", "apps", environment, "kustomization.yaml")} ` +
                `(copy apps/staging), or pick an existing one with: ${fix("environment", "staging")}`,
        );
    }
    return environment;
}

/** Where the fleet repository is: GitHub (owner, repository, token) or an SSH Git server (URL, host keys, write key). */
function readGit(r: SettingsReader): GitSettings | undefined {
    const { str, problem } = r;
    const branch = str("branch", branchDefault)!;
    if (!/^(?!\/|.*(?:\.\.|\/\/|@\{|\\|\.lock$|\/$))[A-Za-z0-9._/-]+$/.test(branch)) {
        problem("branch", `"${branch}" is not a valid Git branch name`, branchDefault);
    }
    const providerRaw = str("gitProvider", "github")!;
    if (providerRaw === "github") return readGitHub(r, branch);
    if (providerRaw === "ssh") return readSshGit(r, branch);
    problem("gitProvider", `"${providerRaw}" is not one of github, ssh`, "github");
    return undefined;
}

/** The GitHub repository and the token that creates it, registers deploy keys and pushes. */
function readGitHub(r: SettingsReader, branch: string): GitSettings {
    const { source, str, bool, problem, problems, problemWith, fixSecret } = r;
    const owner = str("githubOwner");
    if (owner === undefined)
        problem(
            "githubOwner",
            "is missing: the GitHub user or organization that owns the fleet repository",
            "<github-user-or-org>",
        );
    else if (!githubOwner.test(owner))
        problem("githubOwner", `"${owner}" is not a valid GitHub user or organization name`, "<github-user-or-org>");
    const repository = str("repository", repositoryDefault)!;
    if (!repoName.test(repository))
        problem("repository", `"${repository}" is not a valid GitHub repository name`, repositoryDefault);
    const tokenFromConfig = source.get("github:token");
    if (tokenFromConfig !== undefined && !source.isSecret("github:token")) {
        problemWith(
            "github:token",
            "is stored in plaintext in the stack's config file (the command asks for it and stores it encrypted)",
            fixSecret("github:token"),
        );
    }
    const token = tokenFromConfig ?? source.env("GITHUB_TOKEN");
    if (token === undefined) {
        problems.push(
            "no GitHub token (it needs the repo scope, or Administration and Contents write on the repository): " +
                `export GITHUB_TOKEN=<token>, or store it in the stack, encrypted (the command asks for it): ${fixSecret("github:token")}`,
        );
    }
    return {
        provider: "github",
        owner: owner ?? "",
        repository,
        branch,
        private: bool("repositoryPrivate", true),
        token: pulumi.secret(token ?? ""),
    };
}

/** The repository on an SSH Git server, its host keys and the key that pushes to it. */
function readSshGit(r: SettingsReader, branch: string): GitSettings {
    const { source, str, problem, problems, problemWith, fixSecret, qualified } = r;
    const url = str("gitUrl");
    const urlExample = "ssh://git@<git-host>/fleet-infra.git";
    if (url === undefined)
        problem("gitUrl", "is missing: the SSH URL of the fleet repository on your Git server", urlExample);
    else if (!sshUrl.test(url)) problem("gitUrl", `"${url}" is not an ssh://user@host[:port]/path URL`, urlExample);
    const knownHosts = str("gitKnownHosts");
    if (knownHosts === undefined) {
        const what = "is missing: the Git server's host keys as known_hosts lines";
        const scan = url !== undefined && sshUrl.test(url) ? keyscanCommand(url) : undefined;
        if (scan) problem("gitKnownHosts", `${what}, as ssh-keyscan reads them from ${url}`, `"$(${scan})"`);
        else
            problems.push(
                `${qualified("gitKnownHosts")} ${what}; set gitUrl first, and this message then gives the ssh-keyscan command that reads them`,
            );
    }
    const writeKey = str("gitWriteKey");
    const keyFile = "~/.ssh/fleet_push";
    if (writeKey === undefined) {
        problemWith(
            "gitWriteKey",
            `is missing: an OpenSSH private key allowed to push to the fleet repository (here read from ${keyFile})`,
            fixSecret("gitWriteKey", keyFile),
        );
    } else {
        if (!source.isSecret("gitWriteKey"))
            problemWith(
                "gitWriteKey",
                `is stored in plaintext in the stack's config file (store the key file encrypted)`,
                fixSecret("gitWriteKey", keyFile),
            );
        if (!/-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----/.test(writeKey))
            problemWith("gitWriteKey", "is not an OpenSSH or PEM private key", fixSecret("gitWriteKey", keyFile));
    }
    return { provider: "ssh", url: url ?? "", knownHosts: knownHosts ?? "", branch };
}

/** Flux's deploy key when the stack brings its own (deployKeyPrivateKey). */
function readDeployKey(r: SettingsReader): SuppliedDeployKey | undefined {
    const { source, str, problemWith, fixSecret } = r;
    // Checked here, before anything is created: a key Flux cannot use would otherwise
    // surface only as the deploy key check's refusal, or Flux's.
    const deployKeyRaw = str("deployKeyPrivateKey");
    let deployKey: SuppliedDeployKey | undefined;
    if (deployKeyRaw !== undefined) {
        const deployKeyFile = "~/.ssh/flux_deploy";
        const store = fixSecret("deployKeyPrivateKey", deployKeyFile);
        if (!source.isSecret("deployKeyPrivateKey"))
            problemWith(
                "deployKeyPrivateKey",
                "is stored in plaintext in the stack's config file (store the key file encrypted)",
                store,
            );
        try {
            deployKey = { privateKey: pulumi.secret(deployKeyRaw), ...sshPublicKeyOf(deployKeyRaw) };
        } catch (err) {
            if (!(err instanceof SshKeyProblem)) throw err;
            problemWith(
                "deployKeyPrivateKey",
                `${err.message}: Flux needs the private key file itself, without a passphrase (ssh-keygen -p -N "" -f ${deployKeyFile} removes one), ` +
                    "or no such setting at all, and the program generates a key",
                store,
            );
        }
    }
    return deployKey;
}

/** The kubeconfig file the stack names, ~ expanded; it must exist. */
function readKubeconfig(r: SettingsReader): string | undefined {
    const { stack, cli, str, problemWith } = r;
    const kubeconfigRaw = str("kubeconfig");
    const kubeconfig = kubeconfigRaw?.replace(/^~(?=$|\/)/, os.homedir());
    if (kubeconfig !== undefined && !fs.existsSync(kubeconfig)) {
        problemWith(
            "kubeconfig",
            `points at ${kubeconfigRaw}, which does not exist (without it, $KUBECONFIG or ~/.kube/config is used)`,
            `${cli} config rm kubeconfig --stack ${stack}`,
        );
    }
    return kubeconfig;
}

/** Each chart's repository, exact version and image mirror. */
function readCharts(r: SettingsReader): EnvironmentSettings["charts"] {
    const { str, problem, registryProblem } = r;
    const chart = (key: "fluxOperator" | "kyverno" | "certManager"): ChartSource => {
        const repository = str(`${key}ChartRepo`, chartDefaults[key].repository)!;
        const version = str(`${key}ChartVersion`, chartDefaults[key].version)!;
        if (!chartRepo.test(repository))
            problem(
                `${key}ChartRepo`,
                `"${repository}" is not an https://, http:// or oci:// chart repository URL`,
                chartDefaults[key].repository,
            );
        if (!semver.test(version))
            problem(`${key}ChartVersion`, `"${version}" is not an exact chart version`, chartDefaults[key].version);
        const imageRegistry = str(`${key}ImageRegistry`);
        if (imageRegistry !== undefined) registryProblem(`${key}ImageRegistry`, imageRegistry, chartImagePaths[key]);
        return { repository, version, ...(imageRegistry !== undefined ? { imageRegistry } : {}) };
    };
    const charts = {
        fluxOperator: chart("fluxOperator"),
        kyverno: chart("kyverno"),
        certManager: chart("certManager"),
    };
    return charts;
}

/** The Flux release the operator installs and where its images come from. */
function readFlux(
    r: SettingsReader,
    fluxOperator: ChartSource,
): Pick<EnvironmentSettings, "fluxVersion" | "fluxDistribution"> {
    const { stack, cli, str, problem, problemWith, registryProblem } = r;
    const fluxVersion = str("fluxVersion", fluxVersionDefault)!;
    const newestFlux = embeddedFluxVersions.at(-1)!;
    const pinnedOperator = fluxOperator.version.replace(/^v/, "") === fluxOperatorRelease;
    if (!semver.test(fluxVersion)) {
        problem(
            "fluxVersion",
            `"${fluxVersion}" is not an exact Flux version (the program pins Flux: no ranges such as 2.x)`,
            fluxVersionDefault,
        );
    } else if (pinnedOperator && !embeddedFluxVersions.includes(fluxVersion.replace(/^v/, ""))) {
        // The operator installs only the Flux releases its image embeds. Another operator
        // release embeds others, which this program does not know, so it is not checked.
        problem(
            "fluxVersion",
            `"${fluxVersion}" is not a Flux release that the pinned Flux Operator (fluxOperatorChartVersion ${fluxOperatorRelease}) ` +
                `can install: it embeds Flux ${embeddedFluxVersionsText()}. Pin one of these, or for a newer Flux ` +
                `raise fluxOperatorChartVersion to an operator release that embeds it`,
            newestFlux,
        );
    }

    const fluxRegistry = str("fluxRegistry", fluxRegistryDefault)!;
    registryProblem("fluxRegistry", fluxRegistry, "source-controller");
    const fluxVariant = str("fluxVariant");
    const inferred = registryVariants[fluxRegistry];
    if (fluxVariant !== undefined && !fluxVariants.includes(fluxVariant)) {
        const what = `"${fluxVariant}" is not one of ${fluxVariants.join(", ")} (the kind of Flux images at fluxRegistry)`;
        problemWith("fluxVariant", what, `${cli} config rm fluxVariant --stack ${stack}`);
    } else if (fluxVariant !== undefined && inferred !== undefined && fluxVariant !== inferred) {
        // The operator would pin the digests of the variant's images on another registry's images.
        const what = `is ${fluxVariant}, but fluxRegistry ${fluxRegistry} serves ${inferred} images (the operator knows this registry)`;
        problemWith("fluxVariant", what, `${cli} config rm fluxVariant --stack ${stack}`);
    }
    return {
        fluxVersion,
        fluxDistribution: { registry: fluxRegistry, ...(fluxVariant !== undefined ? { variant: fluxVariant } : {}) },
    };
}

/** Kyverno's replicas, the Secrets it resolves digests with, and the form of the fleet's policies. */
function readKyverno(
    r: SettingsReader,
    environment: string,
): Pick<EnvironmentSettings, "kyvernoReplicas" | "kyvernoRegistrySecrets" | "kyvernoPolicyApi"> {
    const { str, problem } = r;
    const replicasDefault = environmentDefaults[environment]?.kyvernoReplicas ?? kyvernoReplicasFallback;
    const replicasRaw = str("kyvernoReplicas", String(replicasDefault))!;
    const kyvernoReplicas = Number(replicasRaw);
    if (!/^\d+$/.test(replicasRaw) || kyvernoReplicas < 1 || kyvernoReplicas > 15) {
        problem(
            "kyvernoReplicas",
            `"${replicasRaw}" must be a whole number from 1 to 15 (1 without HA, 3 or more for HA)`,
            String(replicasDefault),
        );
    } else if (kyvernoReplicas === 2) {
        // Kyverno supports no fewer than three admission controller replicas for HA.
        problem("kyvernoReplicas", "is 2, which Kyverno does not support: use 1 without HA, or 3 or more for HA", "3");
    }

    // Kyverno resolves tags with its own credentials, never the pods' imagePullSecrets.
    const registrySecretsRaw = str("kyvernoRegistrySecrets", "")!;
    const kyvernoRegistrySecrets = registrySecretsRaw
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n !== "");
    for (const name of kyvernoRegistrySecrets) {
        if (!dnsSubdomain.test(name)) {
            problem(
                "kyvernoRegistrySecrets",
                `names "${name}", which is not a Secret name (a comma-separated list of Secrets in the kyverno namespace)`,
                "regcred",
            );
        }
    }

    const policyApiRaw = str("kyvernoPolicyApi", kyvernoPolicyApiDefault)!;
    const kyvernoPolicyApi = kyvernoPolicyApis.find((a) => a === policyApiRaw) ?? kyvernoPolicyApiDefault;
    if (kyvernoPolicyApi !== policyApiRaw) {
        problem(
            "kyvernoPolicyApi",
            `"${policyApiRaw}" is not one of ${kyvernoPolicyApis.join(", ")} (legacy: the kyverno.io/v1 ClusterPolicies; ` +
                "cel: the policies.kyverno.io/v1 MutatingPolicies)",
            kyvernoPolicyApiDefault,
        );
    }
    return { kyvernoReplicas, kyvernoRegistrySecrets, kyvernoPolicyApi };
}

/** What the stack may do with a GitHub repository: delete it on destroy, adopt one it did not create. */
function readRepositoryChoices(
    r: SettingsReader,
    git: GitSettings | undefined,
): Pick<EnvironmentSettings, "deleteRepositoryOnDestroy" | "adoptExistingRepository"> {
    const { bool, problem } = r;
    const deleteRepositoryOnDestroy = bool("deleteRepositoryOnDestroy", false);
    if (deleteRepositoryOnDestroy && git?.provider === "ssh") {
        problem(
            "deleteRepositoryOnDestroy",
            "only applies to GitHub; the program never deletes a repository on your own Git server",
            "false",
        );
    }

    const adoptExistingRepository = bool("adoptExistingRepository", false);
    if (adoptExistingRepository && git?.provider === "ssh") {
        problem(
            "adoptExistingRepository",
            "only applies to GitHub; on your own Git server the program always uses the repository at gitUrl",
            "false",
        );
    }
    return { deleteRepositoryOnDestroy, adoptExistingRepository };
}

/** What destroy does with cert-manager's CRDs. */
function readCertManagerCrds(r: SettingsReader): EnvironmentSettings["certManagerCrdsOnDestroy"] {
    const { str, problem, fix } = r;
    const crdsMode = str("certManagerCrdsOnDestroy", "delete");
    if (crdsMode !== "delete" && crdsMode !== "keep") {
        problem("certManagerCrdsOnDestroy", `must be delete or keep, not "${crdsMode}"`, "keep");
    }
    return {
        mode: crdsMode === "keep" ? ("keep" as const) : ("delete" as const),
        keepCommand: fix("certManagerCrdsOnDestroy", "keep"),
    };
}

/** The ssh-keyscan command that reads the host keys of an ssh://user@host[:port]/path URL. */
function keyscanCommand(url: string): string | undefined {
    const m = /^ssh:\/\/[^@\s/]+@([^\s/:]+)(?::(\d{1,5}))?\//.exec(url);
    if (!m || !/^[A-Za-z0-9.-]+$/.test(m[1])) return undefined;
    return m[2] && m[2] !== "22" ? `ssh-keyscan -p ${m[2]} ${m[1]}` : `ssh-keyscan ${m[1]}`;
}

export function defaultFleetDir(): string {
    return path.resolve(__dirname, "..", "fleet");
}
