/**
 * Builds the code of a warm-worker Lambda image (examples/lambda-worker-image/Dockerfile): one
 * ESM file, `warm-worker.mjs`, the Lambda worker over warm worker processes
 * (packages/functions/src/entries/warm-worker.ts) with the grid's code bundled in, and beside it
 * `node_modules/` with piscina alone — bundled with esbuild as SST bundles the zip worker, and
 * piscina copied as for the agent (scripts/build-agent.ts). The worker processes' code (the
 * `tessera` Python package, the user's modules) is the image's to add.
 *
 *   node scripts/build-lambda-image.ts --out dist/lambda-image
 *
 * prints one JSON line: the folder and its files.
 */
import { readdirSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { copyPiscina, FORBIDDEN, outDirOf, SST_BANNER } from "./build-agent.ts";

/** The bundle's file: the image's CMD is `<this without .mjs>.handler`. */
export const LAMBDA_IMAGE_ENTRY = "warm-worker.mjs";

/** What {@link buildLambdaImage} wrote. */
export interface LambdaImageBuild {
  dir: string;
  /** Its files, relative and sorted. */
  files: string[];
}

/** Builds the warm-worker function's code into `outDir` (emptied first; relative to `root`). */
export async function buildLambdaImage(options: {
  outDir: string;
  root?: string;
}): Promise<LambdaImageBuild> {
  const root = resolve(options.root ?? fileURLToPath(new URL("..", import.meta.url)));
  const dir = outDirOf(options.outDir, root, LAMBDA_IMAGE_ENTRY, "Lambda image");
  const bundled = await build({
    entryPoints: [join(root, "packages/functions/src/entries/warm-worker.ts")],
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    outfile: join(dir, LAMBDA_IMAGE_ENTRY),
    external: ["piscina"],
    banner: { js: SST_BANNER },
    metafile: true,
    logLevel: "silent",
  });
  for (const input of Object.keys(bundled.metafile.inputs)) {
    const bad = FORBIDDEN.find((f) => `/${input}`.includes(`/${f}`));
    if (bad)
      throw new Error(`the Lambda image would contain ${input}: only tests and the local grid may use it`);
  }
  // The entry's worker handler imports the task-thread runtime, which imports piscina.
  await copyPiscina(root, dir);
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
  return { dir, files };
}

if (import.meta.main && import.meta.url.endsWith("/build-lambda-image.ts")) {
  try {
    const { values } = parseArgs({ options: { out: { type: "string" }, root: { type: "string" } } });
    if (!values.out) throw new Error("--out: give the output folder");
    const built = await buildLambdaImage({
      outDir: resolve(values.out),
      root: values.root === undefined ? undefined : resolve(values.root),
    });
    console.log(JSON.stringify(built));
  } catch (error) {
    console.error(`build-lambda-image: ${(error as Error).message}`);
    process.exit(2);
  }
}
