// Flux only reads the fleet repository: its deploy key must not be able to push, or a
// leaked cluster Secret could rewrite what every environment applies.
import { at, type Rule } from "../resource";

const deployKeyTypes = [
    "pulumi-nodejs:dynamic/gitops-kyverno:GitHubDeployKey",
    "github:index/repositoryDeployKey:RepositoryDeployKey",
];

export const deployKeyReadOnly: Rule = {
    name: "deploy-key-read-only",
    description: "Flux's deploy key is registered read-only.",
    enforcementLevel: "mandatory",
    check({ type, name, props }) {
        if (!deployKeyTypes.includes(type)) return [];
        const readOnly = at(props, "readOnly");
        if (readOnly === true) return [];
        return [
            `deploy key ${name} is registered with readOnly ${String(readOnly)}: Flux's key must be read-only (readOnly: true)`,
        ];
    },
};
