// Which inputs of a resource the program marked secret. The engine sends secrets to
// the pack marked as such, but @pulumi/policy 1.21.0 (pinned) unwraps them before a
// validateResource sees them, so a rule could not tell a secret from plaintext. This
// wraps that unwrapping (the module's own deserializeProperties, which its server calls
// through the module object) to record the secret paths on the props it returns.
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

const deserialize = require("@pulumi/policy/deserialize") as {
    deserializeProperties: (
        struct: { toJavaScript(): Record<string, unknown> },
        proxySecrets: boolean,
    ) => Record<string, unknown>;
};

/** Where the secret paths hang on deserialized props; a symbol, so no rule sees it as an input. */
export const secretPathsKey = Symbol.for("gitops-kyverno.policy.secretPaths");

/** "a.b.0.c" for every value under `value` that is marked secret. */
export function secretPathsIn(value: unknown, prefix = ""): string[] {
    if (value === null || typeof value !== "object") return [];
    const obj = value as Record<string, unknown>;
    if (obj[specialSigKey] === specialSecretSig) return [prefix];
    const join = (k: string) => (prefix === "" ? k : `${prefix}.${k}`);
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(obj);
    return entries.flatMap(([k, v]) => secretPathsIn(v, join(k)));
}

let installed = false;
/** Makes every props object the pack's server builds carry its secret paths. */
export function recordSecretPaths(): void {
    if (installed) return;
    installed = true;
    const original = deserialize.deserializeProperties;
    deserialize.deserializeProperties = (struct, proxySecrets) => {
        const props = original(struct, proxySecrets);
        if (!proxySecrets) {
            Object.defineProperty(props, secretPathsKey, {
                value: secretPathsIn(struct.toJavaScript()),
                enumerable: false,
            });
        }
        return props;
    };
}

/** The secret paths recorded on props (through the pack's unknown-checking proxy), or none. */
export function recordedSecretPaths(props: Record<string | symbol, unknown>): string[] {
    const paths = props[secretPathsKey];
    return Array.isArray(paths) ? [...(paths as string[])] : [];
}
