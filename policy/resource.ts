// What a rule sees of a resource: plain inputs (unknown values left as the engine's
// marker), the paths the program marked secret, and the stack it belongs to.
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { recordedSecretPaths } from "./secret-inputs";

export interface PackResource {
    type: string;
    name: string;
    /** The stack, from the URN (urn:pulumi:STACK::PROJECT::...). */
    stack: string;
    props: Record<string, unknown>;
    /** Input paths ("stringData.identity") whose values are Pulumi secrets. */
    secretPaths: string[];
}

export interface PackConfig {
    /** Stacks held to production's rules (Kyverno HA). */
    productionStacks: string[];
}

export const defaultConfig: PackConfig = { productionStacks: ["production"] };

export interface Rule {
    name: string;
    description: string;
    enforcementLevel: "mandatory" | "advisory";
    /** One message per violation; none when the resource keeps the rule or the rule is not about it. */
    check(resource: PackResource, config: PackConfig): string[];
}

/** A value the engine does not know yet (preview of a new resource's dependency). */
export function isUnknown(value: unknown): boolean {
    return value === unknownValue;
}

/** The value at a dotted path, or undefined. */
export function at(value: unknown, path: string): unknown {
    let v = value;
    for (const key of path.split(".")) {
        if (v === null || typeof v !== "object") return undefined;
        v = (v as Record<string, unknown>)[key];
    }
    return v;
}

export function stackOfUrn(urn: string): string {
    return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] ?? "";
}

/** The proxies @pulumi/policy wraps props in hand out their target under this key. */
const proxyTarget = "__getSpecialProxyTarget";

/** A PackResource from a validateResource call's arguments. */
export function packResource(args: {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
}): PackResource {
    const raw = (args.props as Record<string, unknown>)[proxyTarget];
    const props = (raw !== undefined ? raw : args.props) as Record<string, unknown>;
    return {
        type: args.type,
        name: args.name,
        stack: stackOfUrn(args.urn),
        props,
        secretPaths: recordedSecretPaths(props),
    };
}
