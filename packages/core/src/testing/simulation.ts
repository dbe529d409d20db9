/**
 * Deterministic simulation of the dispatch engine: seeded runs over the in-memory adapters
 * with injected faults (duplicated, delayed and lost tickets, store and queue errors, lost
 * acknowledgements, workers crashing mid-task, slow workers whose leases expire, cancels),
 * checked against the grid's invariants after each run.
 */
import { FakeClock, MemoryBlobStore, MemoryTaskStore, MemoryTicketQueue } from "../adapters/memory/index.ts";
import { Dispatcher, type TaskRunner } from "../dispatch/dispatcher.ts";
import type { GridPorts } from "../dispatch/grid-ports.ts";
import { reap } from "../dispatch/reaper.ts";
import { cancelSession, createSession } from "../dispatch/sessions.ts";
import { submitTasks } from "../dispatch/submitter.ts";
import { cancelTask } from "../dispatch/tasks.ts";
import { DEFAULT_REAPER_TIMING } from "../model/limits.ts";
import { defineGrid } from "../resources.ts";
import { Chaos, chaosBlobs, chaosQueue, chaosStore, type FaultCounts } from "./chaos.ts";
import { seededRandom } from "./random.ts";
import { checkInvariants, type SimAudit } from "./sim-checks.ts";

/** Result of one simulated run. */
export interface SimResult {
  seed: number;
  tasks: number;
  steps: number;
  violations: string[];
  faults: FaultCounts;
  crashes: number;
  cancels: number;
  starts: number;
}

const QUEUE = "default-normal";
const flush = () => new Promise<void>((r) => setImmediate(r));

interface SimWorker {
  dispatcher: Dispatcher;
  paused: boolean;
}

