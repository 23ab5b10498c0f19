// Moved to local-cluster/certs.ts.
export * from "../../local-cluster/certs";
