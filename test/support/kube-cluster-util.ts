// Moved to local-cluster/util.ts.
export * from "../../local-cluster/util";
