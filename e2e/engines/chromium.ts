// Chromium through Playwright (Debian's /usr/bin/chromium, see launchChromium in ../harness.ts).
import { launchChromium } from "../harness.js";
import type { EngineBrowser } from "./index.js";

/** Launches headless Chromium with one page. */
export async function launch(): Promise<EngineBrowser> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    return {
      name: "chromium",
      page: {
        goto: async (url) => void (await page.goto(url)),
        evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
      },
      close: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
