// Browser e2e plumbing: the test page (built from the package's browser entry),
// a static server for it on its own origin, certificates, and Chromium (the other engines: engines/).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";

const root = join(import.meta.dirname, "..");

/** Bundles e2e/page/entry.ts the way a user's bundler would: `import "etcd-connect"` with the browser condition. */
export async function buildPage(): Promise<string> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["e2e/page/entry.ts"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    // Resolve the package to its browser entry's sources (tsconfig.json's paths would give the Node entry).
    alias: { "etcd-connect": "./src/web.ts" },
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/** Serves the test page on its own origin (`http://localhost:PORT`, distinct from the proxy's 127.0.0.1). */
export async function servePage(script: string): Promise<{ origin: string; close(): Promise<void> }> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><script type="module" src="/bundle.js"></script></head><body>etcd-connect e2e</body></html>`;
  const server: Server = createServer((req, res) => {
    if (req.url === "/bundle.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "content-type": "text/html" }).end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl. */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "etcd-connect-cert-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
    headless: true,
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
}
