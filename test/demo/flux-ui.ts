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

/** Opens the UI's cluster page and the apps Kustomization's page; screenshots the latter. */
export async function openFluxUi(url: string, screenshot: string): Promise<FluxUiView> {
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
        await page.goto(url, { waitUntil: "networkidle0", timeout: 60_000 });
        await page
            .waitForFunction(() => /flux/i.test(document.body.innerText) && /Ready|Healthy|Running/i.test(document.body.innerText), { timeout: 60_000 })
            .catch(() => undefined);
        const instanceText = await textOf();

        await page.goto(`${url.replace(/\/$/, "")}/resource/Kustomization/flux-system/apps`, { waitUntil: "networkidle0", timeout: 60_000 });
        const appsReady = await page
            .waitForFunction(() => /\bapps\b/.test(document.body.innerText) && /Status\s*Ready\b/.test(document.body.innerText), { timeout: 60_000 })
            .then(() => true)
            .catch(() => false);
        const appsText = await textOf();
        fs.mkdirSync(path.dirname(screenshot), { recursive: true });
        await page.screenshot({ path: screenshot });
        return { instanceText, appsText, appsReady };
    } finally {
        await browser.close();
        fs.rmSync(profile, { recursive: true, force: true });
    }
}
