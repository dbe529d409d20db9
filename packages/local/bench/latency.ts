/**
 * `npm run bench:latency -- --tasks N`: one task at a time through the running local grid,
 * submitted over HTTP, its result read back over HTTP by a client polling the results
 * endpoint; p50 and p99 of submit → result. The last line is JSON.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { numberFlags } from "../../core/bench/args.ts";
import { loadConfig } from "../src/config.ts";
import { startLocalGrid } from "../src/local-grid.ts";

const { tasks } = numberFlags({ tasks: 200 });
const repo = new URL("../../../", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "tessera-bench-latency-"));
const grid = await startLocalGrid({
  ...loadConfig(repo, {}),
  dataDir,
  port: 0,
  sample: { tasks: 0, fleetTasks: 0 },
  fleet: { ...loadConfig(repo, {}).fleet, pools: [] }, // no scaler calls in the metered figures
  agents: { count: 1, concurrency: 4 },
});
const auth = { authorization: `Bearer ${grid.token}` };
const post = (path: string, body: unknown) =>
  fetch(`${grid.apiUrl}${path}`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json() as Promise<Record<string, unknown>>);

try {
  await post("/sessions", { sessionId: "latency" });
  const latencies: number[] = [];
  let cursor: string | undefined;
  // Warm-up: the first task pays for connection set-up and JIT.
  for (let i = 0; i <= tasks; i++) {
    const t0 = performance.now();
    await post("/sessions/latency/tasks", { handler: "echo", tasks: [{ index: i, payload: `{"i":${i}}` }] });
    for (;;) {
      const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
      const page = (await (
        await fetch(`${grid.apiUrl}/sessions/latency/results${query}`, { headers: auth })
      ).json()) as {
        results: { taskId: string }[];
        cursor: string;
      };
      cursor = page.cursor;
      if (page.results.some((r) => r.taskId === String(i))) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    if (i > 0) latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const figures = {
    tasks,
    p50Ms: Math.round(pick(0.5) * 10) / 10,
    p90Ms: Math.round(pick(0.9) * 10) / 10,
    p99Ms: Math.round(pick(0.99) * 10) / 10,
    maxMs: Math.round(latencies.at(-1)! * 10) / 10,
    meanMs: Math.round((latencies.reduce((a, b) => a + b, 0) / latencies.length) * 10) / 10,
  };
  console.log(`submit → result over HTTP, one task at a time, ${tasks} tasks (after one warm-up)`);
  console.log(
    `p50 ${figures.p50Ms} ms   p90 ${figures.p90Ms} ms   p99 ${figures.p99Ms} ms   max ${figures.maxMs} ms`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await grid.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
