/**
 * Builds the packages a user installs outside this repository — `@tessera/client` (the SDK and
 * the `tessera` bin), `@tessera/agent` (the `tessera-agent` bin and its library) and the two
 * they depend on, `@tessera/core` and `@tessera/task` — as JavaScript for Node >= 20 with type
 * declarations, and packs each with `npm pack`:
 *
 *   node scripts/pack-packages.ts --out dist/packages
 *
 * prints one JSON line: the tarballs, to `npm install` together in another project.
 *
 * Why a staged copy: inside the repository every package's `exports` point at its TypeScript
 * source, which Node 24 runs by type stripping (tests, `npm start` and benches need no build).
 * A published package must ship JavaScript and .d.ts instead, so each one is built into
 * `<out>/<name>/` with its own package.json whose `exports`, `bin` and `types` point at `dist/`,
 * and that folder is packed; the workspace manifests stay as they are.
 *
 * Why tsc file by file rather than one bundle: one tsc program over the four packages emits the
 * JavaScript and the declarations together (a bundle would need its declarations bundled too),
 * the packages stay separate (a task module imports `defineTask` from the very `@tessera/task`
 * that the agent runs), and npm dependencies stay dependencies.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { findPackageJSON } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** What the packed packages promise: every one of them, and what they depend on, runs there. */
const ENGINES = ">=20";

/** How one workspace package is packed. */
interface PackPlan {
  /**
   * Export subpaths left out of the package: for this repository's tests and local grid only
   * (core's emulators need devDependencies and Node 22.5's node:sqlite).
   */
  devOnly?: string[];
  /** Modules loaded by path (`new URL("./x.ts", import.meta.url)`) rather than imported. */
  loadedByPath?: string[];
  /** Built folders of the repository shipped beside `dist/`: folder in the package → repository path. */
  assets?: Record<string, string>;
}

/** The packages, in dependency order. */
const PACKAGES: Record<string, PackPlan> = {
  core: { devOnly: ["./testing", "./emulators", "./testing/aws"] },
  // Piscina loads the task threads' module by its URL (isolated-runner.ts).
  task: { loadedByPath: ["./src/task-thread.ts"] },
  agent: {},
  // `tessera dashboard` serves the built front end (dashboard-server.ts looks for it there).
  client: { assets: { dashboard: "packages/dashboard/dist" } },
};

/**
 * Dependency ranges widened in the packed manifests. commander 15 declares Node >= 22.12 (it
 * supports `require()` of its ESM build) although the CLIs use nothing 14 lacks: with both lines
 * allowed, npm installs the newest one whose `engines` match the Node that installs it.
 */
const RANGES: Record<string, string> = { commander: "^14.0.0 || ^15.0.0" };

/** Marks a folder this script wrote, so that a rebuild may empty it. */
const MARKER = ".tessera-packages";

/** What {@link packPackages} wrote. */
export interface PackedPackages {
  /** The output folder. */
  dir: string;
  /** Package name → its tarball's path. */
  tarballs: Record<string, string>;
}

/** Builds and packs the packages into `outDir` (see the file's header). */
export function packPackages(options: { outDir: string; root?: string }): PackedPackages {
  const root = resolve(options.root ?? fileURLToPath(new URL("..", import.meta.url)));
  const dir = outDirOf(options.outDir, root);
  const manifests = Object.fromEntries(
    Object.keys(PACKAGES).map((pkg) => [pkg, readJson(join(root, "packages", pkg, "package.json"))]),
  );
  const emitted = join(dir, ".tsc");
  compile(root, emitted, manifests);
  buildDashboard(root);

  const versions = Object.fromEntries(Object.values(manifests).map((m) => [m.name, m.version]));
  const staged: string[] = [];
  for (const [pkg, plan] of Object.entries(PACKAGES)) {
    const stage = join(dir, pkg);
    cpSync(join(emitted, pkg, "src"), join(stage, "dist"), { recursive: true });
    rewriteLoadedByPath(join(stage, "dist"));
    for (const [folder, from] of Object.entries(plan.assets ?? {}))
      cpSync(join(root, from), join(stage, folder), { recursive: true });
    const manifest = packedManifest(manifests[pkg]!, plan, versions);
    checkEngines(manifest, join(root, "packages", pkg));
    checkImports(join(stage, "dist"), manifest);
    writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    staged.push(stage);
  }
  rmSync(emitted, { recursive: true, force: true });

  const packed = JSON.parse(
    execFileSync("npm", ["pack", ...staged, "--pack-destination", dir, "--json"], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }),
  ) as Array<{ name: string; filename: string }>;
  return {
    dir,
    tarballs: Object.fromEntries(packed.map((p) => [p.name, join(dir, p.filename)])),
  };
}

