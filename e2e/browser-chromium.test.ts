// The browser suite (browser-suite.ts) in Chromium: Debian's chromium through Playwright.
import { browserSuite } from "./browser-suite.js";

browserSuite("chromium");
