// Moved to local-cluster/git-server.ts: the demo serves its fleet repository with it.
export * from "../../local-cluster/git-server";