/** Every module a package's manifest names (exports and bins, minus dev-only ones, plus loaded-by-path ones). */
function entriesOf(manifest: Manifest, plan: PackPlan): string[] {
  const exported = Object.entries(manifest.exports ?? {})
    .filter(([subpath]) => !plan.devOnly?.includes(subpath))
    .map(([, target]) => target);
  return [...exported, ...Object.values(manifest.bin ?? {}), ...(plan.loadedByPath ?? [])];
}

/**
 * Emits JavaScript and declarations of every module the entries reach, in one tsc program:
 * `<out>/<package>/src/…`. Type-checking is `npm run typecheck`'s job (`noCheck`), so a
 * colleague's half-done edit elsewhere does not stop a build. ES2023 is what Node 20 runs.
 */
function compile(root: string, out: string, manifests: Record<string, Manifest>): void {
  const files = Object.entries(PACKAGES).flatMap(([pkg, plan]) =>
    entriesOf(manifests[pkg]!, plan).map((entry) => join(root, "packages", pkg, entry)),
  );
  mkdirSync(out, { recursive: true });
  const config = join(out, "tsconfig.json");
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, "tsconfig.json"),
      compilerOptions: {
        noEmit: false,
        noCheck: true,
        declaration: true,
        rewriteRelativeImportExtensions: true,
        target: "es2023",
        rootDir: join(root, "packages"),
        outDir: out,
        typeRoots: [join(root, "node_modules/@types")],
        paths: sourcePaths(root, manifests),
      },
      include: [],
      files,
    }),
  );
  try {
    execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", config], { cwd: root, encoding: "utf8" });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc could not emit the packages:\n${stdout ?? ""}${stderr ?? ""}`);
  }
  for (const file of listFiles(out)) {
    const [pkg, src] = file.split("/");
    if (file === "tsconfig.json") continue;
    if (!(pkg! in PACKAGES) || src !== "src" || /\.test\.|\.contract\.|\/(emulators|testing)\//.test(file))
      throw new Error(`the packages would contain ${file}: only their sources may be packed`);
  }
}

