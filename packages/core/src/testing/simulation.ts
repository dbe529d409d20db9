/**
 * Deterministic simulation of the dispatch engine: seeded runs over the in-memory adapters
 * with injected faults (duplicated, delayed and lost tickets, store and queue errors, lost
 * acknowledgements, per-item lost claim and commit answers, throttling episodes of minutes,
 * workers crashing mid-task with prefetched leases, slow workers whose leases expire, workers
 * whose event loop stalls, cancels at random moments),
 * concurrent conflicting submits, sparse task indexes, workers whose clocks are up to a minute
 * off, and a results reader polling throughout, checked against the grid's invariants after
 * each run.
 */
import { FakeClock, MemoryBlobStore, MemoryTaskStore, MemoryTicketQueue } from "../adapters/memory/index.ts";
import { Dispatcher, type TaskRunner } from "../dispatch/dispatcher.ts";
import type { GridPorts } from "../dispatch/grid-ports.ts";
import { CANCEL_WATCH_AGE_MS } from "../dispatch/lease-keeper.ts";
import { reap } from "../dispatch/reaper.ts";
import { readResultsPage } from "../dispatch/results-page.ts";
import { cancelSession, closeSession, createSession } from "../dispatch/sessions.ts";
import { submitTasks } from "../dispatch/submitter.ts";
import { cancelTask } from "../dispatch/tasks.ts";
import { isGridError } from "../errors.ts";
import { DEFAULT_REAPER_TIMING } from "../model/limits.ts";
import type { Clock } from "../ports/clock.ts";
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
  /** CPU stalls injected into workers. */
  stalls: number;
  /** Throttling episodes (minutes of failing store calls), and the calls they refused. */
  throttlings: number;
  throttledCalls: number;
  /** Charges of careful claims whose answer their dying worker never learned (see SimAudit). */
  unknownCharges: number;
  starts: number;
  /** Submits refused because another batch held their indexes with other work. */
  conflicts: number;
  /** Workers whose clock was off. */
  skewedWorkers: number;
  /** Tasks of a batch racing the close that the close kept out. */
  refusedAtClose: number;
}

/**
 * A worker's view of time: the grid's clock off by `skewMs`, whose sleeps also wait out the
 * worker's CPU stalls (a blocked event loop fires no timer).
 */
function workerClock(clock: Clock, skewMs: number, stalledUntil: () => number): Clock {
  return {
    now: () => clock.now() + skewMs,
    sleep: async (ms, signal) => {
      await clock.sleep(ms, signal);
      for (let until = stalledUntil(); clock.now() < until; until = stalledUntil())
        await clock.sleep(until - clock.now(), signal);
    },
  };
}

/**
 * Task indexes of a run: dense, with small gaps, or spread over far-apart key groups (up to the
 * highest index the API allows), so the group directory and every walk over groups are tested.
 */
function taskIndexes(tasks: number, pick: (n: number) => number): number[] {
  const mode = pick(3);
  if (mode === 0) return Array.from({ length: tasks }, (_, i) => i);
  if (mode === 1) return Array.from({ length: tasks }, (_, i) => i + Math.floor(i / 7) * 13);
  const out: number[] = [];
  let at = pick(4096);
  for (let i = 0; i < tasks; i++) {
    out.push(at);
    at += pick(4) === 0 ? 1 + pick(5_000_000_000) : 1;
  }
  return out;
}

const QUEUE = "default-normal";
const flush = () => new Promise<void>((r) => setImmediate(r));

interface SimWorker {
  dispatcher: Dispatcher;
  paused: boolean;
  /**
   * A CPU stall (the grid's clock): until then the worker's event loop is blocked, so it takes no
   * tickets, sends no heartbeats, and none of its timers (task code included) fire.
   */
  stalledUntil: number;
  owner: string;
  /** Times (the grid's clock) of this worker's heartbeat passes. */
  beats: number[];
}

/** A task run on a worker, timed on the grid's clock. */
interface SimRun {
  index: number;
  owner: string;
  start: number;
  end?: number | undefined;
}

