// The gitops-kyverno policy pack (PulumiPolicy.yaml): each rule of ./rules as a
// resource policy. Mandatory violations stop `pulumi preview` and `up`; advisory
// ones are listed. Config (--policy-pack-config): productionStacks, default ["production"].
import { PolicyPack, type ResourceValidationPolicy } from "@pulumi/policy";
import { defaultConfig, packResource, type PackConfig, type Rule } from "./resource";
import { rules } from "./rules";
import { recordSecretPaths } from "./secret-inputs";

recordSecretPaths();

const configSchema = {
    properties: {
        productionStacks: {
            type: "array" as const,
            items: { type: "string" as const },
            default: defaultConfig.productionStacks,
        },
    },
};

function policyOf(rule: Rule): ResourceValidationPolicy {
    return {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        configSchema,
        validateResource: (args, reportViolation) => {
            const config = { ...defaultConfig, ...args.getConfig<Partial<PackConfig>>() };
            for (const message of rule.check(packResource(args), config)) reportViolation(message);
        },
    };
}

new PolicyPack("gitops-kyverno", { policies: rules.map(policyOf) });
