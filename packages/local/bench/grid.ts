/**
 * `npm run bench:grid -- --tasks N`: N no-op tasks (default 50,000) through the whole local grid
 * — submitted over HTTP, run by its Lambda-style workers and its agents, streamed back over
 * HTTP — with every AWS call the grid makes metered. Reports the time from start to a ready
 * grid, end-to-end tasks/s, calls and write units per task, and dollars per million tasks at
 * list price (API Gateway and Lambda requests modelled from the requests and invocations seen).
 * The agents run in this process so that their calls are metered too. The last line is JSON.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attachCallMeter, CallMeter } from "@tessera/core/metering";
import { numberFlags } from "../../core/bench/args.ts";
import { loadConfig } from "../src/config.ts";
import { startLocalGrid } from "../src/local-grid.ts";

const { tasks, agents, batch } = numberFlags({ tasks: 50_000, agents: 2, batch: 5_000 });
const repo = new URL("../../../", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "tessera-bench-grid-"));
const t0 = performance.now();
const grid = await startLocalGrid(
  {
    ...loadConfig(repo, {}),
    dataDir,
    port: 0,
    sample: { tasks: 0, fleetTasks: 0 },
    fleet: { ...loadConfig(repo, {}).fleet, pools: [] }, // no scaler calls in the metered figures
    agents: { count: agents, concurrency: 8 },
    lambda: { ...loadConfig(repo, {}).lambda, pollers: 2, timeoutSeconds: 60, concurrency: 16 },
  },
  () => {},
  { inProcessAgents: true },
);
const readyMs = performance.now() - t0;
const meter = new CallMeter();
for (const client of [grid.clients.dynamo, grid.clients.sqs, grid.clients.s3]) attachCallMeter(client, meter);

const auth = { authorization: `Bearer ${grid.token}` };
let submitBytes = 0;
let submits = 0;
let polls = 0;
const post = async (path: string, body?: unknown) => {
  const text = body === undefined ? undefined : JSON.stringify(body);
  submitBytes += text?.length ?? 0;
  const response = await fetch(`${grid.apiUrl}${path}`, {
    method: "POST",
    headers: { ...auth, ...(text ? { "content-type": "application/json" } : {}) },
    body: text,
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
};

try {
  const started = performance.now();
  const apiBefore = grid.counters.apiRequests;
  await post("/sessions", { sessionId: "bench" });
  for (let start = 0; start < tasks; start += batch) {
    const list = Array.from({ length: Math.min(batch, tasks - start) }, (_, i) => ({
      index: start + i,
      payload: `{"i":${start + i}}`,
    }));
    await post("/sessions/bench/tasks", { handler: "noop", tasks: list });
    submits++;
  }
  await post("/sessions/bench/close");
  const seen = new Set<string>();
  let failed = 0;
  let cursor: string | undefined;
  while (seen.size < tasks) {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = (await (
      await fetch(`${grid.apiUrl}/sessions/bench/results${query}`, { headers: auth })
    ).json()) as {
      results: { taskId: string; status: string }[];
      cursor: string;
    };
    polls++;
    for (const r of page.results) {
      if (seen.has(r.taskId)) continue;
      seen.add(r.taskId);
      if (r.status !== "SUCCEEDED") failed++;
    }
    cursor = page.cursor;
    if (page.results.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  if (failed > 0) throw new Error(`${failed} tasks did not succeed`);

  const apiRequests = grid.counters.apiRequests - apiBefore;
  meter.addModelled({
    service: "APIGateway",
    operation: "HTTP request",
    requests: apiRequests,
    bytes: submitBytes / Math.max(1, submits),
  });
  meter.addModelled({ service: "Lambda", operation: "Invoke (API)", requests: apiRequests });
  meter.addModelled({
    service: "Lambda",
    operation: "Invoke (worker)",
    requests: grid.counters.workerInvocations,
  });
  const report = meter.report(tasks);
  const t = report.totals;
  console.log(
    `\n${tasks.toLocaleString("en")} no-op tasks through the local grid (${agents} agents in-process, Lambda-style workers)\n`,
  );
  console.log(report.formatTable());
  console.log(
    `\nready in            ${(readyMs / 1000).toFixed(2)} s (emulators, provisioning, workers, agents, API)`,
  );
  console.log(
    `throughput          ${Math.round(tasks / seconds)} tasks/s (first submit to last result: ${seconds.toFixed(1)} s)`,
  );
  console.log(
    `HTTP requests       ${apiRequests} (${submits} submits, ${polls} result polls); worker invocations ${grid.counters.workerInvocations}`,
  );
  console.log(`calls per task      ${t.callsPerTask.toFixed(4)}`);
  console.log(`write units / task  ${t.wruPerTask.toFixed(4)}`);
  console.log(`$ per million tasks ${t.dollarsPerMillionTasks.toFixed(4)}`);
  console.log(
    JSON.stringify({
      tasks,
      readyMs: Math.round(readyMs),
      tasksPerSecond: Math.round(tasks / seconds),
      callsPerTask: Number(t.callsPerTask.toFixed(5)),
      wruPerTask: Number(t.wruPerTask.toFixed(5)),
      rruPerTask: Number(t.rruPerTask.toFixed(5)),
      dollarsPerMillionTasks: Number(t.dollarsPerMillionTasks.toFixed(5)),
      maxWritesPerKey: t.maxWritesPerKey,
      workerInvocations: grid.counters.workerInvocations,
      httpRequests: apiRequests,
    }),
  );
} finally {
  await grid.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
