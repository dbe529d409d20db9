/**
 * The client side of `bench:client`, run as its own process so that its memory is measured
 * alone: submits TESSERA_BENCH_TASKS tiny tasks from a generator while streaming their results,
 * then prints one JSON line with its figures.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { Tessera } from "../src/tessera.ts";

const tasks = Number(process.env.TESSERA_BENCH_TASKS);
const tessera = new Tessera({ endpoint: process.env.TESSERA_URL!, token: process.env.TESSERA_TOKEN! });
const session = await tessera.createSession<{ i: number }, unknown>({ sessionId: "bench-client" });

function* inputs() {
  for (let i = 0; i < tasks; i++) yield { i };
}

const started = performance.now();
let submitSeconds = 0;
const submitting = session
  .submit(inputs(), {
    handler: "noop",
    batchSize: 1_000,
    concurrency: 4,
    close: true,
  })
  .then((s) => {
    submitSeconds = (performance.now() - started) / 1000;
    return s;
  });
let received = 0;
let failed = 0;
let peakRss = 0;
/** Where the memory was at the peak: V8's heap (its young generation apart) and what lies outside it. */
let atPeak = { heapTotal: 0, heapUsed: 0, newSpace: 0 };
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss <= peakRss) return;
  peakRss = rss;
  const { heapTotal, heapUsed } = process.memoryUsage();
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
  atPeak = { heapTotal, heapUsed, newSpace };
}, 100);
for await (const r of session.results({ minPollMs: 20, maxPollMs: 500 })) {
  received++;
  if (r.error) failed++;
  if (received >= tasks) break;
}
const summary = await submitting;
clearInterval(sampler);
const seconds = (performance.now() - started) / 1000;
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({
    tasks,
    submitted: summary.submitted,
    received,
    failed,
    submitSeconds: Math.round(submitSeconds * 10) / 10,
    seconds: Math.round(seconds * 10) / 10,
    tasksPerSecond: Math.round(tasks / seconds),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
    atPeakHeapTotalMb: Math.round(atPeak.heapTotal / 1024 / 1024),
    atPeakHeapUsedMb: Math.round(atPeak.heapUsed / 1024 / 1024),
    atPeakNewSpaceMb: Math.round(atPeak.newSpace / 1024 / 1024),
  }),
);
