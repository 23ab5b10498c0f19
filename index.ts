// Entry point: read and check this stack's settings, then compose the environment.
// First of all: stop unless the program type-checks (Pulumi runs it transpile-only).
import "./boot/type-checked";
import * as pulumi from "@pulumi/pulumi";
import { GitOpsEnvironment } from "./components/gitops-environment";
import { loadSettings } from "./stacks/settings";

const settings = loadSettings(pulumi.getStack());
const env = new GitOpsEnvironment(settings.environment, { settings });

export const environment = settings.environment;
export const repositoryUrl = env.repository.webUrl;
export const repositoryCloneUrl = env.repository.fluxUrl;
export const deployKeyFingerprint = env.deployKey.fingerprint;
/** Register this read-only on your Git server when gitProvider is ssh (GitHub gets it automatically). */
export const deployKeyPublic = env.deployKey.publicKey;
export const fleetCommit = env.fleet.commit;
export const fleetPaths = env.fleet.paths;
export const fluxUiCommand = env.flux.uiCommand;
/** Prints a kubeconfig for the identity PR previews run as (dry runs only), with a token that expires. */
export const previewKubeconfigCommand = env.previewAccess.kubeconfigCommand;