/** Builds the dashboard's front end afresh (packages/dashboard/dist), as `npm install` does. */
function buildDashboard(root: string): void {
  try {
    execFileSync(
      join(root, "node_modules/.bin/vite"),
      ["build", "packages/dashboard", "--logLevel", "warn"],
      {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`vite could not build the dashboard:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

/**
 * `@tessera/x/sub` → its source file. tsc never emits a file it first reached through
 * `node_modules` (the workspace links), and which path it takes first varies from run to run:
 * mapped, the packages' imports of one another reach their sources directly.
 */
function sourcePaths(root: string, manifests: Record<string, Manifest>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(manifests).flatMap(([pkg, manifest]) =>
      Object.entries(manifest.exports ?? {}).map(([subpath, source]) => [
        `${manifest.name}${subpath.slice(1)}`,
        [join(root, "packages", pkg, source)],
      ]),
    ),
  );
}

/**
 * tsc rewrites the `.ts` of imports but not of `new URL("./x.ts", import.meta.url)`, by which
 * a module is loaded by path (piscina's task threads): those become `.js` here, and one whose
 * module was not emitted stops the build.
 */
function rewriteLoadedByPath(dist: string): void {
  const byPath = /new URL\(\s*(["'])(\.{1,2}\/[^"']+)\.ts\1\s*,\s*import\.meta\.url\s*\)/g;
  for (const file of listFiles(dist).filter((f) => f.endsWith(".js"))) {
    const path = join(dist, file);
    const code = readFileSync(path, "utf8");
    const rewritten = code.replace(byPath, (_, quote: string, stem: string) => {
      if (!existsSync(join(dirname(path), `${stem}.js`)))
        throw new Error(`${file} loads ${stem}.ts by path, but it was not built: add it to loadedByPath`);
      return `new URL(${quote}${stem}.js${quote}, import.meta.url)`;
    });
    if (rewritten !== code) writeFileSync(path, rewritten);
  }
}

interface Manifest {
  name: string;
  version: string;
  type?: string;
  bin?: Record<string, string>;
  exports?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/** A packed package.json: each export with its declarations. */
type PackedManifest = Omit<Manifest, "exports"> & {
  engines: { node: string };
  types?: string;
  exports: Record<string, { types: string; default: string }>;
};

/** `./src/x.ts` → `./dist/x` + `ext`. */
const built = (source: string, ext: ".js" | ".d.ts") =>
  source.replace(/^\.\/src\//, "./dist/").replace(/\.ts$/, ext);

/**
 * The packed package.json: exports and bins at `dist/`, dev-only subpaths gone, sibling
 * packages pinned to the version packed with them, no devDependencies, not private.
 */
function packedManifest(
  manifest: Manifest,
  plan: PackPlan,
  versions: Record<string, string>,
): PackedManifest {
  const exports = Object.fromEntries(
    Object.entries(manifest.exports ?? {})
      .filter(([subpath]) => !plan.devOnly?.includes(subpath))
      .map(([subpath, source]) => [
        subpath,
        { types: built(source, ".d.ts"), default: built(source, ".js") },
      ]),
  );
  const dependencies = Object.fromEntries(
    Object.entries(manifest.dependencies ?? {}).map(([name, range]) => [
      name,
      versions[name] ?? RANGES[name] ?? range,
    ]),
  );
  return {
    name: manifest.name,
    version: manifest.version,
    type: "module",
    engines: { node: ENGINES },
    ...(manifest.bin && {
      bin: Object.fromEntries(Object.entries(manifest.bin).map(([n, s]) => [n, built(s, ".js")])),
    }),
    ...(exports["."] && { types: exports["."].types }),
    exports,
    dependencies,
  };
}

/**
 * Refuses a dependency whose own `engines` (as installed here) ask for a newer Node than
 * {@link ENGINES}, unless its range is widened in {@link RANGES}: the packages' promise would
 * be false.
 */
function checkEngines(manifest: PackedManifest, packageDir: string): void {
  const floor = Number(/\d+/.exec(ENGINES)![0]);
  const from = pathToFileURL(join(packageDir, "package.json"));
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (name.startsWith("@tessera/") || name in RANGES) continue;
    const installed = readJson<{ engines?: { node?: string } }>(findPackageJSON(name, from)!);
    const needs = /^>=\s*v?(\d+)/.exec(installed.engines?.node ?? "");
    if (needs && Number(needs[1]) > floor)
      throw new Error(
        `${manifest.name}: its dependency ${name} needs Node ${installed.engines!.node}, not ${ENGINES}`,
      );
  }
}

/**
 * Refuses a built module (JavaScript or declaration) that imports a module that was not built,
 * or a package its manifest does not depend on: installed elsewhere, it would find nothing of
 * this repository's.
 */
function checkImports(dist: string, manifest: PackedManifest): void {
  const declared = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {})]);
  for (const file of listFiles(dist)) {
    const code = readFileSync(join(dist, file), "utf8");
    for (const m of code.matchAll(
      /^(?:import|export)\s[^"';]*?\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)|^import\s*"([^"]+)"/gm,
    )) {
      const specifier = (m[1] ?? m[2] ?? m[3])!;
      if (specifier.startsWith(".")) {
        const target = resolve(dirname(join(dist, file)), specifier);
        const built = file.endsWith(".d.ts") ? target.replace(/\.[jt]s$/, ".d.ts") : target;
        if (!existsSync(built))
          throw new Error(`${manifest.name}: dist/${file} imports ${specifier}, which was not built`);
        continue;
      }
      if (specifier.startsWith("node:")) continue;
      const name = specifier
        .split("/")
        .slice(0, specifier.startsWith("@") ? 2 : 1)
        .join("/");
      if (!declared.has(name))
        throw new Error(
          `${manifest.name}: dist/${file} imports ${specifier}, which is not one of its dependencies`,
        );
    }
  }
}

/**
 * The output folder, emptied. Refused when emptying it could destroy anything else: the
 * repository or a folder above it, or a folder holding files but no earlier build.
 */
function outDirOf(outDir: unknown, root: string): string {
  if (typeof outDir !== "string" || outDir.trim() === "") throw new Error("outDir: must be a folder's path");
  const dir = resolve(root, outDir.trim());
  const up = relative(dir, root);
  if (up === "" || !up.startsWith(".."))
    throw new Error(`outDir: ${dir} is the repository or a folder above it`);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`outDir: ${dir} is not a folder`);
    if (readdirSync(dir).length > 0 && !existsSync(join(dir, MARKER)))
      throw new Error(
        `outDir: ${dir} holds files but no earlier build of the packages; give a new or empty folder`,
      );
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MARKER), "");
  return dir;
}

function readJson<T = Manifest>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** The files under `dir`, relative with `/`. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"));
}

if (import.meta.main && import.meta.url.endsWith("/pack-packages.ts")) {
  try {
    const { values } = parseArgs({ options: { out: { type: "string", default: "dist/packages" } } });
    console.log(JSON.stringify(packPackages({ outDir: resolve(values.out) })));
  } catch (error) {
    console.error(`pack-packages: ${(error as Error).message}`);
    process.exit(2);
  }
}
