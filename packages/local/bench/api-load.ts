/**
 * `npm run bench:api-load -- --tasks N --threads T`: how the local grid's API answers while its
 * Lambda-style workers run CPU-bound tasks: N Monte-Carlo option prices (200,000 paths each) are
 * submitted, and `GET /sessions/{id}` is timed 300 times while they run. With task code in worker
 * threads (`--threads`, default 1) the API stays quick (with task code in the grid's own thread,
 * `lambda.threads: 0`, the same reads took seconds). The last line is JSON.
 */
import { numberFlags } from "../../core/bench/args.ts";
import { startBenchGrid } from "./bench-grid.ts";

const { tasks, threads, reads } = numberFlags({ tasks: 3_000, threads: 1, reads: 300 });
const { call, stop } = await startBenchGrid("api-load", (base) => ({
  agents: { count: 0, concurrency: 1 },
  lambda: { ...base.lambda, threads },
}));

try {
  await call("POST", "/sessions", { sessionId: "load" });
  const option = {
    kind: "call",
    spot: 100,
    strike: 100,
    rate: 0.03,
    volatility: 0.2,
    maturity: 1,
    paths: 200_000,
  };
  await call("POST", "/sessions/load/tasks", {
    handler: "price-european-option",
    tasks: Array.from({ length: tasks }, (_, index) => ({
      index,
      payload: JSON.stringify({ ...option, seed: index }),
    })),
  });
  await new Promise((r) => setTimeout(r, 2_000)); // the workers are busy by now
  const times: number[] = [];
  for (let i = 0; i < reads; i++) {
    const t0 = performance.now();
    await call("GET", "/sessions/load");
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]!);
  const figures = {
    tasks,
    threads,
    reads,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: Math.round(times.at(-1)!),
  };
  console.log(`GET /sessions/{id} while ${tasks} CPU-bound tasks run (task threads: ${threads})`);
  console.log(`  p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms`);
  console.log(JSON.stringify(figures));
  await call("POST", "/sessions/load/cancel");
} finally {
  await stop();
}
