// The policy pack's verdict on one environment, as a Markdown section of the PR
// comment (scripts/pr-comment/comment.sh prints one per environment). Read from the
// text `pulumi preview --policy-pack policy` prints: its "Policies:" block lists each
// violation as "- [mandatory|advisory]  RULE  (TYPE: NAME)", then the rule's
// description and the message.
// CLI: STACK, PREVIEW_OUTPUT and OUTCOME (the preview step's) in the environment; writes
// `section<<EOF ... EOF` to $GITHUB_OUTPUT, or prints the section without it.
import * as fs from "node:fs";

export interface Violation {
    level: "mandatory" | "advisory";
    rule: string;
    resource: string;
    message: string;
}

/** Terminal colour codes, which pulumi prints unless NO_COLOR is set. */
const colorCodes = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** The violations listed in a preview's output; undefined when it has no Policies block (the pack did not report). */
export function policyViolations(output: string): Violation[] | undefined {
    const lines = output.replace(colorCodes, "").split("\n");
    const start = lines.findIndex((l) => /^Policies:\s*$/.test(l));
    if (start < 0) return undefined;
    const found: Violation[] = [];
    for (let i = start + 1; i < lines.length && !/^\S/.test(lines[i]); i++) {
        const m = /^\s+- \[(mandatory|advisory)\]\s+(\S+)\s+\((.*)\)\s*$/.exec(lines[i]);
        if (!m) continue;
        // The description, then the message: the last indented line before the next entry.
        let message = "";
        for (let j = i + 1; j < lines.length && /^\s{6,}\S/.test(lines[j]) && !/^\s+- \[/.test(lines[j]); j++)
            message = lines[j].trim();
        found.push({ level: m[1] as Violation["level"], rule: m[2], resource: m[3], message });
    }
    return found;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/`/g, "'");

/** The Markdown section for one environment. */
export function policyVerdictSection(stack: string, output: string, outcome: string): string {
    const head = `#### Policy pack on \`${stack}\``;
    const violations = policyViolations(output);
    if (violations === undefined) {
        const why =
            outcome === "success"
                ? "the preview printed no policy report"
                : `the preview ended with ${outcome || "no result"} before the pack reported`;
        return `${head}\n:grey_question: No verdict: ${why}. See the preview comment and the job log.\n`;
    }
    const mandatory = violations.filter((v) => v.level === "mandatory");
    const verdict =
        mandatory.length > 0
            ? `:x: **Fails**: ${mandatory.length} mandatory violation(s); \`pulumi up\` of \`${stack}\` would stop.`
            : `:white_check_mark: **Passes**: no mandatory violation${violations.length > 0 ? `, ${violations.length} advisory` : ""}.`;
    const rows = violations.map((v) => `| ${v.level} | \`${v.rule}\` | ${cell(v.resource)} | ${cell(v.message)} |`);
    const table =
        rows.length > 0 ? ["", "| level | rule | resource | message |", "|---|---|---|---|", ...rows].join("\n") : "";
    return `${head}\n${verdict}\n${table}\n`;
}

if (require.main === module) {
    const stack = process.env.STACK ?? "";
    const section = policyVerdictSection(stack, process.env.PREVIEW_OUTPUT ?? "", process.env.OUTCOME ?? "");
    const out = process.env.GITHUB_OUTPUT;
    if (out) fs.appendFileSync(out, `section<<POLICY_VERDICT_EOF\n${section}\nPOLICY_VERDICT_EOF\n`);
    else process.stdout.write(section);
}
