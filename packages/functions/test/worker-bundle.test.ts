/**
 * The Lambda worker as deployed: its entry bundled into one ESM file the way SST bundles it
 * (esbuild, `.mjs`, a createRequire banner, piscina installed beside it rather than bundled),
 * run with its tasks isolated in threads that load the bundle itself.
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SST_BANNER } from "../../../scripts/build-agent.ts";
import { type Harness, harness, lambdaContext } from "./harness.ts";

const root = new URL("../../../", import.meta.url).pathname;
type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

describe("the bundled Lambda worker", () => {
  let h: Harness;
  let dir: string;
  let handler: WorkerHandler;
  beforeAll(async () => {
    h = await harness([]);
    dir = mkdtempSync(join(tmpdir(), "tessera-worker-bundle-"));
    // The function's node_modules as SST's `nodejs.install` leaves it (here: the repo's).
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
    const outfile = join(dir, "worker.mjs");
    await build({
      entryPoints: [new URL("./fixtures/bundled-worker.ts", import.meta.url).pathname],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      outfile,
      external: ["piscina"],
      banner: { js: SST_BANNER },
      logLevel: "silent",
    });
    (globalThis as { tesseraTestRuntime?: unknown }).tesseraTestRuntime = h.runtime;
    handler = ((await import(/* @vite-ignore */ pathToFileURL(outfile).href)) as { handler: WorkerHandler })
      .handler;
  });
  afterAll(() => {
    h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const status = async (sessionId: string, taskId: number) =>
    (await h.call("GET", `/sessions/${sessionId}/tasks/${taskId}`)).body;

  it("stops a CPU-spinning task at its timeout, in a thread, while the other tasks commit", async () => {
    const call = (path: string, body: unknown) => h.call("POST", path, { body });
    await call("/sessions", { sessionId: "bundled", config: { chunkMaxTasks: 1, maxAttempts: 1 } });
    await call("/sessions/bundled/tasks", { handler: "spin", timeoutMs: 1_500, tasks: [{ index: 0 }] });
    await call("/sessions/bundled/tasks", {
      handler: "square",
      tasks: [1, 2, 3].map((index) => ({ index, payload: JSON.stringify({ x: index }) })),
    });
    const event = await h.receive("default-normal", { max: 10 });
    expect(event.Records).toHaveLength(4);
    const response = await handler(event, lambdaContext(20_000));
    expect(response.batchItemFailures).toEqual([]);
    expect(await status("bundled", 0)).toMatchObject({
      status: "FAILED",
      error: { code: "TIMEOUT" },
    });
    for (const index of [1, 2, 3]) {
      const task = await status("bundled", index);
      expect(task.status).toBe("SUCCEEDED");
      expect(JSON.parse(task.result)).toEqual({ y: index * index });
    }
  });
});
