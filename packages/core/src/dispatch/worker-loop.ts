import type { ReceivedTicket } from "../ports/ticket-queue.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { GridPorts } from "./grid-ports.ts";
import { AbortReason } from "./held-lease.ts";

/** Settings of a polling worker (an agent). */
export interface PollLoopOptions {
  /**
   * Logical queue names, highest priority first. They are served by weight (see
   * priorityWeights): the first queue asked each time the worker has room rotates so that, with
   * every queue backlogged, of each 2ⁿ − 1 rounds (n queues) the i-th queue leads 2ⁿ⁻¹⁻ⁱ times.
   */
  queues: readonly string[];
  /** Most chunks held at once (prefetch). @default 10 */
  maxLeases?: number;
  /** Long-poll wait when every queue was empty. @default 2 */
  idleWaitSeconds?: number;
  /** Invisibility of received tickets; heartbeats extend it for long tasks. @default 60 */
  visibilitySeconds?: number;
  /** Heartbeat pass interval. @default 1000 */
  heartbeatEveryMs?: number;
  /**
   * On stop, how long running tasks may go on to finish; the rest are then aborted and released
   * (queued again at once, their attempt not counted). A function is read when the stop
   * comes (a spot notice leaves less time than a planned stop). @default unlimited
   */
  graceMs?: number | (() => number);
  /**
   * After the abort, how long tasks may take to return; those that do not are then released
   * without waiting for them (see Dispatcher.releaseAll). @default 5000
   */
  releaseWaitMs?: number;
}

/**
 * Weighted service of priority queues (smooth weighted round-robin): queue i of n (highest
 * first) has weight 2ⁿ⁻¹⁻ⁱ, and each round names the queue to ask first, then the others in
 * priority order. With every queue backlogged, a round that has room takes from the queue it
 * leads with, so of every 2ⁿ − 1 such rounds the lowest queue leads one: high goes first, and a
 * low ticket at the head of its queue waits a bounded number of rounds.
 */
export class WeightedOrder {
  readonly #weights: number[];
  readonly #current: number[];
  readonly #total: number;

  constructor(queues: number) {
    this.#weights = Array.from({ length: queues }, (_, i) => 2 ** (queues - 1 - i));
    this.#current = this.#weights.map(() => 0);
    this.#total = this.#weights.reduce((a, b) => a + b, 0);
  }

