// Builds the console into static files: index.html, console.css, console.js (one ES module, minified).
//   node --import tsx console/build.ts [--out dist/console] [--endpoints http://proxy:8080[,...]] [--title NAME]
// With --endpoints (or --title) a config.json is written next to them; without, the console talks to its own
// origin (a proxy mounted on the same host).
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const here = import.meta.dirname;
const root = resolve(here, "..");

/** One built file. */
export interface ConsoleFile {
  body: string;
  contentType: string;
}

/** Builds the console in memory: file name -> content. */
export async function buildConsole(): Promise<Map<string, ConsoleFile>> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(here, "src/main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    // `etcd-connect` resolves to its browser entry in this checkout (src/web.ts).
    alias: { "etcd-connect": "./src/web.ts" },
    write: false,
    logLevel: "silent",
    legalComments: "none",
  });
  const files = new Map<string, ConsoleFile>();
  files.set("index.html", { body: readFileSync(join(here, "index.html"), "utf8"), contentType: "text/html; charset=utf-8" });
  files.set("console.css", { body: readFileSync(join(here, "console.css"), "utf8"), contentType: "text/css; charset=utf-8" });
  files.set("console.js", { body: result.outputFiles[0]!.text, contentType: "text/javascript; charset=utf-8" });
  return files;
}

/** Size of the console's script: minified and min+gzip, in bytes. */
export function scriptSize(files: Map<string, ConsoleFile>): { minified: number; gzip: number } {
  const js = files.get("console.js")!.body;
  return { minified: Buffer.byteLength(js), gzip: gzipSync(js, { level: 9 }).length };
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: "string", default: "dist/console" }, endpoints: { type: "string" }, title: { type: "string" } },
  });
  const out = resolve(root, values.out!);
  const files = await buildConsole();
  mkdirSync(out, { recursive: true });
  for (const [name, file] of files) writeFileSync(join(out, name), file.body);
  if (values.endpoints || values.title) {
    const config = { endpoints: values.endpoints?.split(",").map((e) => e.trim()).filter(Boolean), title: values.title };
    writeFileSync(join(out, "config.json"), JSON.stringify(config, null, 2) + "\n");
  }
  const size = scriptSize(files);
  console.log(`console built into ${out}: console.js ${(size.minified / 1024).toFixed(1)} KB minified, ${(size.gzip / 1024).toFixed(1)} KB min+gzip`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(here, "build.ts")) await cli();
