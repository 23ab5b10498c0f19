// Moved to local-cluster/helm-repo.ts.
export * from "../../local-cluster/helm-repo";
