/**
 * `npm run bench:client -- --tasks N --backend memory|emulators [--heap-mb M]`: the SDK submits N tiny tasks
 * (default 1,000,000) from a generator and streams all their results back, in a process of its
 * own whose peak memory is measured. The grid behind the HTTP API is, by default, the in-memory
 * engine (the emulators cannot take a million tasks in reasonable time on this machine); with
 * `--backend emulators` it is the local grid on DynamoDB Local + fauxqs. Either way the API is
 * the deployed handler behind the same local HTTP server, and tasks run in in-process agents.
 * The last line is JSON.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Agent } from "@tessera/agent";
import { realtimeMemoryGrid } from "@tessera/core/testing";
import { createApiHandler, createObservability, type GridRuntime } from "@tessera/functions";
import { loadConfig, startHttpBridge, startLocalGrid } from "@tessera/local";
import { collectTasks, taskRunner } from "@tessera/task";
import * as echo from "../../../examples/echo.ts";

const { values } = parseArgs({
  options: { tasks: { type: "string" }, backend: { type: "string" }, "heap-mb": { type: "string" } },
});
/** Old-space limit of the client process (--max-old-space-size), if any: V8 otherwise grows its heap far past the live set. */
const heapMb = values["heap-mb"] === undefined ? undefined : Number(values["heap-mb"]);
const tasks = Number(values.tasks ?? 1_000_000);
const backend = values.backend ?? "memory";
if (!Number.isSafeInteger(tasks) || tasks < 1) {
  console.error(`--tasks: expected a positive integer, got "${values.tasks}"`);
  process.exit(2);
}
if (backend !== "memory" && backend !== "emulators") {
  console.error(`--backend: expected memory or emulators, got "${backend}"`);
  process.exit(2);
}

process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.POWERTOOLS_TRACE_ENABLED ??= "false";

let url: string;
const token = "bench-client-token-0123456789";
let stop: () => Promise<void>;
if (backend === "memory") {
  const ports = realtimeMemoryGrid();
  const runtime: GridRuntime = {
    ports,
    auth: { jwtTenantClaim: "tenant", tokens: new Map([[token, "bench"]]) },
  };
  const bridge = await startHttpBridge(
    createApiHandler(() => runtime, createObservability("bench-api")),
    0,
  );
  const agents = Array.from(
    { length: 2 },
    () =>
      new Agent({
        ports,
        runner: taskRunner(collectTasks(echo)),
        concurrency: 64,
        maxLeases: 32,
        idleWaitSeconds: 1,
      }),
  );
  const runs = agents.map((a) => a.run());
  url = bridge.url;
  stop = async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(runs);
    await bridge.close();
  };
} else {
  const repo = new URL("../../../", import.meta.url).pathname;
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-bench-client-"));
  const grid = await startLocalGrid(
    {
      ...loadConfig(repo, {}),
      dataDir,
      port: 0,
      sample: { tasks: 0, fleetTasks: 0 },
      fleet: { ...loadConfig(repo, {}).fleet, pools: [] }, // no scaler calls in the metered figures
      agents: { count: 2, concurrency: 16 },
      tokens: { [token]: "bench" },
    },
    () => {},
    { inProcessAgents: true },
  );
  url = grid.apiUrl;
  stop = async () => {
    await grid.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

try {
  const child = spawn(
    process.execPath,
    [
      ...(heapMb ? [`--max-old-space-size=${heapMb}`] : []),
      new URL("./client-run.ts", import.meta.url).pathname,
    ],
    {
      env: { ...process.env, TESSERA_URL: url, TESSERA_TOKEN: token, TESSERA_BENCH_TASKS: String(tasks) },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  const code = await new Promise((r) => child.on("close", r));
  if (code !== 0) throw new Error(`the client exited with ${code}`);
  const figures = JSON.parse(output.trim().split("\n").at(-1)!) as Record<string, number>;
  console.log(
    `${tasks.toLocaleString("en")} tasks through the SDK (${backend} grid): submitted in ${figures.submitSeconds} s, ` +
      `all results in ${figures.seconds} s (${figures.tasksPerSecond} tasks/s); client peak RSS ${figures.peakRssMb} MB`,
  );
  console.log(JSON.stringify({ backend, clientHeapLimitMb: heapMb ?? null, ...figures }));
} finally {
  await stop();
}
