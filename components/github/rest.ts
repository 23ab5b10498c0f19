// The one client the dynamic providers call GitHub's REST API with. Every call has
// a timeout, and a call GitHub answers with a 5xx, a 429 or a rate-limit 403 is
// tried again after a growing pause (GitHub's own wait when it names one), within
// a bounded number of tries and total wait: a provider that fails on one 502 makes
// a user run `up` again, one that waits without bound hangs it.
//
// The token is read at each try (./credentials.ts), never kept.
// Runs inside Pulumi's dynamic provider process: plain Node, no Pulumi imports.
import type { ConfigReader, CurrentCredentials } from "./credentials";

export interface Answer {
    status: number;
    json: any;
}

export interface RetryPolicy {
    /** Per try, until the whole body has arrived. */
    timeoutMs: number;
    /** Tries per call, the first included. */
    attempts: number;
    /** The pause after a 5xx; doubled before each further try. */
    backoffMs: number;
    /** After a rate limit that names no wait: GitHub asks for at least a minute, then growing. */
    rateLimitPauseMs: number;
    /** The most one call waits between its tries, in all. */
    maxWaitMs: number;
    /** Tests replace it to see the pauses without waiting them. */
    sleep: (ms: number) => Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = {
    timeoutMs: 30_000,
    attempts: 5,
    backoffMs: 1_000,
    rateLimitPauseMs: 60_000,
    maxWaitMs: 120_000,
    sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
};

const defaultHints: Record<number, string> = {
    401: "the token is invalid or expired",
    403: "the token lacks the repo scope (classic token), or Administration write on the repository (fine-grained)",
};

/** One answer's failure, with what GitHub said and, for a 422, each field error it listed. */
export function failure(what: string, res: Answer, hints: Partial<Record<number, string>> = {}): Error {
    const hint = hints[res.status] ?? defaultHints[res.status];
    return new Error(`${what}: GitHub answered ${res.status}${hint ? ` (${hint})` : ""}: ${said(res)}`);
}

/** GitHub's message, then a 422's field errors, which say which input it refused. */
function said(res: Answer): string {
    const message = typeof res.json?.message === "string" ? res.json.message : JSON.stringify(res.json ?? "(no body)");
    const fields = fieldErrors(res.json).map((e) => [e.field, e.message ?? e.code].filter(Boolean).join(": "));
    return [message, ...fields].join("; ");
}

export interface FieldError {
    resource?: string;
    field?: string;
    code?: string;
    message?: string;
}

/** A 422's `errors`: objects, or plain strings in some of GitHub's answers. */
export function fieldErrors(json: any): FieldError[] {
    if (!Array.isArray(json?.errors)) return [];
    return json.errors.map((e: unknown) => (typeof e === "string" ? { message: e } : { ...(e as FieldError) }));
}

const reachHint = "Check that the GitHub API is reachable (proxy, DNS, firewall), then run the same command again.";

export class GitHubRest {
    readonly policy: RetryPolicy;

    constructor(
        private readonly credentials: CurrentCredentials,
        policy: Partial<RetryPolicy> = {},
    ) {
        this.policy = { ...defaultRetryPolicy, ...policy };
    }

    /** From the provider's `configure`: the stack's config, where the token may be. */
    useConfig(config: ConfigReader | undefined): void {
        this.credentials.useConfig(config);
    }

    async call(apiUrl: string, method: string, route: string, body?: unknown): Promise<Answer> {
        const call = `${method} ${apiUrl}${route}`;
        let waited = 0;
        for (let tries = 1; ; tries++) {
            const reply = await this.once(method, `${apiUrl}${route}`, body);
            const why = transient(reply);
            if (!why) return { status: reply.status, json: reply.json };
            const pause = pauseBefore(reply, tries, this.policy);
            if (tries >= this.policy.attempts || waited + pause > this.policy.maxWaitMs) {
                throw gaveUp(`${call}: ${why}: ${said(reply)}`, reply, { tries, waited, pause }, this.policy);
            }
            await this.policy.sleep(pause);
            waited += pause;
        }
    }

