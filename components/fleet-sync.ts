// FleetSync: commits one environment's slice of the GitOps tree to the fleet
// repository, one commit per `pulumi up` that changes anything.
//
// Why a dynamic provider over git rather than github.RepositoryFile: a
// RepositoryFile is one commit per file and knows nothing of the other files, so
// a tree change lands as a series of half-applied commits. One git push carries
// the whole change atomically, works the same against GitHub (token over HTTPS)
// and any Git server over SSH, and retries when another environment pushed first.
import * as pulumi from "@pulumi/pulumi";
import { FleetFilesProvider, FleetFilesState, GitAccess } from "./fleet-sync/provider";
import { FleetFiles, fleetOwnership } from "./fleet-tree";

export interface FleetSyncArgs {
    environment: string;
    /** The URL the program pushes to (https for GitHub, ssh:// otherwise). */
    pushUrl: pulumi.Input<string>;
    branch: string;
    /** How to push; the provider reads the credential itself at each operation. */
    access: GitAccess;
    files: FleetFiles;
}

class FleetFilesResource extends pulumi.dynamic.Resource {
    declare readonly commit: pulumi.Output<string>;
    declare readonly files: pulumi.Output<Record<string, string>>;
    constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(new FleetFilesProvider(), name, { commit: undefined, ...props }, opts, "gitops-kyverno", "FleetFiles");
    }
}

export class FleetSync extends pulumi.ComponentResource {
    /** The head of the fleet branch after this environment's last sync. */
    readonly commit: pulumi.Output<string>;
    /** Repository paths this environment commits. */
    readonly paths: string[];
    readonly ownedPrefixes: string[];

    constructor(name: string, args: FleetSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops-kyverno:fleet:FleetSync", name, {}, opts);
        const ownership = fleetOwnership(args.environment);
        this.paths = Object.keys(args.files).sort();
        this.ownedPrefixes = ownership.owned;
        const state: { [K in keyof FleetFilesState]: pulumi.Input<FleetFilesState[K]> } = {
            url: args.pushUrl,
            branch: args.branch,
            access: args.access,
            environment: args.environment,
            files: args.files,
            ownedPrefixes: ownership.owned,
            author: { name: "gitops-kyverno", email: "gitops-kyverno@users.noreply.github.com" },
        };
        const files = new FleetFilesResource(`${name}-files`, state, { parent: this });
        this.commit = files.commit;
        this.registerOutputs({ commit: this.commit, paths: this.paths });
    }
}
