// A credential given to a resource as plaintext lands in the state (and in preview
// output) unencrypted. The program passes every one as a Pulumi secret.
import { isUnknown, type PackResource, type Rule } from "../resource";

/** Input names that hold a credential, wherever they are nested. */
const credentialKey = /(token|password|passphrase|private_?key|secret_?key|write_?key|identity)$/i;
const kubernetesSecret = "kubernetes:core/v1:Secret";

/** Paths of non-empty string inputs that hold a credential. */
function credentialPaths(resource: PackResource): string[] {
    const found: string[] = [];
    const walk = (value: unknown, path: string, underSecretData: boolean): void => {
        if (typeof value === "string") {
            const key = path.split(".").pop() ?? "";
            if (value !== "" && !isUnknown(value) && (underSecretData || credentialKey.test(key))) found.push(path);
            return;
        }
        if (value === null || typeof value !== "object") return;
        for (const [k, v] of Object.entries(value)) {
            const p = path === "" ? k : `${path}.${k}`;
            const secretData =
                underSecretData ||
                (resource.type === kubernetesSecret && path === "" && (k === "data" || k === "stringData"));
            walk(v, p, secretData);
        }
    };
    walk(resource.props, "", false);
    return found;
}

function isSecret(path: string, secretPaths: string[]): boolean {
    return secretPaths.some((s) => s === "" || path === s || path.startsWith(`${s}.`));
}

export const credentialsAreSecrets: Rule = {
    name: "credentials-are-secrets",
    description:
        "Every credential input (tokens, passwords, private keys, a Kubernetes Secret's data) is a Pulumi secret.",
    enforcementLevel: "mandatory",
    check(resource) {
        return credentialPaths(resource)
            .filter((p) => !isSecret(p, resource.secretPaths))
            .map(
                (p) =>
                    `${resource.type} ${resource.name}: input ${p} is a plaintext credential: pass it as a secret (pulumi.secret(...), or config set --secret)`,
            );
    },
};
