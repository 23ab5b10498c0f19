// fluxVersion against what the pinned Flux Operator can install, and that list
// against the operator build itself.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { chartDefaults, fluxVersionDefault } from "../../stacks/defaults";
import { embeddedFluxVersions, embeddedFluxVersionsText, fluxOperatorRelease } from "../../stacks/flux-operator";
import { settingsProblems as problems } from "./support/settings-problems";
import { existingOrSkip, fluxOperatorDirs } from "./support/tool-files";

describe("the Flux releases the pinned Flux Operator can install", () => {
    it("are those of the operator release the chart default pins, the default Flux among them", () => {
        assert.strictEqual(
            chartDefaults.fluxOperator.version,
            fluxOperatorRelease,
            "stacks/flux-operator.ts describes another operator",
        );
        assert.ok(
            embeddedFluxVersions.includes(fluxVersionDefault),
            `fluxVersion's default ${fluxVersionDefault} is not embedded`,
        );
    });

    it("match the folders of the operator build's config/data/flux", function () {
        const what = `config/data/flux of flux-operator v${fluxOperatorRelease}`;
        const dir = existingOrSkip(
            this,
            fluxOperatorDirs(path.join("data", "flux"), path.join("config", "data", "flux")),
            what,
        );
        const folders = fs
            .readdirSync(dir, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => e.name.replace(/^v/, ""));
        const byVersion = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });
        const listed = [...embeddedFluxVersions].sort(byVersion);
        assert.deepStrictEqual(listed, folders.sort(byVersion), `stacks/flux-operator.ts differs from ${dir}`);
    });

    it("are printed short, consecutive patches as ranges", () => {
        assert.strictEqual(
            embeddedFluxVersionsText(["2.2.3", "2.3.0", "2.8.2", "2.8.3", "2.8.5", "2.9.0", "2.9.1"]),
            "2.2.3, 2.3.0, 2.8.2–2.8.3, 2.8.5, 2.9.0–2.9.1",
        );
    });
});

describe("fluxVersion", () => {
    const fixFlux = /\. Fix: pulumi config set fluxVersion 2\.9\.5 --stack staging$/;

    it("accepts each embedded release, with or without a v", () => {
        for (const v of embeddedFluxVersions) assert.deepStrictEqual(problems({ fluxVersion: v }), [], v);
        assert.deepStrictEqual(problems({ fluxVersion: "v2.9.5" }), []);
    });

    it("refuses a release the operator does not embed, naming what it embeds and both fixes", () => {
        for (const v of ["2.10.0", "3.0.0", "2.8.4", "2.1.0", "2.9.5-rc.1"]) {
            const found = problems({ fluxVersion: v });
            assert.strictEqual(found.length, 1, found.join("\n"));
            const start = `gitops-kyverno:fluxVersion "${v}" is not a Flux release that the pinned Flux Operator`;
            assert.ok(found[0].startsWith(start), found[0]);
            assert.ok(found[0].includes(`(fluxOperatorChartVersion ${fluxOperatorRelease})`), found[0]);
            assert.ok(found[0].includes("it embeds Flux 2.2.3, 2.3.0, 2.4.0, 2.5.0–2.5.1,"), found[0]);
            assert.ok(found[0].includes("2.8.0–2.8.3, 2.8.5–2.8.8, 2.9.0–2.9.5"), found[0]);
            assert.ok(
                found[0].includes("raise fluxOperatorChartVersion to an operator release that embeds it."),
                found[0],
            );
            assert.match(found[0], fixFlux);
        }
    });

    it("refuses a range, which would let Flux move with the operator", () => {
        const found = problems({ fluxVersion: "2.x" });
        assert.strictEqual(found.length, 1, found.join("\n"));
        assert.match(found[0], /fluxVersion "2\.x" is not an exact Flux version /);
        assert.match(found[0], fixFlux);
    });

    it("is not checked against another operator release, whose Flux releases the program does not know", () => {
        assert.deepStrictEqual(problems({ fluxVersion: "2.10.0", fluxOperatorChartVersion: "0.60.0" }), []);
    });
});