/** Runs one seeded simulation and returns the invariant violations it found (none expected). */
export async function simulate(seed: number, options: { maxSteps?: number } = {}): Promise<SimResult> {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const chance = (p: number) => random() < p;
  const clock = new FakeClock();
  const chaos = new Chaos(seededRandom(seed ^ 0x5eed));
  const grid = defineGrid();
  const rawStore = new MemoryTaskStore();
  const ports: GridPorts = {
    store: chaosStore(rawStore, chaos),
    queue: chaosQueue(new MemoryTicketQueue(clock, grid.queues), chaos),
    blobs: chaosBlobs(new MemoryBlobStore(), chaos),
    clock,
    grid,
    timing: { ...DEFAULT_REAPER_TIMING, ticketGraceMs: 60_000, leaseGraceMs: 5_000 },
    random: seededRandom(seed ^ 0xb0ff),
  };
  const key = { tenant: "sim", sessionId: `s${seed}` };
  const tasks = 10 + pick(150);
  const config = {
    chunkMaxTasks: 1 + pick(16),
    maxAttempts: 1 + pick(4),
    leaseMs: 5_000 + pick(15_000),
    backoffBaseMs: 100 + pick(2_000),
    backoffMaxMs: 10_000,
  };
  await createSession(ports, key.tenant, { sessionId: key.sessionId, config });
  const audit: SimAudit = {
    key,
    config,
    tasks,
    starts: [],
    claims: new Map(),
    cancelRequested: new Set(),
    cancelledAt: new Map(),
    step: 0,
  };

  let nextOwner = 0;
  const workers: SimWorker[] = [];
  const spawnWorker = () => {
    const owner = `w${nextOwner++}`;
    const runner: TaskRunner = async (t) => {
      // Behaviour of a run is a function of (seed, task, attempt), so replays agree.
      const r = seededRandom(seed * 7919 + t.index * 131 + t.attempt)();
      const duration =
        r < 0.7 ? Math.floor(r * 1_000) : r < 0.9 ? Math.floor(r * 8_000) : Math.floor(r * 40_000);
      await clock.sleep(duration, t.signal);
      if (r * 1000 - Math.floor(r * 1000) < 0.25)
        throw new Error(`task ${t.index} attempt ${t.attempt} failed`);
      return `${t.index}:${t.attempt}:${owner}`;
    };
    const dispatcher = new Dispatcher(ports, {
      owner,
      runner,
      concurrency: 4 + pick(12),
      hooks: {
        onClaim: (lease) => {
          audit.claims.set(`${lease.chunk.start}#${lease.fence}`, { owner, step: audit.step });
          for (const run of lease.runs.values()) {
            audit.starts.push({
              index: run.index,
              attempt: run.attempt,
              owner,
              fence: lease.fence,
              step: audit.step,
            });
          }
        },
      },
    });
    workers.push({ dispatcher, paused: false });
  };
  for (let i = 0, n = 2 + pick(3); i < n; i++) spawnWorker();

  // Submit in a few batches, retrying any that fail (and sometimes resubmitting one that worked).
  const all = Array.from({ length: tasks }, (_, i) => ({ index: i, payload: `p${i}` }));
  chaos.rates = {
    storeError: 0.03,
    storeLostAck: 0.02,
    ticketDuplicate: 0.1,
    ticketLoss: 0.08,
    ticketDelay: 0.1,
    queueError: 0.03,
    blobError: 0.02,
  };
  for (let from = 0; from < tasks; ) {
    const batch = all.slice(from, from + 1 + pick(60));
    for (let tries = 0; ; tries++) {
      try {
        await submitTasks(ports, key, { tasks: batch });
        if (chance(0.2)) await submitTasks(ports, key, { tasks: batch });
        break;
      } catch (error) {
        if (tries > 50) throw error;
      }
    }
    from += batch.length;
  }

  let crashes = 0;
  let cancels = 0;
  const maxSteps = options.maxSteps ?? 3_000;
  const tryOp = async (op: () => Promise<unknown>) => {
    try {
      await op();
    } catch {
      // injected faults: the grid must cope
    }
  };
  const settled = async () => {
    for (let g = 0; g < Math.ceil(tasks / 4096); g++) {
      if ((await rawStore.listDueChunks(key, g, Number.POSITIVE_INFINITY, 1)).length > 0) return false;
    }
    return true;
  };

  let step = 0;
  const chaosSteps = Math.floor(maxSteps * 0.6);
  for (; step < maxSteps; step++) {
    audit.step = step;
    if (step === chaosSteps) {
      chaos.rates = {
        ...chaos.rates,
        ticketDuplicate: 0,
        ticketLoss: 0,
        ticketDelay: 0,
        storeError: 0,
        storeLostAck: 0,
        queueError: 0,
        blobError: 0,
      };
      for (const w of workers) w.paused = false;
    }
    if (step > chaosSteps && step % 50 === 0 && (await settled())) break;
    const roll = random();
    const w = workers[pick(workers.length)]!;
    if (roll < 0.5) {
      await tryOp(async () => {
        const tickets = await ports.queue.receive(QUEUE, {
          max: 10,
          waitSeconds: 0,
          visibilitySeconds: 5 + pick(30),
        });
        await w.dispatcher.accept(QUEUE, tickets);
      });
    } else if (roll < 0.75) {
      clock.advance(100 + pick(2_900));
      await flush();
      for (const x of workers) if (!x.paused) await tryOp(() => x.dispatcher.heartbeat());
    } else if (roll < 0.8) {
      await tryOp(() => reap(ports));
    } else if (roll < 0.83 && step < chaosSteps) {
      w.dispatcher.crash();
      workers.splice(workers.indexOf(w), 1);
      spawnWorker();
      crashes++;
    } else if (roll < 0.86 && step < chaosSteps) {
      w.paused = !w.paused; // a slow worker: its leases expire while it still runs
    } else if (roll < 0.875) {
      const index = pick(tasks);
      audit.cancelRequested.add(index);
      await tryOp(async () => {
        await cancelTask(ports, key, index);
        audit.cancelledAt.set(index, step);
      });
      cancels++;
    } else if (roll < 0.877 && cancels > 0) {
      for (let i = 0; i < tasks; i++) audit.cancelRequested.add(i);
      await tryOp(async () => {
        await cancelSession(ports, key);
        for (let i = 0; i < tasks; i++) if (!audit.cancelledAt.has(i)) audit.cancelledAt.set(i, step);
      });
    }
    await flush();
  }
  for (const x of workers) await x.dispatcher.drain();
  const violations = await checkInvariants(rawStore, audit);
  if (step >= maxSteps && !(await settled())) violations.unshift(`not settled after ${maxSteps} steps`);
  return {
    seed,
    tasks,
    steps: step,
    violations,
    faults: { ...chaos.counts },
    crashes,
    cancels,
    starts: audit.starts.length,
  };
}
