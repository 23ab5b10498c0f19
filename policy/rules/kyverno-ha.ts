// Production runs Kyverno's admission controller highly available: its webhooks fail
// closed, so with one replica a restart or a lost node stops every dev-team Deployment.
import { at, isUnknown, type Rule } from "../resource";

export const kyvernoHaInProduction: Rule = {
    name: "kyverno-ha-in-production",
    description: "On a production stack the Kyverno release runs 3 or more admission controller replicas.",
    enforcementLevel: "mandatory",
    check({ type, name, stack, props }, config) {
        if (type !== "kubernetes:helm.sh/v3:Release" || !config.productionStacks.includes(stack)) return [];
        const chart = at(props, "chart");
        if (typeof chart !== "string" || chart.split("/").pop() !== "kyverno") return [];
        const replicas = at(props, "values.admissionController.replicas");
        if (isUnknown(replicas)) return [];
        if (typeof replicas === "number" && replicas >= 3) return [];
        const got = replicas === undefined ? "the chart's default of 1" : String(replicas);
        return [
            `Kyverno release ${name} on production stack ${stack} runs ${got} admission controller replica(s): ` +
                `Kyverno is HA with 3 or more (pulumi config set kyvernoReplicas 3 --stack ${stack})`,
        ];
    },
};
