// Every rule of the pack, in the order the preview lists them.
import type { Rule } from "../resource";
import { certManagerCrdsKept, repositoryDeletedOnDestroy } from "./advisory";
import { chartVersionsPinned } from "./chart-versions";
import { deployKeyReadOnly } from "./deploy-key";
import { digestPolicyFailsClosed } from "./digest-policy";
import { kyvernoHaInProduction } from "./kyverno-ha";
import { credentialsAreSecrets } from "./secret-credentials";

export const rules: Rule[] = [
    chartVersionsPinned,
    kyvernoHaInProduction,
    deployKeyReadOnly,
    credentialsAreSecrets,
    digestPolicyFailsClosed,
    repositoryDeletedOnDestroy,
    certManagerCrdsKept,
];
