// Every Helm chart the program installs comes at an exact version: a range, a missing
// version (the repository's newest) or a tag would change what an unchanged stack installs.
// The pack sees a Release's inputs after the kubernetes provider's check, which replaces a
// range or a missing version with the exact version it resolved (provider 4.25.0): the rule
// then sees that version, and stacks/settings.ts's check of the ...ChartVersion settings is
// what refuses a range first. Components (the cert-manager one, helm v4 Chart) reach the
// pack without their inputs, so their child Release is what is checked.
import { at, isUnknown, type Rule } from "../resource";

/** semver 2, with Helm's optional leading v; no ranges, wildcards or build-less shorthands. */
const exactVersion = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Where each chart-installing type keeps its chart and version. */
const chartInputs: Record<string, { chart: string; version: string }> = {
    "kubernetes:helm.sh/v3:Release": { chart: "chart", version: "version" },
    "kubernetes:helm.sh/v3:Chart": { chart: "chart", version: "version" },
};

export const chartVersionsPinned: Rule = {
    name: "chart-versions-pinned",
    description:
        "Every Helm release or chart names an exact chart version (x.y.z), so an unchanged stack installs the same chart.",
    enforcementLevel: "mandatory",
    check({ type, name, props }) {
        const inputs = chartInputs[type];
        if (!inputs) return [];
        const version = at(props, inputs.version);
        if (isUnknown(version)) return [];
        const chart = String(at(props, inputs.chart) ?? name);
        if (typeof version === "string" && exactVersion.test(version)) return [];
        const got =
            version === undefined || version === ""
                ? "no version (the repository's newest at each install)"
                : `version "${String(version)}"`;
        return [
            `chart ${chart} of ${name} has ${got}: pin an exact version (stacks/defaults.ts, or the stack's ...ChartVersion setting)`,
        ];
    },
};
