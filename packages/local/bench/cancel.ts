/**
 * `npm run bench:cancel -- --tasks N`: how long a cancel takes to stop running tasks on the local
 * grid, at the default 60 s lease: N tasks that sleep 25 s run on the Lambda-style workers
 * (pool "default") and N on agents (fleet pool "batch"); once all run, each is cancelled over
 * HTTP, one after another, and the time from the cancel call to the task reading CANCELLED is
 * measured. The last line is JSON (`p99CancelMs` must stay at or under 2,000).
 */
import { numberFlags } from "../../core/bench/args.ts";
import { startBenchGrid } from "./bench-grid.ts";

const { tasks } = numberFlags({ tasks: 8 });
const { base, call, stop } = await startBenchGrid("cancel", () => ({
  agents: { count: 0, concurrency: 4 }, // pool "default" is the Lambda-style workers' alone
}));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(pool: string): Promise<number[]> {
  const sessionId = `cancel-${pool}`;
  await call("POST", "/sessions", { sessionId, config: { pool, chunkMaxTasks: 1 } });
  await call("POST", `/sessions/${sessionId}/tasks`, {
    handler: "sleep",
    tasks: Array.from({ length: tasks }, (_, index) => ({ index, payload: JSON.stringify({ ms: 25_000 }) })),
  });
  const status = async (i: number) => (await call("GET", `/sessions/${sessionId}/tasks/${i}`)).status;
  for (const started = Date.now(); Date.now() - started < 60_000; await pause(100)) {
    const all = await Promise.all(Array.from({ length: tasks }, (_, i) => status(i)));
    if (all.every((s) => s === "LEASED")) break;
  }
  await pause(1_500); // well into their runs
  const times: number[] = [];
  for (let i = 0; i < tasks; i++) {
    if ((await status(i)) !== "LEASED") throw new Error(`${pool}: task ${i} was not running`);
    const t0 = performance.now();
    await call("POST", `/sessions/${sessionId}/tasks/${i}/cancel`);
    while ((await status(i)) !== "CANCELLED") {
      if (performance.now() - t0 > 30_000) throw new Error(`${pool}: task ${i} not cancelled after 30 s`);
      await pause(20);
    }
    times.push(performance.now() - t0);
  }
  await call("POST", `/sessions/${sessionId}/cancel`);
  return times;
}

const pick = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const summary = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50Ms: Math.round(pick(sorted, 0.5)),
    p99Ms: Math.round(pick(sorted, 0.99)),
    maxMs: Math.round(sorted.at(-1)!),
  };
};

try {
  const lambda = summary(await measure("default"));
  const agent = summary(await measure(base.fleet.pools[0] ?? "batch"));
  const figures = { tasks, leaseMs: 60_000, lambda, agent, p99CancelMs: Math.max(lambda.p99Ms, agent.p99Ms) };
  console.log(`cancel → CANCELLED for running tasks, ${tasks} per worker kind, default lease`);
  console.log(`  Lambda-style workers  p50 ${lambda.p50Ms} ms, p99 ${lambda.p99Ms} ms`);
  console.log(`  agents                p50 ${agent.p50Ms} ms, p99 ${agent.p99Ms} ms`);
  console.log(JSON.stringify(figures));
  process.exitCode = figures.p99CancelMs <= 2_000 ? 0 : 1;
} finally {
  await stop();
}
