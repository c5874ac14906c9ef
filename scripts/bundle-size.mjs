#!/usr/bin/env node
// Measures the browser bundle of the full client (src/web.ts, minified, gzip)
// and fails when it is over budget or pulls in a Node module.
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { root } from "./ensure.mjs";

/** The budget for the full browser client, min+gzip, in bytes (stated in the README). */
export const BUDGET_GZIP_BYTES = 45 * 1024;

export async function measure(entry = "src/web.ts") {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].contents;
  const nodeImports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.filter((x) => x.path.startsWith("node:")).map((x) => x.path));
  return { bytes: code.byteLength, gzipBytes: gzipSync(code, { level: 9 }).byteLength, nodeImports };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { bytes, gzipBytes, nodeImports } = await measure();
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`browser bundle (src/web.ts): ${kb(bytes)} minified, ${kb(gzipBytes)} min+gzip (budget ${kb(BUDGET_GZIP_BYTES)})`);
  if (nodeImports.length > 0) {
    console.error(`the browser bundle imports Node modules: ${[...new Set(nodeImports)].join(", ")}`);
    process.exitCode = 1;
  }
  if (gzipBytes > BUDGET_GZIP_BYTES) {
    console.error("over budget");
    process.exitCode = 1;
  }
}