  /** The order in which to ask the queues this round. */
  next(): number[] {
    let lead = 0;
    for (let i = 0; i < this.#weights.length; i++) {
      this.#current[i]! += this.#weights[i]!;
      if (this.#current[i]! > this.#current[lead]!) lead = i;
    }
    this.#current[lead]! -= this.#total;
    return [lead, ...[...this.#weights.keys()].filter((i) => i !== lead)];
  }
}

/** Resolves true if `work` finished within `ms`. */
async function finishedWithin(ports: GridPorts, work: Promise<void>, ms: number): Promise<boolean> {
  if (!Number.isFinite(ms)) {
    await work;
    return true;
  }
  const timer = new AbortController();
  const done = work.then(() => true);
  const late = ports.clock.sleep(ms, timer.signal).then(
    () => false,
    () => false,
  );
  const finished = await Promise.race([done, late]);
  timer.abort();
  return finished;
}

/**
 * Runs a dispatcher as a long-lived worker until `signal` aborts: receives tickets in priority
 * order while it has room, heartbeats its leases, and on abort stops receiving and drains:
 * running tasks finish and commit within `graceMs`; the rest are released for others to run.
 */
export async function runPollLoop(
  ports: GridPorts,
  dispatcher: Dispatcher,
  options: PollLoopOptions,
  signal: AbortSignal,
): Promise<void> {
  const maxLeases = options.maxLeases ?? 10;
  const visibilitySeconds = options.visibilitySeconds ?? 60;
  // Heartbeats go on while draining after `signal` aborts: the leases still running need them.
  const drained = new AbortController();
  const beats = (async () => {
    while (!drained.signal.aborted) {
      await ports.clock.sleep(options.heartbeatEveryMs ?? 1_000, drained.signal).catch(() => {});
      if (!drained.signal.aborted) await dispatcher.heartbeat().catch(() => 0);
    }
  })();
  let idle = false;
  const order = new WeightedOrder(options.queues.length);
  /** Idle long polls still out (each claims what it receives); awaited before the drain. */
  const background = new Set<Promise<number>>();
  // Tasks per ticket, as claimed so far: a worker takes only as many tickets as it can start
  // tasks for, so it never holds far more leased work than it runs.
  let tasksPerTicket = 1;
  while (!signal.aborted) {
    if (dispatcher.heldLeases >= maxLeases || dispatcher.startable <= 0) {
      // Full: the weighted order moves only with rounds that can take work.
      await ports.clock.sleep(5, signal).catch(() => {});
      continue;
    }
    const room = () => {
      const startable = dispatcher.startable;
      return startable <= 0
        ? 0
        : Math.min(10, maxLeases - dispatcher.heldLeases, Math.ceil(startable / tasksPerTicket));
    };
    /** Receives up to `max` tickets of a queue and claims them; resolves how many it received. */
    const take = async (queue: string, max: number, waitSeconds: number): Promise<number> => {
      let tickets: ReceivedTicket[] = [];
      try {
        tickets = await ports.queue.receive(queue, { max, waitSeconds, visibilitySeconds, signal });
      } catch {
        if (!signal.aborted) await ports.clock.sleep(500, signal).catch(() => {});
      }
      if (tickets.length === 0) return 0;
      const startable = dispatcher.startable;
      const won = await dispatcher.accept(queue, tickets, { visibilitySeconds });
      const taken = startable - dispatcher.startable;
      if (won.length > 0 && taken > 0) tasksPerTicket = 0.7 * tasksPerTicket + (0.3 * taken) / won.length;
      return tickets.length;
    };
    if (idle) {
      // Idle: every queue is long-polled at once, so work on any of them starts at once (polled
      // one after the other, a ticket on the last queue could wait out the others' long polls).
      // The rounds resume as soon as one queue had work; the other polls end in the background.
      const max = room();
      const wait = options.idleWaitSeconds ?? 2;
      const polls = options.queues.map((queue) => take(queue, max, wait));
      for (const p of polls) {
        background.add(p);
        void p.finally(() => background.delete(p));
      }
      idle = !(await new Promise<boolean>((resolve) => {
        let left = polls.length;
        for (const p of polls) void p.then((n) => (n > 0 ? resolve(true) : --left === 0 && resolve(false)));
      }));
      continue;
    }
    let got = 0;
    let asked = 0;
    for (const q of order.next()) {
      const max = room();
      if (max <= 0 || signal.aborted) break;
      asked++;
      got += await take(options.queues[q]!, max, 0);
    }
    // Idle only when every queue was asked and had nothing: a full worker that could not ask
    // must not long-poll the first queue next while another one has tickets.
    if (asked === options.queues.length) idle = got === 0;
    else if (got > 0) idle = false;
  }
  await Promise.all([...background]);
  dispatcher.beginShutdown();
  const finished = dispatcher.drain();
  const grace = typeof options.graceMs === "function" ? options.graceMs() : options.graceMs;
  if (!(await finishedWithin(ports, finished, grace ?? Number.POSITIVE_INFINITY))) {
    dispatcher.abortAll(AbortReason.SHUTDOWN);
    if (!(await finishedWithin(ports, finished, options.releaseWaitMs ?? 5_000)))
      await dispatcher.releaseAll();
  }
  drained.abort();
  await beats;
}

/** Result of processing an event-source batch, in the shape the SQS event source expects. */
export interface BatchOutcome {
  /** Receipts the event source must not delete (their tickets were re-timed or left). */
  failedReceipts: string[];
}

/**
 * Processes one SQS event-source batch (a Lambda worker): claims, runs and commits, with
 * heartbeats while tasks run. Tasks still running at `deadline` are aborted and retried later,
 * so the function returns before Lambda's own timeout. The dispatcher must use ack mode
 * "report": acknowledged tickets are reported as successes, everything else as failures.
 */
export async function processBatch(
  ports: GridPorts,
  dispatcher: Dispatcher,
  queue: string,
  tickets: readonly ReceivedTicket[],
  options: { deadline: number; heartbeatEveryMs?: number },
): Promise<BatchOutcome> {
  dispatcher.acker.forgetReports();
  const ids = await dispatcher.accept(queue, tickets);
  const finished = dispatcher.settle(ids);
  const stop = new AbortController();
  const beats = (async () => {
    let aborted = false;
    while (!stop.signal.aborted) {
      const now = ports.clock.now();
      if (now >= options.deadline && !aborted) {
        dispatcher.abortAll(AbortReason.DEADLINE);
        aborted = true;
      }
      // Past the deadline the passes go on (briefly): a task that ignores its abort is
      // abandoned by them, so the batch returns before Lambda's own timeout.
      const every = options.heartbeatEveryMs ?? 1_000;
      const wait = aborted ? Math.min(every, 250) : Math.min(every, options.deadline - now);
      await ports.clock.sleep(wait, stop.signal).catch(() => {});
      if (!stop.signal.aborted) await dispatcher.heartbeat().catch(() => 0);
    }
  })();
  await finished;
  stop.abort();
  await beats;
  await dispatcher.acker.flush();
  return {
    failedReceipts: tickets.filter((t) => !dispatcher.acker.isAcked(t.receipt)).map((t) => t.receipt),
  };
}
