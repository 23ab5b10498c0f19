/// <reference lib="dom" />
// Drives Debian's Chromium through the DevTools protocol (puppeteer-core, no
// browser download) to read Flux's web UI as a person sees it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import puppeteer from "puppeteer-core";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface FluxUiView {
    /** The cluster page's text (where the FluxInstance is shown). */
    instanceText: string;
    /** The apps Kustomization's page text. */
    appsText: string;
    appsReady: boolean;
}

/**
 * Opens the UI's cluster page (until it shows `expectOnClusterPage`) and the apps
 * Kustomization's page (until it shows Ready); screenshots the latter.
 */
export async function openFluxUi(
    url: string,
    screenshot: string,
    expectOnClusterPage: RegExp[] = [],
): Promise<FluxUiView> {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-profile-"));
    const browser = await puppeteer.launch({
        executablePath: chromiumPath,
        headless: true,
        userDataDir: profile,
        // This machine's network is closed: no background calls home.
        args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    });
    try {
        const page = await browser.newPage();
        await page.setViewport({ width: 1400, height: 900 });
        const textOf = () => page.evaluate(() => document.body.innerText);
        const base = url.replace(/\/$/, "");
        // The operator's web server serves a cached report that it rebuilds every 20 s
        // (internal/web/server.go), so a page opened right after "ready" can predate the
        // sync: reload until the page shows everything asked for, or the bound passes.
        const showsAll = async (pageUrl: string, patterns: RegExp[], boundMs: number): Promise<boolean> => {
            const deadline = Date.now() + boundMs;
            const sources = patterns.map((re) => [re.source, re.flags]);
            do {
                await page.goto(pageUrl, { waitUntil: "networkidle0", timeout: 60_000 });
                const shown = await page
                    .waitForFunction(
                        (all: string[][]) =>
                            all.every(([source, flags]) => new RegExp(source, flags).test(document.body.innerText)),
                        { timeout: 10_000 },
                        sources,
                    )
                    .then(() => true)
                    .catch(() => false);
                if (shown) return true;
            } while (Date.now() < deadline);
            return false;
        };
        await showsAll(base, [/flux/i, /Ready|Healthy|Running/i, ...expectOnClusterPage], 90_000);
        const instanceText = await textOf();

        const appsReady = await showsAll(
            `${base}/resource/Kustomization/flux-system/apps`,
            [/\bapps\b/, /Status\s*Ready\b/],
            90_000,
        );
        const appsText = await textOf();
        fs.mkdirSync(path.dirname(screenshot), { recursive: true });
        await page.screenshot({ path: screenshot });
        return { instanceText, appsText, appsReady };
    } finally {
        await browser.close();
        fs.rmSync(profile, { recursive: true, force: true });
    }
}
