// The deploy key provider's contract with GitHub's REST API, against the local
// fake: a read-only key registered with the token read at each operation, an
// identical key adopted, drift seen, and destroy with whatever token is current.
import * as assert from "assert";
import { CurrentCredentials } from "../../components/github/credentials";
import { GitHubDeployKeyProvider, GitHubDeployKeyState } from "../../components/github/deploy-key-provider";
import { GitHubFake, unprocessable, writes } from "./support/github-fake";
import { rejection } from "./support/rejection";

const publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFluxStagingKey";

describe("the GitHub deploy key provider", () => {
    const gh = new GitHubFake();
    before(() => gh.start());
    after(() => gh.stop());
    beforeEach(() => {
        gh.reset();
        gh.repo("acme-platform/fleet-infra");
    });

    /** A provider as the engine runs it: configured with the stack's config, the environment left empty. */
    const provider = (config: Record<string, string> = { "github:token": gh.validToken }) => {
        const p = new GitHubDeployKeyProvider(new CurrentCredentials({}), { backoffMs: 1 });
        void p.configure({ config: { get: (k: string) => config[k], require: (k: string) => config[k] } });
        return p;
    };

    const inputs = (extra: Partial<GitHubDeployKeyState> = {}): GitHubDeployKeyState => ({
        owner: "acme-platform",
        repository: "fleet-infra",
        title: "flux-staging",
        // As tls.PrivateKey gives it: with a trailing newline, and GitHub drops any comment.
        key: `${publicKey}\n`,
        readOnly: true,
        apiUrl: gh.url,
        ...extra,
    });
    const keys = () => gh.repos.get("acme-platform/fleet-infra")!.keys;

    it("registers a read-only key titled for the environment, and keeps no token", async () => {
        const { id, outs } = await provider().create(inputs());
        assert.deepStrictEqual(keys(), [{ id: Number(id), key: publicKey, title: "flux-staging", read_only: true }]);
        assert.deepStrictEqual(writes(gh.calls), ["POST /repos/acme-platform/fleet-infra/keys"]);
        assert.strictEqual(gh.calls[0].auth, `Bearer ${gh.validToken}`);
        assert.deepStrictEqual(outs, { ...inputs(), adopted: false });
        assert.ok(!JSON.stringify(outs).includes(gh.validToken));
    });

    it("adopts the same key already registered on the repository instead of failing on GitHub's 422", async () => {
        keys().push({ id: 41, key: publicKey, title: "flux-staging", read_only: true });
        const { id, outs } = await provider().create(inputs({ key: `${publicKey} flux@staging\n` }));
        assert.strictEqual(id, "41");
        assert.strictEqual(outs.adopted, true);
        assert.strictEqual(keys().length, 1);
    });

    it("refuses the same key when it is registered with write access, naming it", async () => {
        keys().push({ id: 42, key: publicKey, title: "someone's", read_only: false });
        const err = await rejection(provider().create(inputs()));
        assert.match(
            err.message,
            /acme-platform\/fleet-infra has this key already, with write access \(deploy key 42, "someone's"\)/,
        );
    });

    it("reports a key in use elsewhere on GitHub, and any other 422, with GitHub's answer", async () => {
        gh.repo("acme-platform/other").keys.push({ id: 7, key: publicKey, title: "other", read_only: true });
        const inUse = await rejection(provider().create(inputs()));
        assert.match(
            inUse.message,
            /GitHub answered 422 \(a key is unique on GitHub, and this one is on another .*: Validation Failed; key: key is already in use/,
        );
        const invalid = await rejection(provider().create(inputs({ key: "not a key" })));
        const said = unprocessable.keyInvalid.errors[0].message;
        assert.strictEqual(
            invalid.message,
            `registering the deploy key flux-staging on acme-platform/fleet-infra: GitHub answered 422: Validation Failed; key: ${said}`,
        );
        assert.strictEqual(keys().length, 0);
    });

    it("sees a key deleted on GitHub as gone, and one retitled by hand as drift that replaces it", async () => {
        const p = provider();
        const { id, outs } = await p.create(inputs());
        keys()[0].title = "renamed";
        const read = await p.read(id, outs);
        assert.strictEqual(read.props.title, "renamed");
        const diff = await p.diff(id, read.props, inputs());
        assert.deepStrictEqual(diff, { changes: true, replaces: ["title"], deleteBeforeReplace: true });
        keys().length = 0;
        assert.deepStrictEqual(await p.read(id, outs), { id: "", props: {} });
    });

    it("replaces a changed key by registering the new one before the old one goes, and changes nothing for the same key", async () => {
        const p = provider();
        const rotated = await p.diff("1", inputs(), inputs({ key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINewKey\n" }));
        assert.deepStrictEqual(rotated, { changes: true, replaces: ["key"], deleteBeforeReplace: false });
        assert.strictEqual((await p.diff("1", inputs({ key: publicKey }), inputs())).changes, false);
    });

    it("deletes the key on destroy with only the token in use now, and a key gone already is no error", async () => {
        const { id, outs } = await provider({ "github:token": "ghp_local_test" }).create(inputs());
        gh.validToken = "ghp_rotated"; // the old token is revoked
        gh.calls = [];
        await provider({ "github:token": "ghp_rotated" }).delete(id, outs);
        assert.deepStrictEqual(keys(), []);
        assert.deepStrictEqual(
            gh.calls.map((c) => c.auth),
            ["Bearer ghp_rotated"],
        );
        await provider({ "github:token": "ghp_rotated" }).delete(id, outs);
    });

    it("calls GitHub through the retrying client: a 502 on registering is tried again", async () => {
        gh.fail({ status: 502, json: { message: "Server Error" } });
        assert.strictEqual((await provider().create(inputs())).outs.adopted, false);
        assert.deepStrictEqual(writes(gh.calls), Array(2).fill("POST /repos/acme-platform/fleet-infra/keys"));
    });
});
