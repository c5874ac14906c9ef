// One small interface over the three browser engines the e2e suite runs in, so each behaviour is written once.
// Page-side code crosses as a function's source plus one JSON argument, and comes back as JSON: no closures, no
// bigint (convert to strings in the page).

/** The engines the browser suite runs in. */
export type EngineName = "chromium" | "firefox" | "webkit";

/** One page (tab or window) of a launched browser. */
export interface EnginePage {
  /** Navigates to `url` and waits for its load event. */
  goto(url: string): Promise<void>;
  /**
   * Runs `fn(arg)` in the page, awaits it there, and resolves with its result. `fn` must be self-contained (only its
   * source is sent) and its argument and result JSON-able; a rejection in the page rejects here with its message.
   */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
}

/** A running browser with one page; self-signed certificates are accepted (the TLS proxy's test certificate). */
export interface EngineBrowser {
  readonly name: EngineName;
  readonly page: EnginePage;
  /** Stops the browser and whatever runs it (driver, X server). Idempotent. */
  close(): Promise<void>;
}

/** Starts `name`'s browser with one blank page. Fails (does not skip) when the engine is not installed. */
export async function launchEngine(name: EngineName): Promise<EngineBrowser> {
  switch (name) {
    case "chromium":
      return (await import("./chromium.js")).launch();
    case "firefox":
      return (await import("./firefox.js")).launch();
    case "webkit":
      return (await import("./webkit.js")).launch();
  }
}
