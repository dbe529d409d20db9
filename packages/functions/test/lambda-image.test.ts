/**
 * The warm-worker Lambda image, checked offline (no docker here): examples/lambda-worker-image's
 * Dockerfile is laid out into a folder as its COPY lines say, over the bundle that
 * `npm run build:lambda-image` writes, and that folder is what Lambda would run — the CMD's file
 * exports the handler, and the workers start there with the image's PYTHONPATH.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { workerPool } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLambdaImage, LAMBDA_IMAGE_ENTRY } from "../../../scripts/build-lambda-image.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const dockerfile = readFileSync(join(ROOT, "examples/lambda-worker-image/Dockerfile"), "utf8");
const instructions = (name: string) =>
  dockerfile
    .split("\n")
    .filter((line) => line.startsWith(`${name} `))
    .map((line) => line.slice(name.length + 1).trim());
/** What the Node.js base image sets. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's variable, literally
const TASK_ROOT_VAR = "${LAMBDA_TASK_ROOT}";
const COMMAND = "python3 -m tessera.worker python_pricing";

describe("the warm-worker Lambda image", () => {
  let work: string;
  let taskRoot: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "tessera-lambda-image-"));
    taskRoot = join(work, "var-task");
    const built = await buildLambdaImage({ outDir: join(work, "build") });
    // COPY <sources…> <destination>, as docker would, with the build in place of dist/lambda-image.
    for (const copy of instructions("COPY")) {
      const parts = copy.split(/\s+/);
      const to = parts.pop()!.replace(TASK_ROOT_VAR, taskRoot);
      for (const from of parts) {
        const source = from.replace(/\/$/, "") === "dist/lambda-image" ? built.dir : join(ROOT, from);
        expect(existsSync(source), `COPY source ${from}`).toBe(true);
        cpSync(source, to.endsWith("/") && !from.endsWith("/") ? join(to, from.split("/").pop()!) : to, {
          recursive: true,
        });
      }
    }
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("starts from AWS's Node.js 24 Lambda image for arm64 and installs Python", () => {
    expect(instructions("FROM")).toEqual(["--platform=linux/arm64 public.ecr.aws/lambda/nodejs:24"]);
    expect(instructions("RUN").join("\n")).toMatch(/dnf install -y python3/);
  });

  it("bundles the worker where `npm run build:lambda-image` writes it, the folder the Dockerfile copies", () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
    expect(scripts["build:lambda-image"]).toBe("node scripts/build-lambda-image.ts --out dist/lambda-image");
    expect(instructions("COPY")).toContain(`dist/lambda-image/ ${TASK_ROOT_VAR}/`);
    expect(existsSync(join(taskRoot, "node_modules/piscina/package.json"))).toBe(true);
  });

  it("runs the handler its CMD names, from the file the build writes", async () => {
    const [cmd] = JSON.parse(instructions("CMD")[0]!) as string[];
    const [file, exportName] = cmd!.split(".") as [string, string];
    expect(`${file}.mjs`).toBe(LAMBDA_IMAGE_ENTRY);
    // Loaded by Node as Lambda's runtime loads it: the file alone, with the function's environment.
    const url = pathToFileURL(join(taskRoot, LAMBDA_IMAGE_ENTRY)).href;
    const loaded = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `console.log(typeof (await import(${JSON.stringify(url)}))[${JSON.stringify(exportName)}])`,
      ],
      { cwd: taskRoot, env: { PATH: process.env.PATH, TESSERA_WORKER_COMMAND: COMMAND }, encoding: "utf8" },
    );
    expect(loaded.trim()).toBe("function");
  });

  it("lets the worker command import the tessera library and the task modules it copies", async () => {
    const env = instructions("ENV").join(" ");
    const pythonPath = /PYTHONPATH=(\S+)/.exec(env)![1]!.replace(TASK_ROOT_VAR, taskRoot);
    const [command, ...args] = COMMAND.split(" ") as [string, ...string[]];
    // Lambda's working directory is the task root; nothing of this repository is on the path.
    const pool = workerPool({ command, args, processes: 1, cwd: taskRoot, env: { PYTHONPATH: pythonPath } });
    try {
      expect(await pool.ready()).toEqual(["price-py"]);
    } finally {
      await pool.close();
    }
  });
});
