// The browser suite (browser-suite.ts) in WebKit: Debian's WebKitGTK MiniBrowser through WebKitWebDriver, under Xvfb.
import { browserSuite } from "./browser-suite.js";

browserSuite("webkit");
