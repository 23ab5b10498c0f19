// Renders the outcome of `flux diff kustomization` for one environment as a
// markdown section of the pull-request comment. Pure: no cluster, no files.

export type DiffOutcome =
    { kind: "unchanged" } | { kind: "changed"; diff: string } | { kind: "error"; message: string };

export interface KustomizationDiff {
    name: string;
    /** spec.path of the Kustomization, relative to the tree's root. */
    path: string;
    outcome: DiffOutcome;
}

/**
 * A code fence longer than any run of backticks in `text` (at least three), so
 * nothing inside can close it early.
 */
export function fenceFor(text: string): string {
    const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
    return "`".repeat(Math.max(3, longest + 1));
}

/** `text` fenced as a code block; a fence line inside cannot end it. */
export function fenced(text: string, info = ""): string {
    const fence = fenceFor(text);
    const body = text.endsWith("\n") ? text : `${text}\n`;
    return `${fence}${info}\n${body}${fence}\n`;
}

/** At most `max` characters of `text`, cut at a line end when one is near, and whether it was cut. */
export function truncate(text: string, max: number): { text: string; cut: boolean } {
    if (text.length <= max) return { text, cut: false };
    const head = text.slice(0, Math.max(0, max));
    const lineEnd = head.lastIndexOf("\n");
    return { text: lineEnd > max / 2 ? head.slice(0, lineEnd + 1) : head, cut: true };
}

// Room per Kustomization for everything but its diff: the bullet, the fences and the notes.
const ITEM_OVERHEAD = 600;
const HEADER_ROOM = 600;

/**
 * The section for `environment`, at most `maxChars` characters long: each
 * diff gets an equal share of the room and says so when it was shortened.
 */
export function renderSection(environment: string, results: KustomizationDiff[], maxChars: number): string {
    const lines = [
        `#### What Flux would change in ${environment}`,
        `\`flux diff kustomization\` of this merge's tree against the live ${environment} cluster: a server-side dry run, so Kyverno's mutations are included (a tag change shows as the digest Kyverno pins).`,
        "",
    ];
    if (results.length === 0) lines.push(`No Flux Kustomization is defined in \`clusters/${environment}/\`.`);
    const share = Math.floor((maxChars - HEADER_ROOM) / Math.max(1, results.length)) - ITEM_OVERHEAD;
    if (share < 100) throw new Error(`maxChars ${maxChars} leaves no room for ${results.length} diffs; allow more`);
    for (const r of results) {
        const what = `**${r.name}** (\`${r.path}\`)`;
        if (r.outcome.kind === "unchanged") {
            lines.push(`- ${what}: no change`);
        } else if (r.outcome.kind === "changed") {
            const { text, cut } = truncate(r.outcome.diff, share);
            lines.push(`- ${what}: changes`, "", fenced(text));
            if (cut)
                lines.push(
                    `_Diff truncated to ${text.length} of ${r.outcome.diff.length} characters to fit GitHub's comment limit; run \`flux diff kustomization ${r.name} --path <tree>/${r.path.replace(/^\.\//, "")}\` for all of it._`,
                    "",
                );
        } else {
            const { text, cut } = truncate(r.outcome.message, Math.min(share, 4000));
            lines.push(
                `- ${what}: error: flux diff failed, so this is not a diff`,
                "",
                fenced(text + (cut ? "\n[message truncated]" : "")),
            );
        }
    }
    const section = `${lines.join("\n").replace(/\n+$/, "")}\n`;
    if (section.length > maxChars)
        throw new Error(`the ${environment} section is ${section.length} characters, over ${maxChars}`);
    return section;
}
