// The REST client both GitHub providers call through, against the local fake:
// a timeout on every call, bounded retries for what GitHub means as "later"
// (5xx, 429, rate-limit 403s), GitHub's own wait honoured, 422 bodies read.
import * as assert from "assert";
import { CurrentCredentials } from "../../components/github/credentials";
import { failure, GitHubRest, RetryPolicy } from "../../components/github/rest";
import { GitHubFake } from "./support/github-fake";
import { rejection } from "./support/rejection";

describe("the GitHub REST client", () => {
    const gh = new GitHubFake();
    let pauses: number[];
    before(() => gh.start());
    after(() => gh.stop());
    beforeEach(() => {
        gh.reset();
        gh.repo("acme-platform/fleet-infra");
        pauses = [];
    });

    /** A client that records its pauses instead of waiting them. */
    const client = (policy: Partial<RetryPolicy> = {}) => {
        const sleep = async (ms: number) => void pauses.push(ms);
        return new GitHubRest(new CurrentCredentials({ GITHUB_TOKEN: gh.validToken }), { sleep, ...policy });
    };
    const get = (rest = client()) => rest.call(gh.url, "GET", "/repos/acme-platform/fleet-infra");
    const call = () => `GET ${gh.url}/repos/acme-platform/fleet-infra`;

    it("gives up on a call GitHub does not answer in time, naming the call", async () => {
        gh.fail({ status: 0, hang: true });
        const started = Date.now();
        const err = await rejection(get(client({ timeoutMs: 300 })));
        assert.ok(err.message.startsWith(`${call()} timed out after 0.3 s`), err.message);
        assert.ok(Date.now() - started < 5_000);
    });

    it("tries a 5xx again with a doubling pause, and returns the answer that follows", async () => {
        gh.fail({ status: 502, json: { message: "Server Error" } }, 2);
        const res = await get(client({ backoffMs: 100 }));
        assert.strictEqual(res.status, 200);
        assert.deepStrictEqual(pauses, [100, 200]);
        assert.strictEqual(gh.calls.length, 3);
    });

    it("waits the retry-after GitHub sends with a 429", async () => {
        gh.fail({ status: 429, json: { message: "Too Many Requests" }, headers: { "retry-after": "7" } });
        assert.strictEqual((await get()).status, 200);
        assert.deepStrictEqual(pauses, [7_000]);
    });

    it("tries a secondary rate limit's 403 again, and until the limit's reset when none is left", async () => {
        gh.fail({
            status: 403,
            json: {
                message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            },
        });
        const reset = String(Math.floor(Date.now() / 1000) + 20);
        gh.fail({
            status: 403,
            json: { message: "API limit exceeded" },
            headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset },
        });
        assert.strictEqual((await get()).status, 200);
        assert.strictEqual(pauses[0], 60_000, "GitHub asks for at least a minute after a secondary rate limit");
        assert.ok(pauses[1] > 15_000 && pauses[1] <= 20_000, `waited ${pauses[1]} ms for the reset`);
    });

    it("does not try a refusal again: a 403 that is no rate limit, a 404, a 422", async () => {
        for (const status of [403, 404, 422]) {
            gh.fail({ status, json: { message: "Must have admin rights to Repository." } });
            assert.strictEqual((await get()).status, status);
        }
        assert.deepStrictEqual(pauses, []);
        assert.strictEqual(gh.calls.length, 3);
    });

    it("stops after its tries, naming the call, the status and GitHub's words", async () => {
        gh.fail({ status: 503, json: { message: "Service Unavailable" } }, 10);
        const err = await rejection(get(client({ attempts: 3, backoffMs: 10 })));
        assert.strictEqual(
            err.message,
            `${call()}: GitHub answered 503: Service Unavailable; gave up after 3 tries and 1 s of waiting. Run the same command again later.`,
        );
        assert.strictEqual(gh.calls.length, 3);
    });

    it("stops at once when GitHub asks for a wait longer than the bound, saying when the limit resets", async () => {
        const reset = Math.floor(Date.now() / 1000) + 3600;
        gh.fail({
            status: 403,
            json: { message: "API rate limit exceeded" },
            headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        });
        const err = await rejection(get());
        assert.match(
            err.message,
            /GitHub rate-limited the token \(403\): API rate limit exceeded; gave up after 1 try: the next would wait 3[56]\d\d s/,
        );
        assert.ok(err.message.includes(`resets at ${new Date(reset * 1000).toISOString()}`), err.message);
        assert.deepStrictEqual(pauses, []);
    });

    it("reads a 422's field errors into the failure", () => {
        const body = {
            message: "Validation Failed",
            errors: [{ resource: "PublicKey", code: "custom", field: "key", message: "key is invalid" }, "plain"],
        };
        const err = failure("registering the key", { status: 422, json: body });
        assert.strictEqual(
            err.message,
            "registering the key: GitHub answered 422: Validation Failed; key: key is invalid; plain",
        );
    });
});
