// Builds the console into static files: index.html, console.css, console.js (one ES module, minified).
//   node --import tsx console/build.ts [--out dist/console] [--endpoints http://proxy:8080[,...]] [--title NAME]
// With --endpoints (or --title) a config.json is written next to them; without, the console talks to its own
// origin (a proxy mounted on the same host).
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const here = import.meta.dirname;
const root = resolve(here, "..");

/** One built file. */
export interface ConsoleFile {
  body: string;
  contentType: string;
  /** A script the page loads only when first needed (the editor's chunks), not at start. */
  lazy?: boolean;
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
    // Dynamic imports (the editor: CodeMirror and `yaml`) become chunks the page loads when first needed.
    splitting: true,
    outdir: "/console",
    entryNames: "console",
    chunkNames: "chunks/[name]-[hash]",
    write: false,
    logLevel: "silent",
    legalComments: "none",
    metafile: true,
  });
  // What loads at start: console.js and the chunks it imports statically, transitively (esbuild's import graph).
  const outputs = result.metafile.outputs;
  const atStart = new Set<string>();
  const visit = (path: string) => {
    if (atStart.has(path)) return;
    atStart.add(path);
    for (const i of outputs[path]!.imports) if (i.kind === "import-statement") visit(i.path);
  };
  visit(Object.keys(outputs).find((p) => p.endsWith("/console.js"))!);
  const files = new Map<string, ConsoleFile>();
  files.set("index.html", { body: readFileSync(join(here, "index.html"), "utf8"), contentType: "text/html; charset=utf-8" });
  files.set("console.css", { body: readFileSync(join(here, "console.css"), "utf8"), contentType: "text/css; charset=utf-8" });
  for (const out of result.outputFiles) {
    const name = out.path.slice("/console/".length);
    const lazy = ![...atStart].some((p) => p.endsWith(`/console/${name}`));
    files.set(name, { body: out.text, contentType: "text/javascript; charset=utf-8", lazy });
  }
  return files;
}

/** Sizes of the console's scripts in bytes, minified and min+gzip. */
export interface ScriptSize {
  /** What the page loads at start: console.js and the chunks it imports statically. */
  minified: number;
  gzip: number;
  /** The editor's chunks (CodeMirror, `yaml`), loaded when an editor first opens. */
  lazyMinified: number;
  lazyGzip: number;
}

/** Size of the console's scripts: what loads at start, and what loads lazily. */
export function scriptSize(files: Map<string, ConsoleFile>): ScriptSize {
  const size = { minified: 0, gzip: 0, lazyMinified: 0, lazyGzip: 0 };
  for (const [name, file] of files) {
    if (!name.endsWith(".js")) continue;
    const minified = Buffer.byteLength(file.body);
    const gzip = gzipSync(file.body, { level: 9 }).length;
    if (file.lazy) {
      size.lazyMinified += minified;
      size.lazyGzip += gzip;
    } else {
      size.minified += minified;
      size.gzip += gzip;
    }
  }
  return size;
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: "string", default: "dist/console" }, endpoints: { type: "string" }, title: { type: "string" } },
  });
  const out = resolve(root, values.out!);
  const files = await buildConsole();
  mkdirSync(out, { recursive: true });
  for (const [name, file] of files) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), file.body);
  }
  if (values.endpoints || values.title) {
    const config = { endpoints: values.endpoints?.split(",").map((e) => e.trim()).filter(Boolean), title: values.title };
    writeFileSync(join(out, "config.json"), JSON.stringify(config, null, 2) + "\n");
  }
  const size = scriptSize(files);
  console.log(`console built into ${out}: ${(size.gzip / 1024).toFixed(1)} KB min+gzip at start (${(size.minified / 1024).toFixed(1)} KB minified), editor ${(size.lazyGzip / 1024).toFixed(1)} KB min+gzip loaded when first opened`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(here, "build.ts")) await cli();
