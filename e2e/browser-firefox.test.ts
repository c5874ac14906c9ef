// The browser suite (browser-suite.ts) in Firefox: Debian's firefox-esr through puppeteer-core over WebDriver BiDi.
import { browserSuite } from "./browser-suite.js";

browserSuite("firefox");
