// Firefox (Debian's firefox-esr) through puppeteer-core over WebDriver BiDi: no geckodriver, nothing downloaded.
import puppeteer from "puppeteer-core";
import type { EngineBrowser } from "./index.js";

/** Launches headless Firefox with one page. `FIREFOX_BIN` overrides the binary (default /usr/bin/firefox-esr). */
export async function launch(): Promise<EngineBrowser> {
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: process.env.FIREFOX_BIN ?? "/usr/bin/firefox-esr",
    headless: true,
    acceptInsecureCerts: true,
    timeout: 60000,
  });
  try {
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    return {
      name: "firefox",
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