    private async once(method: string, url: string, body: unknown): Promise<Reply> {
        const unreached = (err: Error & { cause?: { code?: string; message?: string } }): never => {
            if (err.name === "TimeoutError") {
                const after = `${this.policy.timeoutMs / 1000} s`;
                throw new Error(`${method} ${url} timed out after ${after} without a whole answer. ${reachHint}`);
            }
            // fetch says only "fetch failed"; the reason is in its cause.
            const why = [err.cause?.code, err.cause?.message].filter(Boolean).join(" ") || err.message;
            throw new Error(`${method} ${url} failed: ${why}. ${reachHint}`);
        };
        const headers: Record<string, string> = {
            Accept: "application/vnd.github+json",
            Authorization: `Bearer ${this.credentials.githubToken()}`,
            "X-GitHub-Api-Version": "2022-11-28",
        };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        const signal = AbortSignal.timeout(this.policy.timeoutMs);
        const sent = body === undefined ? undefined : JSON.stringify(body);
        const res = await fetch(url, { method, headers, signal, body: sent }).catch(unreached);
        const text = await res.text().catch(unreached);
        let json: any;
        try {
            json = text ? JSON.parse(text) : undefined;
        } catch {
            json = { message: text.slice(0, 200) };
        }
        const header = (name: string) => res.headers.get(name) ?? undefined;
        const limit = { remaining: header("x-ratelimit-remaining"), reset: header("x-ratelimit-reset") };
        return { status: res.status, json, retryAfter: header("retry-after"), ...limit };
    }
}

/** An answer with what its headers say about waiting, for the retry decision. */
interface Reply extends Answer {
    retryAfter?: string;
    remaining?: string;
    reset?: string;
}

/** Why the answer is worth another try, or undefined. */
function transient(res: Reply): string | undefined {
    if (res.status >= 500) return `GitHub answered ${res.status}`;
    return rateLimited(res) ? `GitHub rate-limited the token (${res.status})` : undefined;
}

/** A 429, or a 403 that GitHub says is a rate limit (primary or secondary) rather than a refusal. */
function rateLimited(res: Reply): boolean {
    if (res.status === 429) return true;
    const says = /rate limit/i.test(String(res.json?.message ?? ""));
    return res.status === 403 && (says || res.retryAfter !== undefined || res.remaining === "0");
}

/** GitHub's own wait when it names one (retry-after, else the limit's reset), else a growing pause. */
function pauseBefore(res: Reply, tries: number, policy: RetryPolicy): number {
    const seconds = Number(res.retryAfter);
    if (res.retryAfter !== undefined && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const reset = resetTime(res);
    if (reset !== undefined) return Math.max(0, reset.getTime() - Date.now());
    return (rateLimited(res) ? policy.rateLimitPauseMs : policy.backoffMs) * 2 ** (tries - 1);
}

/** When the token's exhausted rate limit resets (x-ratelimit-reset, in epoch seconds). */
function resetTime(res: Reply): Date | undefined {
    const reset = Number(res.reset);
    if (res.remaining !== "0" || res.reset === undefined || !Number.isFinite(reset)) return undefined;
    return new Date(reset * 1000);
}

interface Tried {
    tries: number;
    waited: number;
    pause: number;
}

function gaveUp(what: string, res: Reply, at: Tried, policy: RetryPolicy): Error {
    const s = (ms: number) => `${Math.ceil(ms / 1000)} s`;
    const tries = `${at.tries} ${at.tries === 1 ? "try" : "tries"}`;
    const tooLong = `the next would wait ${s(at.pause)}, past the ${s(policy.maxWaitMs)} one call may wait`;
    const used = at.tries >= policy.attempts;
    const stop = used ? `gave up after ${tries} and ${s(at.waited)} of waiting` : `gave up after ${tries}: ${tooLong}`;
    const reset = resetTime(res);
    const resets = reset ? ` The token's rate limit resets at ${reset.toISOString()}.` : "";
    return new Error(`${what}; ${stop}.${resets} Run the same command again later.`);
}
