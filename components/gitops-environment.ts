// GitOpsEnvironment: one environment from nothing to a cluster that Flux keeps in
// sync with the fleet repository while Kyverno mutates what it admits.
//
// Order: repository -> deploy key -> the tree commit; Kyverno and cert-manager;
// and the FluxInstance only after the key is registered, the tree is committed and
// Kyverno is admitting, so the policies exist before the apps they mutate.
// Nothing touches the cluster before the repository is created or adopted: a
// refused adoption (someone else's repository) must leave the cluster as it was.
// On an SSH Git server, nor before the deploy key is shown to read the
// repository: a key nobody authorized yet fails the first `up` within seconds,
// with the key to authorize, instead of Flux waiting minutes on its source.
// Destroy runs the same graph backwards: Flux's sync goes first, while its
// operator and Kyverno still run.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CertManager } from "./cert-manager";
import { DeployKey, type SuppliedDeployKey } from "./deploy-key";
import { DeployKeyAccess } from "./deploy-key-access";
import { ExistingInstalls, stackNamespaceLabels } from "./existing-installs";
import { stackLabelValue } from "./existing-installs/rules";
import { Flux } from "./flux";
import { FleetRepository, type GitSettings } from "./fleet-repository";
import { FleetSync } from "./fleet-sync";
import { renderFleetTree, type KyvernoPolicyApi } from "./fleet-tree";
import type { ChartSource } from "./helm-source";
import { Kyverno } from "./kyverno";
import { PreviewAccess } from "./preview-access";

export interface EnvironmentSettings {
    /** The environment: names `clusters/<env>` and `apps/<env>`. */
    environment: string;
    git: GitSettings;
    /** The deploy key to use; when absent the program generates one. */
    deployKey?: SuppliedDeployKey;
    /** Delete the shared fleet repository when this stack is destroyed (GitHub only). */
    deleteRepositoryOnDestroy: boolean;
    /** Adopt an existing GitHub repository that this program did not create (GitHub only). */
    adoptExistingRepository: boolean;
    kubeconfig?: string;
    kubeContext?: string;
    charts: { fluxOperator: ChartSource; kyverno: ChartSource; certManager: ChartSource };
    fluxVersion: string;
    /** The FluxInstance's spec.distribution.registry and, when set, its variant. */
    fluxDistribution: { registry: string; variant?: string };
    kyvernoReplicas: number;
    /** docker-registry Secrets in the kyverno namespace that Kyverno uses to resolve image digests. */
    kyvernoRegistrySecrets: string[];
    /** Which form of the fleet's Kyverno policies this environment applies (components/fleet-tree.ts). */
    kyvernoPolicyApi: KyvernoPolicyApi;
    /** What destroy does with cert-manager's CRDs, and with them every cert-manager object on the cluster. */
    certManagerCrdsOnDestroy: { mode: "delete" | "keep"; keepCommand: string };
    /** The fleet tree in this checkout (`apps/`, `infrastructure/`). */
    fleetDir: string;
    /** The command that runs `up` on this stack, printed in errors that ask the user to re-run it. */
    upCommand: string;
}

export interface GitOpsEnvironmentArgs {
    settings: EnvironmentSettings;
}

export class GitOpsEnvironment extends pulumi.ComponentResource {
    /** The check that the cluster holds no Kyverno, cert-manager or Flux of someone else's; first of all. */
    readonly existingInstalls: ExistingInstalls;
    readonly repository: FleetRepository;
    readonly deployKey: DeployKey;
    /** The check that the deploy key reads the repository (SSH Git servers only). */
    readonly deployKeyAccess?: DeployKeyAccess;
    readonly fleet: FleetSync;
    readonly kyverno: Kyverno;
    readonly certManager: CertManager;
    readonly flux: Flux;
    /** The identity pull-request previews run as: it may dry-run, never write. */
    readonly previewAccess: PreviewAccess;

