// WebKit: Debian's WebKitGTK MiniBrowser driven by WebKitWebDriver (package webkit2gtk-driver) over W3C WebDriver,
// in an Xvfb (package xvfb) of its own. MiniBrowser has no headless mode, and without a display or `--automation`
// its new-session request hangs without an error: every request here has a timeout. WebDriver classic needs only
// four calls (new session, navigate, execute async, delete session), made with fetch.
import { type ChildProcess, spawn } from "node:child_process";
import { pickFreePorts } from "../../scripts/etcd-cluster.mjs";
import type { EngineBrowser, EnginePage } from "./index.js";

const MINIBROWSER = process.env.MINIBROWSER_BIN ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
/** Longest a page-side function may run (the failover test waits up to 15 s in the page). */
const SCRIPT_TIMEOUT_MS = 120000;

/** Starts Xvfb on a display number it picks itself (`-displayfd`), so parallel runs never collide. */
async function startXvfb(): Promise<{ display: string; child: ChildProcess }> {
  const child = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const display = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`Xvfb did not report a display in 10 s: ${stderr}`)), 10000);
    child.once("error", (e) => (clearTimeout(timer), reject(e)));
    child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`Xvfb exited (${code}): ${stderr}`))));
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d) => {
      out += d;
      if (out.includes("\n")) (clearTimeout(timer), resolve(`:${out.trim()}`));
    });
  });
  return { display, child };
}

/** Stops a child by its PID and waits for it to exit. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** One WebDriver request; rejects with the driver's error message, or after `timeoutMs`. */
async function command(base: string, method: string, path: string, body?: unknown, timeoutMs = 60000): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = (await res.json()) as { value: any };
  if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
  return json.value;
}

/** Launches MiniBrowser under a fresh Xvfb and WebKitWebDriver, with one window. */
export async function launch(): Promise<EngineBrowser> {
  let xvfb: ChildProcess | undefined;
  let driver: ChildProcess | undefined;
  let base = "";
  let session: string | undefined;
  // If the test process exits without close() (a crash, process.exit), the driver and X server go with it.
  const onExit = () => {
    for (const child of [driver, xvfb]) if (child?.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", onExit);
  const close = async () => {
    if (session) await command(base, "DELETE", `/session/${session}`, undefined, 15000).catch(() => {});
    session = undefined;
    await stop(driver);
    await stop(xvfb);
    process.off("exit", onExit);
  };
  try {
    const x = await startXvfb();
    xvfb = x.child;
    const [port] = await pickFreePorts(1);
    base = `http://127.0.0.1:${port}`;
    let log = "";
    driver = spawn("WebKitWebDriver", [`--port=${port}`, "--host=127.0.0.1"], {
      env: { ...process.env, DISPLAY: x.display },
      stdio: ["ignore", "pipe", "pipe"],
    });
    driver.stdout!.on("data", (d) => (log += d));
    driver.stderr!.on("data", (d) => (log += d));
    const spawned = new Promise<never>((_, reject) => driver!.once("error", reject));
    // Ready when /status answers.
    const deadline = Date.now() + 15000;
    for (;;) {
      const ready = await Promise.race([command(base, "GET", "/status", undefined, 1000).then((v) => v.ready === true, () => false), spawned]);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not start in 15 s: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = await command(base, "POST", "/session", {
      capabilities: {
        alwaysMatch: {
          browserName: "MiniBrowser",
          acceptInsecureCerts: true,
          timeouts: { script: SCRIPT_TIMEOUT_MS, pageLoad: 60000 },
          "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation"] },
        },
      },
    });
    session = created.sessionId as string;
    const at = `/session/${session}`;
    const page: EnginePage = {
      goto: async (url) => void (await command(base, "POST", `${at}/url`, { url })),
      async evaluate(fn, arg) {
        // The driver wraps the script in a function whose last argument is the callback.
        const script =
          "const done = arguments[arguments.length - 1];" +
          `Promise.resolve().then(() => (${fn.toString()})(arguments[0]))` +
          ".then((value) => done({ value }), (e) => done({ error: `${e}${e && e.stack ? `\\n${e.stack}` : \"\"}` }));";
        const r = await command(base, "POST", `${at}/execute/async`, { script, args: [arg ?? null] }, SCRIPT_TIMEOUT_MS + 10000);
        if (r && typeof r === "object" && "error" in r) throw new Error(`in WebKit: ${r.error}`);
        return r?.value;
      },
    };
    return { name: "webkit", page, close };
  } catch (err) {
    await close();
    throw err;
  }
}
