/**
 * `npm run bench:reaper -- --sessions N --busy N --latencyMs N`: one reaper pass over N active
 * sessions, most of them idle (created and last submitted to over ten minutes ago, nothing
 * pending), `busy` of them with queued tasks, on the in-memory store with every store call
 * delayed by `latencyMs` (DynamoDB's few milliseconds from a Lambda). The first pass reaps every
 * session and drops the idle ones from the active index; the second (the steady state) reaps
 * only the busy ones. It must fit the reaper's schedule (a pass every minute, 40 s budgeted).
 * Prints store calls per session and seconds per pass; the last line is JSON.
 */
import { checkNodeVersion } from "../../../scripts/check-node.ts";
import {
  MemoryBlobStore,
  MemoryTaskStore,
  MemoryTicketQueue,
  SystemClock,
} from "../src/adapters/memory/index.ts";
import type { GridPorts } from "../src/dispatch/grid-ports.ts";
import { reap } from "../src/dispatch/reaper.ts";
import { createSession } from "../src/dispatch/sessions.ts";
import { submitTasks } from "../src/dispatch/submitter.ts";
import { DEFAULT_REAPER_TIMING } from "../src/model/limits.ts";
import type { Clock } from "../src/ports/clock.ts";
import type { TaskStore } from "../src/ports/task-store.ts";
import { defineGrid } from "../src/resources.ts";
import { numberFlags } from "./args.ts";

checkNodeVersion();
const { sessions, busy, latencyMs } = numberFlags({ sessions: 10_000, busy: 100, latencyMs: 5 });
const SCHEDULE_BUDGET_S = 40;

// The grid's clock: real time, moved forward past the idle threshold once sessions exist.
const system = new SystemClock();
let offset = 0;
const clock: Clock = { now: () => system.now() + offset, sleep: (ms, signal) => system.sleep(ms, signal) };
const grid = defineGrid();
const raw = new MemoryTaskStore();
let calls = 0;
let delayed = false;
const store = new Proxy(raw, {
  get(target, prop, receiver) {
    const value = Reflect.get(target, prop, receiver) as unknown;
    if (typeof value !== "function") return value;
    return async (...args: unknown[]) => {
      if (delayed) {
        calls++;
        await new Promise((r) => setTimeout(r, latencyMs));
      }
      return (value as (...a: unknown[]) => unknown).apply(target, args);
    };
  },
}) as TaskStore;
const ports: GridPorts = {
  store,
  queue: new MemoryTicketQueue(clock, grid.queues),
  blobs: new MemoryBlobStore(),
  clock,
  grid,
  timing: DEFAULT_REAPER_TIMING,
  random: Math.random,
};

for (let i = 0; i < sessions; i++) {
  const key = { tenant: `t${i % 50}`, sessionId: `s${i}` };
  await createSession(ports, key.tenant, { sessionId: key.sessionId });
  if (i < busy) await submitTasks(ports, key, { tasks: [{ index: 0 }, { index: 1 }] });
}
offset = 11 * 60_000; // every session was last submitted to over ten minutes ago
delayed = true;

const pass = async () => {
  calls = 0;
  const t0 = performance.now();
  const report = await reap(ports, { walks: new Map(), resume: {}, budgetMs: SCHEDULE_BUDGET_S * 1000 });
  return { seconds: (performance.now() - t0) / 1000, calls, report };
};
const first = await pass();
const steady = await pass();
const figures = {
  sessions,
  busy,
  latencyMs,
  passSeconds: Number(first.seconds.toFixed(2)),
  callsPerSession: Number((first.calls / sessions).toFixed(2)),
  deactivated: first.report.deactivated,
  deferred: first.report.deferred,
  steadyPassSeconds: Number(steady.seconds.toFixed(3)),
  steadySessions: steady.report.sessions,
  steadyCallsPerSession: Number((steady.calls / Math.max(1, steady.report.sessions)).toFixed(2)),
  fitsSchedule: first.report.deferred === 0 && first.seconds < SCHEDULE_BUDGET_S,
};
console.log(`reaper pass over ${sessions} active sessions (${busy} busy), ${latencyMs} ms per store call`);
console.log(
  `  first pass ${figures.passSeconds} s, ${figures.callsPerSession} store calls/session, ${figures.deactivated} idle sessions dropped`,
);
console.log(
  `  next pass ${figures.steadyPassSeconds} s over ${figures.steadySessions} sessions (${figures.steadyCallsPerSession} calls each)`,
);
console.log(JSON.stringify(figures));
if (!figures.fitsSchedule) process.exitCode = 1;