/** Runs one seeded simulation and returns the invariant violations it found (none expected). */
export async function simulate(seed: number, options: { maxSteps?: number } = {}): Promise<SimResult> {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const chance = (p: number) => random() < p;
  const clock = new FakeClock();
  const chaos = new Chaos(seededRandom(seed ^ 0x5eed));
  // Half the runs dead-letter a ticket after 6 receives (not 50), so that throttling episodes
  // and busy chunks really send tickets to the dead-letter queues.
  const defined = defineGrid();
  const maxReceiveCount = chance(0.5) ? 6 : 50;
  const grid = { ...defined, queues: defined.queues.map((q) => ({ ...q, maxReceiveCount })) };
  const rawStore = new MemoryTaskStore();
  const rawBlobs = new MemoryBlobStore();
  const ports: GridPorts = {
    store: chaosStore(rawStore, chaos),
    queue: chaosQueue(new MemoryTicketQueue(clock, grid.queues), chaos),
    blobs: chaosBlobs(rawBlobs, chaos),
    clock,
    grid,
    timing: { ...DEFAULT_REAPER_TIMING, ticketGraceMs: 60_000, leaseGraceMs: 5_000 },
    random: seededRandom(seed ^ 0xb0ff),
  };
  const key = { tenant: "sim", sessionId: `s${seed}` };
  const tasks = 10 + pick(150);
  const indexes = taskIndexes(tasks, pick);
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
    indexes,
    accepted: new Map(),
    delivered: [],
    violations: [],
    starts: [],
    claims: new Map(),
    cancelRequested: new Set(),
    cancelledAt: new Map(),
    runStarts: new Map(),
    unknownCharges: new Set(),
    step: 0,
  };

  const runs = new Map<object, SimRun>();
  /** When (the grid's clock) a cancel of each task completed, once the faults stopped. */
  const cancelTimes = new Map<number, number>();
  const everyWorker: SimWorker[] = [];
  let nextOwner = 0;
  let skewedWorkers = 0;
  const workers: SimWorker[] = [];
  const spawnWorker = () => {
    const owner = `w${nextOwner++}`;
    // A third of the workers run on a clock up to a minute off (agents on EKS or on premises).
    const skew = chance(0.33) ? (pick(121) - 60) * 1_000 : 0;
    if (skew !== 0) skewedWorkers++;
    let stalledUntil = 0;
    const time = workerClock(clock, skew, () => stalledUntil);
    const runner: TaskRunner = async (t) => {
      // Behaviour of a run is a function of (seed, task, attempt), so replays agree.
      const r = seededRandom(seed * 7919 + t.index * 131 + t.attempt)();
      const duration =
        r < 0.7 ? Math.floor(r * 1_000) : r < 0.9 ? Math.floor(r * 8_000) : Math.floor(r * 40_000);
      await time.sleep(duration, t.signal);
      if (r * 1000 - Math.floor(r * 1000) < 0.25)
        throw new Error(`task ${t.index} attempt ${t.attempt} failed`);
      return `${t.index}:${t.attempt}:${owner}:${t.payload}`;
    };
    const dispatcher = new Dispatcher(
      { ...ports, clock: time },
      {
        owner,
        runner,
        concurrency: 1 + pick(12), // often below what a chunk holds: prefetched leases
        hooks: {
          onTaskStart: (_lease, run) => {
            runs.set(run, { index: run.index, owner, start: clock.now() });
            const started = audit.runStarts.get(run.index) ?? new Set<number>();
            started.add(run.attempt);
            audit.runStarts.set(run.index, started);
          },
          onTaskEnd: (_lease, run) => {
            const timed = runs.get(run);
            if (timed) timed.end = clock.now();
          },
          // The one charge no scheme can avoid: a careful claim (charged at claim, for runs that
          // start at once) that landed, but whose answer was lost and could not be read back
          // before its worker died or stalled past the lease. Its runs never started.
          onClaimForgotten: (claim) => {
            if (claim.chunk.charged)
              for (const r of claim.runnable) audit.unknownCharges.add(`${r.index}#${r.attempt}`);
          },
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
      },
    );
    const worker: SimWorker = {
      dispatcher,
      paused: false,
      get stalledUntil() {
        return stalledUntil;
      },
      set stalledUntil(at: number) {
        stalledUntil = at;
      },
      owner,
      beats: [],
    };
    workers.push(worker);
    everyWorker.push(worker);
  };
  for (let i = 0, n = 2 + pick(3); i < n; i++) spawnWorker();

  // Submit in a few batches, retrying any that fail (and sometimes resubmitting one that worked).
  // Some batches race a rival batch over part of their indexes: other work (which must never be
  // merged with theirs) or the same work (which must be stored once).
  const all = indexes.map((index) => ({ index, payload: `p${index}` }));
  chaos.rates = {
    storeError: 0.03,
    storeLostAck: 0.02,
    ticketDuplicate: 0.1,
    ticketLoss: 0.08,
    ticketDelay: 0.1,
    queueError: 0.03,
    blobError: 0.02,
  };
  let conflicts = 0;
  const accept = (batch: readonly { index: number; payload: string }[]) => {
    for (const t of batch) {
      const before = audit.accepted.get(t.index);
      if (before !== undefined && before !== t.payload)
        audit.violations.push(`task ${t.index} accepted with ${before} and with ${t.payload}`);
      audit.accepted.set(t.index, t.payload);
    }
  };
  /**
   * After a close refused a batch (possibly half-way): what it stored is accepted (it must be
   * its own work), what it did not store was never submitted.
   */
  const dropped = new Set<number>();
  const reconcile = async (batch: readonly { index: number; payload: string }[]) => {
    for (const t of batch) {
      const stored = await storedPayload(t.index);
      if (stored === undefined) dropped.add(t.index);
      else accept([{ index: t.index, payload: stored }]);
    }
  };
  /** Submits a batch until it is accepted; when refused as other work, adopts what is stored. */
  const submitUntilAccepted = async (batch: Array<{ index: number; payload: string }>) => {
    for (let tries = 0; ; tries++) {
      try {
        await submitTasks(ports, key, { tasks: batch });
        accept(batch);
        if (chance(0.2)) await submitTasks(ports, key, { tasks: batch });
        return;
      } catch (error) {
        if (isGridError(error, "SESSION_NOT_OPEN")) return reconcile(batch);
        if (tries > 50) throw error;
        if (isGridError(error, "CONFLICT")) {
          conflicts++;
          // What a client must do: take the stored work for the indexes another batch holds.
          batch = await Promise.all(
            batch.map(async (t) => ({
              index: t.index,
              payload: (await storedPayload(t.index)) ?? t.payload,
            })),
          );
        }
      }
    }
  };
  const storedPayload = async (index: number): Promise<string | undefined> => {
    const chunk = await rawStore.findChunk(key, index);
    const blob = chunk && (await rawBlobs.get(chunk.payloadKey));
    return blob === undefined ? undefined : (JSON.parse(blob).payloads[index - chunk!.start] ?? undefined);
  };
  for (let from = 0; from < tasks; ) {
    const batch = all.slice(from, from + 1 + pick(60));
    if (chance(0.3)) {
      const lo = pick(batch.length);
      const tag = chance(0.5) ? "q" : "p";
      const rival = batch
        .slice(lo, lo + 1 + pick(batch.length))
        .map((t) => ({ index: t.index, payload: `${tag}${t.index}` }));
      const results = await Promise.allSettled([
        submitTasks(ports, key, { tasks: batch }),
        submitTasks(ports, key, { tasks: rival }),
      ]);
      if (results[0].status === "fulfilled") accept(batch);
      if (results[1].status === "fulfilled") accept(rival);
    }
    if (from + batch.length >= tasks && chance(0.15)) {
      // The last batch races the session's close: it lands whole, or is refused (possibly after
      // storing some of its groups), and nothing lands after the close.
      const [submitted] = await Promise.allSettled([
        submitTasks(ports, key, { tasks: batch }),
        closeSession(ports, key),
      ]);
      if (submitted.status === "fulfilled") accept(batch);
      else if ((await rawStore.getSession(key))?.state !== "OPEN") await reconcile(batch);
    }
    await submitUntilAccepted(batch);
    from += batch.length;
  }

  let crashes = 0;
  let cancels = 0;
  let stalls = 0;
  // Throttling episodes: every store call fails for minutes (DynamoDB throttling a spike).
  let throttledUntil = 0;
  let throttlings = 0;
  chaos.throttled = () => clock.now() < throttledUntil;
  const maxSteps = options.maxSteps ?? 3_000;
  const tryOp = async (op: () => Promise<unknown>) => {
    try {
      await op();
    } catch {
      // injected faults: the grid must cope
    }
  };
  const settled = async () => {
    for (const g of (await rawStore.listGroups(key, undefined, 1_000)).groups) {
      if ((await rawStore.listDueChunks(key, g, Number.POSITIVE_INFINITY, 1)).length > 0) return false;
    }
    return true;
  };
  // A results reader polls throughout; a page either lands whole (cursor and outcomes) or not.
  let cursor: string | undefined;
  let streamSettled = false;
  const readResults = async () => {
    const page = await readResultsPage(ports, key, { cursor, limit: 1 + pick(40) });
    cursor = page.cursor;
    streamSettled = page.settled;
    audit.delivered.push(...page.outcomes);
  };

  let step = 0;
  const chaosSteps = Math.floor(maxSteps * 0.6);
  for (; step < maxSteps; step++) {
    audit.step = step;
    if (step === chaosSteps) {
      throttledUntil = 0;
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
    const stalled = (x: SimWorker) => clock.now() < x.stalledUntil;
    if (roll < 0.5) {
      if (!stalled(w))
        await tryOp(async () => {
          // The session's queue, or its pool's high queue (where the reaper re-drives expired leases).
          const queue = pick(4) === 0 ? "default-high" : QUEUE;
          const tickets = await ports.queue.receive(queue, {
            max: 10,
            waitSeconds: 0,
            visibilitySeconds: 5 + pick(30),
          });
          await w.dispatcher.accept(queue, tickets);
        });
    } else if (roll < 0.75) {
      clock.advance(100 + pick(2_900));
      await flush();
      for (const x of workers) {
        if (x.paused || stalled(x)) continue;
        const faultsSeen = () => Object.values(chaos.counts).reduce((a, b) => a + b, chaos.throttledCalls);
        const faults = faultsSeen();
        await tryOp(() => x.dispatcher.heartbeat());
        // Only a pass that met no injected fault must have seen every cancel.
        if (faultsSeen() === faults) x.beats.push(clock.now());
      }
    } else if (roll < 0.78) {
      await tryOp(() => reap(ports));
    } else if (roll < 0.8) {
      await tryOp(readResults);
    } else if (roll < 0.83 && step < chaosSteps) {
      w.dispatcher.crash();
      workers.splice(workers.indexOf(w), 1);
      spawnWorker();
      crashes++;
    } else if (roll < 0.85 && step < chaosSteps) {
      w.paused = !w.paused; // a slow worker: its leases expire while it still runs
    } else if (roll < 0.86) {
      // A CPU stall (a task spinning in the worker's own thread, a GC pause, a starved VM) of up
      // to a lease and a half: its leases may expire meanwhile, and it resumes as if nothing
      // happened.
      w.stalledUntil = clock.now() + 500 + pick(Math.floor(config.leaseMs * 1.5));
      stalls++;
    } else if (roll < 0.875) {
      const index = indexes[pick(tasks)]!;
      audit.cancelRequested.add(index);
      await tryOp(async () => {
        const view = await cancelTask(ports, key, index);
        audit.cancelledAt.set(index, step);
        // The bound is for a run under the chunk's current lease (the cancel marks it). A task the
        // store shows queued is CANCELLED at once: a run of it still going is one of a lease
        // already taken over, whose worker drops its result when it learns so.
        if (view.cancelRequested) cancelTimes.set(index, clock.now());
      });
      cancels++;
    } else if (roll >= 0.877 && roll < 0.8775 && step < chaosSteps && !chaos.throttled()) {
      throttledUntil = clock.now() + 60_000 + pick(180_000);
      throttlings++;
    } else if (roll < 0.877 && cancels > 0) {
      for (const i of indexes) audit.cancelRequested.add(i);
      await tryOp(async () => {
        await cancelSession(ports, key);
        for (const i of indexes) if (!audit.cancelledAt.has(i)) audit.cancelledAt.set(i, step);
        if (step >= chaosSteps)
          for (const i of indexes) if (!cancelTimes.has(i)) cancelTimes.set(i, clock.now());
      });
    }
    await flush();
  }
  // Once the faults stopped, a cancel stops the task's run on a live worker at that worker's
  // first heartbeat pass after the cancel at which the run is over 250 ms old (the cancel watch).
  const byOwner = new Map(everyWorker.map((w) => [w.owner, w]));
  for (const run of runs.values()) {
    const at = cancelTimes.get(run.index);
    const worker = byOwner.get(run.owner);
    if (at === undefined || !worker) continue;
    if (run.start >= at || (run.end !== undefined && run.end <= at)) continue;
    const bound = worker.beats.find((b) => b > at && b - run.start >= CANCEL_WATCH_AGE_MS);
    if (bound !== undefined && (run.end === undefined || run.end > bound))
      audit.violations.push(
        `task ${run.index} still ran on ${run.owner} after the first heartbeat past its cancel`,
      );
  }
  for (const x of workers) await x.dispatcher.drain();
  // Close, then read the stream to its end: it must settle, having delivered each task once.
  for (let tries = 0; tries < 50; tries++) {
    try {
      await closeSession(ports, key); // through the faults too: a close that fails is retried
      break;
    } catch {
      // injected fault: try again
    }
  }
  for (let polls = 0; polls < 500 && !streamSettled; polls++) {
    await tryOp(readResults);
    clock.advance(1_000);
  }
  if (!streamSettled && (await settled())) audit.violations.push("the results stream never settled");
  audit.indexes = indexes.filter((i) => !dropped.has(i));
  const violations = await checkInvariants(rawStore, rawBlobs, audit);
  if (step >= maxSteps && !(await settled())) violations.unshift(`not settled after ${maxSteps} steps`);
  return {
    seed,
    tasks,
    steps: step,
    violations,
    faults: { ...chaos.counts },
    crashes,
    cancels,
    stalls,
    throttlings,
    throttledCalls: chaos.throttledCalls,
    unknownCharges: audit.unknownCharges.size,
    starts: audit.starts.length,
    conflicts,
    skewedWorkers,
    refusedAtClose: dropped.size,
  };
}
