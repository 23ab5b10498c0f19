// The markdown of the pull request's Flux diff section (scripts/pr-comment/flux-diff-section.ts):
// fences no diff can close, and a size limit that holds with any number of diffs.
import { strict as assert } from "node:assert";
import { fenceFor, renderSection } from "../../scripts/pr-comment/flux-diff-section";

describe("flux diff section markdown", () => {
    it("fences with one backtick more than the longest run in the text, at least three", () => {
        assert.equal(fenceFor("plain"), "```");
        assert.equal(fenceFor("a ``` b"), "````");
        assert.equal(fenceFor("x\n``````\ny"), "```````");
    });

    it("stays within maxChars however large the diffs, and says which were truncated", () => {
        const big = Array.from({ length: 5000 }, (_, i) => `line ${i} \`\`\`\``).join("\n");
        const results = ["a", "b", "c"].map((name) => ({
            name,
            path: `./${name}`,
            outcome: { kind: "changed" as const, diff: big },
        }));
        const section = renderSection("staging", results, 10000);
        assert.ok(section.length <= 10000, `${section.length}`);
        assert.equal(section.match(/_Diff truncated to \d+ of \d+ characters/g)?.length, 3);
        assert.equal(
            section.split("\n").filter((l) => l === "`````").length,
            6,
            "each diff opens and closes its own five-backtick fence",
        );
    });

    it("reports an error as an error, never as no change", () => {
        const section = renderSection(
            "staging",
            [{ name: "apps", path: "./apps/staging", outcome: { kind: "error", message: "connection refused" } }],
            5000,
        );
        assert.match(section, /- \*\*apps\*\* \(`\.\/apps\/staging`\): error: flux diff failed/);
        assert.doesNotMatch(section, /no change/);
    });
});