    constructor(name: string, args: GitOpsEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:index:GitOpsEnvironment", name, {}, opts);
        const s = args.settings;
        const env = s.environment;

        const kubernetes = new k8s.Provider(
            `${name}-kubernetes`,
            { kubeconfig: s.kubeconfig, context: s.kubeContext },
            { parent: this },
        );
        const cluster = { kubeconfig: s.kubeconfig, context: s.kubeContext };

        // Before anything is created anywhere: a cluster with someone else's install is left as it was.
        const stackLabel = stackLabelValue(pulumi.getProject(), pulumi.getStack());
        const namespaceLabels = stackNamespaceLabels(stackLabel);
        this.existingInstalls = new ExistingInstalls(
            "existing-installs",
            { stack: pulumi.getStack(), stackLabel, kubeconfig: s.kubeconfig, kubeContext: s.kubeContext },
            { parent: this },
        );

        this.repository = new FleetRepository(
            "fleet",
            {
                git: s.git,
                environment: env,
                deleteOnDestroy: s.deleteRepositoryOnDestroy,
                adoptExisting: s.adoptExistingRepository,
            },
            { parent: this, dependsOn: [this.existingInstalls] },
        );

        // On GitHub the key is registered through the REST API with the token read at each operation, never stored.
        const github =
            s.git.provider === "github" ? { owner: s.git.owner, repository: this.repository.githubName! } : undefined;
        // After the repository (and so after the check), on GitHub as on a Git server.
        this.deployKey = new DeployKey(
            `flux-${env}`,
            { environment: env, github, supplied: s.deployKey },
            { parent: this, dependsOn: [this.repository] },
        );
        // Not on GitHub: the program registers the key there itself, and the check
        // would need outbound SSH to github.com, which many CI networks block.
        if (s.git.provider === "ssh") {
            const stack = pulumi.getStack();
            this.deployKeyAccess = new DeployKeyAccess(
                `flux-${env}-read-access`,
                {
                    url: this.repository.fluxUrl,
                    knownHosts: this.repository.knownHosts,
                    deployKey: this.deployKey,
                    stack,
                    upCommand: s.upCommand,
                },
                { parent: this, dependsOn: [this.deployKey] },
            );
        }
        const clusterAfter = [this.repository, ...(this.deployKeyAccess ? [this.deployKeyAccess] : [])];

        this.fleet = new FleetSync(
            `fleet-${env}`,
            {
                environment: env,
                pushUrl: this.repository.pushUrl,
                branch: s.git.branch,
                access: this.repository.pushAccess,
                files: renderFleetTree(s.fleetDir, env, s.kyvernoPolicyApi),
            },
            { parent: this, dependsOn: [this.repository] },
        );

        this.kyverno = new Kyverno(
            "kyverno",
            {
                chart: s.charts.kyverno,
                replicas: s.kyvernoReplicas,
                registrySecrets: s.kyvernoRegistrySecrets,
                namespaceLabels,
                cluster,
            },
            { parent: this, provider: kubernetes, dependsOn: clusterAfter },
        );
        this.certManager = new CertManager(
            "cert-manager",
            {
                chart: s.charts.certManager,
                kubernetes,
                namespaceLabels,
                crdsOnDestroy: s.certManagerCrdsOnDestroy,
                cluster,
            },
            { parent: this, provider: kubernetes, dependsOn: clusterAfter },
        );

        this.flux = new Flux(
            "flux",
            {
                environment: env,
                chart: s.charts.fluxOperator,
                version: s.fluxVersion,
                distribution: s.fluxDistribution,
                url: this.repository.fluxUrl,
                branch: s.git.branch,
                deployKey: this.deployKey,
                knownHosts: this.repository.knownHosts,
                commit: this.fleet.commit,
                syncAfter: [this.deployKey, this.fleet, this.kyverno],
                namespaceLabels,
            },
            { parent: this, provider: kubernetes, dependsOn: clusterAfter },
        );

        // Independent of Kyverno and cert-manager: the API server itself enforces its policy.
        const previewOpts = { parent: this, provider: kubernetes, dependsOn: clusterAfter };
        this.previewAccess = new PreviewAccess("preview-access", { stack: pulumi.getStack() }, previewOpts);

        this.registerOutputs({
            repositoryUrl: this.repository.webUrl,
            fleetCommit: this.fleet.commit,
            deployKeyFingerprint: this.deployKey.fingerprint,
        });
    }
}
