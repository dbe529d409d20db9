/**
 * `npm run bench:engine -- --tasks N`: the dispatch engine alone over the in-memory adapters,
 * in one process (one core): submit N no-op tasks with 1 KB payloads, claim, run, commit, ack,
 * and stream every result back. Measures engine overhead in tasks per second; the last line
 * is JSON.
 */
import { checkNodeVersion } from "../../../scripts/check-node.ts";
import { Dispatcher } from "../src/dispatch/dispatcher.ts";
import { ResultsReader } from "../src/dispatch/results-reader.ts";
import { createSession } from "../src/dispatch/sessions.ts";
import { submitTasks } from "../src/dispatch/submitter.ts";
import { realtimeMemoryGrid } from "../src/testing/memory-grid.ts";
import { numberFlags } from "./args.ts";

checkNodeVersion();
const { tasks, chunk, batch } = numberFlags({ tasks: 200_000, chunk: 64, batch: 10_000 });
const QUEUE = "default-normal";
const ports = realtimeMemoryGrid();
const key = { tenant: "bench", sessionId: "engine" };
const payload = "x".repeat(1024);
await createSession(ports, key.tenant, {
  sessionId: key.sessionId,
  config: { chunkMaxTasks: chunk, chunkMaxBytes: 4 * 1024 * 1024 },
});

const t0 = performance.now();
for (let from = 0; from < tasks; from += batch) {
  const n = Math.min(batch, tasks - from);
  await submitTasks(ports, key, {
    tasks: Array.from({ length: n }, (_, i) => ({ index: from + i, payload })),
  });
}
const tSubmitted = performance.now();

const dispatcher = new Dispatcher(ports, {
  owner: "bench",
  runner: async () => undefined,
  concurrency: 1024,
});
for (;;) {
  const tickets = await ports.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
  if (tickets.length === 0) break;
  await dispatcher.accept(QUEUE, tickets);
  if (dispatcher.heldLeases > 200) await dispatcher.drain();
}
await dispatcher.drain();
const tRun = performance.now();

const reader = new ResultsReader(ports, key);
let succeeded = 0;
for (const o of await reader.poll()) if (o.status === "SUCCEEDED") succeeded++;
const tRead = performance.now();
if (succeeded !== tasks) {
  console.error(`✗ expected ${tasks} results, read ${succeeded}`);
  process.exit(1);
}

const seconds = (tRead - t0) / 1000;
const figures = {
  tasks,
  chunkTasks: chunk,
  tasksPerSecond: Math.round(tasks / seconds),
  submitTasksPerSecond: Math.round(tasks / ((tSubmitted - t0) / 1000)),
  dispatchTasksPerSecond: Math.round(tasks / ((tRun - tSubmitted) / 1000)),
  readTasksPerSecond: Math.round(tasks / ((tRead - tRun) / 1000)),
  seconds: Number(seconds.toFixed(3)),
  peakRssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
};
console.log(`engine over in-memory adapters, ${tasks} no-op tasks of 1 KB, chunks of ${chunk}, one process`);
console.log(`  submit   ${figures.submitTasksPerSecond.toLocaleString("en")} tasks/s`);
console.log(
  `  dispatch ${figures.dispatchTasksPerSecond.toLocaleString("en")} tasks/s (claim, run, commit, ack)`,
);
console.log(`  results  ${figures.readTasksPerSecond.toLocaleString("en")} tasks/s`);
console.log(`  overall  ${figures.tasksPerSecond.toLocaleString("en")} tasks/s in ${figures.seconds} s`);
console.log(JSON.stringify(figures));
