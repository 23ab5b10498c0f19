// The problems loadSettings() finds in a GitHub stack's settings (owner and token given).
import * as assert from "assert";
import { ConfigSource, loadSettings, SettingsError } from "../../../stacks/settings";

export function settingsProblems(values: Record<string, string>, stack = "staging"): string[] {
    const config: Record<string, string> = { githubOwner: "acme-platform", ...values };
    const source: ConfigSource = {
        get: (k) => config[k],
        isSecret: () => false,
        env: (n) => (n === "GITHUB_TOKEN" ? "ghp_test" : undefined),
    };
    try {
        loadSettings(stack, source);
    } catch (err) {
        assert.ok(err instanceof SettingsError, String(err));
        return err.problems;
    }
    return [];
}

/** The one problem of `key` among `found`. */
export function problemOf(found: string[], key: string): string {
    const named = found.filter((p) => p.startsWith(`gitops-kyverno:${key} `));
    assert.strictEqual(named.length, 1, `expected one problem of ${key}:\n${found.join("\n")}`);
    return named[0];
}
