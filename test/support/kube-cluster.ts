// Moved to local-cluster/: the local control plane is part of the product.
export * from "../../local-cluster/control-plane";
