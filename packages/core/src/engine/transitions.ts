/**
 * The chunk state machine: pure functions from (record, event, now) to the next record and
 * the task outcomes it makes terminal. Callers write the result conditionally on the record's
 * version, so a transition computed from a stale read never lands.
 */
import type { ReaperTiming } from "../model/limits.ts";
import type { ChunkRecord, FailedRun, TaskError, TaskOutcome } from "../model/records.ts";
import { isTerminalSlot, SessionState, SlotCode } from "../model/status.ts";
import { backoffDelayMs } from "./backoff.ts";
import { isLeaseLive } from "./lease.ts";

/** A task a claim made runnable. */
export interface RunnableTask {
  slot: number;
  index: number;
  /** Attempt number of this run (1-based). */
  attempt: number;
}

/** Result of running one task. */
export type SlotResult =
  | { ok: true; result: string | undefined; ms?: number | undefined }
  | {
      ok: false;
      error: TaskError;
      /** How long the run took, by its worker's clock (absent for a run that never started). */
      ms?: number | undefined;
      /** The run ended because it was cancelled. */
      cancelled?: boolean;
      /**
       * The worker gave the task back unfinished (it is shutting down, or the task never
       * started): the task is queued again at once, and the attempt does not count.
       */
      released?: boolean;
      /** A released task waits this long before it is tried again (the store kept failing). */
      retryAfterMs?: number;
    };

/** What a claim found and, if anything, what to write. */
export type ClaimPlan =
  /** Every task is terminal: acknowledge the ticket. */
  | { kind: "settled" }
  /** Another live lease holds the chunk: its ticket may be offered again when the lease ends. */
  | { kind: "busy"; leaseUntil: number }
  /** A careful claim (see planClaim) with no task slot free to start one now: try again soon. */
  | { kind: "defer" }
  /** Retry backoff: the chunk may not be claimed before `notBefore`. */
  | { kind: "wait"; notBefore: number }
  /** Nothing left to run, but some tasks became terminal (cancelled, attempts exhausted). */
  | { kind: "finalize"; next: ChunkRecord; outcomes: TaskOutcome[] }
  /**
   * A new lease: run `runnable` under `next.fence`. `careful`: the claim charged its runs now,
   * so they must start at once.
   */
  | { kind: "claim"; next: ChunkRecord; outcomes: TaskOutcome[]; runnable: RunnableTask[]; careful: boolean };

/** What becomes of the ticket after a commit. */
export type TicketAction = { kind: "ack" } | { kind: "keep" } | { kind: "delay"; until: number };

/** Result of applying a commit. */
export type CommitPlan =
  /** The lease was taken over (or released): the results are discarded. */
  | { kind: "lost" }
  | {
      kind: "committed";
      next: ChunkRecord;
      outcomes: TaskOutcome[];
      ticket: TicketAction;
      /** Runs that failed and go back to the queue (their tasks have attempts left). */
      retried: FailedRun[];
    };

/** Result of a heartbeat. */
export type HeartbeatPlan =
  | { kind: "lost" }
  | { kind: "extended"; next: ChunkRecord /** slots whose cancellation was requested */; abort: number[] };

/** Result of a reaper look at a due chunk. */
export type ReapPlan =
  | { kind: "none" }
  /** Every task is terminal: drop the chunk from the due index. */
  | { kind: "cleanup"; next: ChunkRecord }
  /** Send a fresh ticket and look again later. */
  | { kind: "redrive"; next: ChunkRecord };

/** Context of a claim. */
export interface ClaimContext {
  now: number;
  owner: string;
  sessionState: SessionState;
  timing: ReaperTiming;
  /**
   * Tasks the claiming worker can start at once (free task slots): a careful claim leases no
   * more than this. @default unlimited
   */
  startable?: number | undefined;
}

/** Re-drive intervals double up to 2^2 = 4 × ticketGraceMs. */
const MAX_REDRIVE_DOUBLINGS = 2;

function allTerminal(slots: string): boolean {
  for (let i = 0; i < slots.length; i++) if (!isTerminalSlot(slots[i]!)) return false;
  return true;
}

function hasLeasedSlot(slots: string): boolean {
  return slots.includes(SlotCode.LEASED) || slots.includes(SlotCode.CANCEL_REQUESTED);
}

function withWrite(chunk: ChunkRecord, now: number): ChunkRecord {
  return { ...chunk, version: chunk.version + 1, updatedAt: now, attempts: [...chunk.attempts] };
}

function released(next: ChunkRecord): void {
  next.owner = undefined;
  next.leasedAt = undefined;
  next.leaseUntil = undefined;
  next.charged = undefined;
}

/** The attempt number of the run of a leased slot: its charge is taken at claim or at commit. */
export function runAttempt(chunk: ChunkRecord, slot: number): number {
  return chunk.charged ? chunk.attempts[slot]! : chunk.attempts[slot]! + 1;
}

const CANCELLED_ERROR: TaskError = { code: "CANCELLED", message: "task cancelled" };

/**
 * Claims a chunk for `owner`. Fenced: the new lease bumps `fence`. A task whose cancellation was
 * requested, or whose session was cancelled, is CANCELLED; one whose charged attempts are used
 * up (its last run's charged lease expired) is FAILED; the rest are leased to run.
 *
 * Attempts are charged to runs that started, so that no dead worker (a SIGKILL, a spot
 * reclaim, a crashed host) fails tasks it held but never ran:
 * - A plain claim leases every runnable task and charges nothing: each run is charged when it
 *   is committed. If the worker dies first, its runs cost nothing and run again.
 * - A claim after a lease of the chunk expired (its worker died or stalled, perhaps killed by
 *   one of these very tasks) is careful: it leases only the tasks the worker can start at once
 *   (`startable`), in slot order, and charges them now; the rest stay queued for the next
 *   claim. So a task that kills every worker that runs it is charged each time it runs and ends
 *   FAILED after maxAttempts, while its neighbours are never charged for it.
 * A worker that finds its own live lease on the chunk (its claim landed but the answer was
 * lost) takes it over again without charging anything.
 */
export function planClaim(chunk: ChunkRecord, ctx: ClaimContext): ClaimPlan {
  const { now } = ctx;
  if (allTerminal(chunk.slots)) return { kind: "settled" };
  const retake = isLeaseLive(chunk, now) && chunk.owner === ctx.owner;
  if (isLeaseLive(chunk, now) && !retake) return { kind: "busy", leaseUntil: chunk.leaseUntil! };
  const cancelAll = ctx.sessionState === SessionState.CANCELLED;
  if (chunk.notBefore > now && !cancelAll && !retake) return { kind: "wait", notBefore: chunk.notBefore };

  // A lease that left leased slots behind without a commit expired (or, retaken, never ran).
  const careful = !retake && hasLeasedSlot(chunk.slots);
  let room = careful ? (ctx.startable ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
  if (room <= 0) return { kind: "defer" };
  const next = withWrite(chunk, now);
  const slots = chunk.slots.split("");
  const outcomes: TaskOutcome[] = [];
  const runnable: RunnableTask[] = [];
  for (let slot = 0; slot < slots.length; slot++) {
    const code = slots[slot]!;
    if (isTerminalSlot(code)) continue;
    const index = chunk.start + slot;
    const attempt = next.attempts[slot]!;
    if (code === SlotCode.CANCEL_REQUESTED || cancelAll) {
      slots[slot] = SlotCode.CANCELLED;
      outcomes.push({ index, status: "CANCELLED", attempt, error: CANCELLED_ERROR });
    } else if (attempt >= chunk.maxAttempts && !retake) {
      slots[slot] = SlotCode.FAILED;
      outcomes.push({
        index,
        status: "FAILED",
        attempt,
        error: {
          code: "LEASE_EXPIRED",
          message: `lease of attempt ${attempt} expired and no attempts are left`,
        },
      });
    } else if (retake) {
      if (code === SlotCode.LEASED) runnable.push({ slot, index, attempt: runAttempt(chunk, slot) });
    } else if (room <= 0) {
      slots[slot] = SlotCode.QUEUED; // a careful claim leaves it for the next one
    } else {
      slots[slot] = SlotCode.LEASED;
      if (careful) {
        next.attempts[slot] = attempt + 1;
        room--;
      }
      runnable.push({ slot, index, attempt: attempt + 1 });
    }
  }
  next.slots = slots.join("");
  if (runnable.length === 0) {
    released(next);
    next.due = allTerminal(next.slots) ? undefined : now + ctx.timing.ticketGraceMs;
    return { kind: "finalize", next, outcomes };
  }
  next.fence = chunk.fence + 1;
  next.redrives = 0; // a claim proves the ticket path works: the re-drive backoff starts over
  next.owner = ctx.owner;
  if (!retake) {
    next.charged = careful ? true : undefined;
    next.leasedAt = now;
    next.leaseUntil = now + chunk.leaseMs;
    next.due = next.leaseUntil + ctx.timing.leaseGraceMs;
  }
  return { kind: "claim", next, outcomes, runnable, careful };
}

/** Context of a commit. */
export interface CommitContext {
  now: number;
  owner: string;
  fence: number;
  timing: ReaperTiming;
  /** Uniform draw in [0, 1) for the backoff jitter. */
  random: number;
}

/**
 * Applies the results of a lease's runs. Fenced on (owner, fence): a worker whose lease was
 * taken over gets `lost` and writes nothing. A handler error is a failure: it is retried after
 * a jittered backoff until `maxAttempts`, then FAILED with the error recorded. A task whose
 * cancellation was requested ends CANCELLED unless it succeeded: a finished result is never
 * rewritten as cancelled. Slots without a result stay leased.
 */
export function applyCommit(
  chunk: ChunkRecord,
  results: ReadonlyMap<number, SlotResult>,
  ctx: CommitContext,
): CommitPlan {
  if (chunk.fence !== ctx.fence || chunk.owner !== ctx.owner) return { kind: "lost" };
  const { now } = ctx;
  const next = withWrite(chunk, now);
  const slots = chunk.slots.split("");
  const outcomes: TaskOutcome[] = [];
  const retried: FailedRun[] = [];
  let retryAttempt = 0;
  let retryAfterMs = 0;
  for (const [slot, res] of results) {
    const code = slots[slot];
    if (code !== SlotCode.LEASED && code !== SlotCode.CANCEL_REQUESTED) continue;
    const index = chunk.start + slot;
    // The run's attempt: charged now unless the lease was charged at claim.
    const attempt = runAttempt(chunk, slot);
    if (res.ok) {
      slots[slot] = SlotCode.SUCCEEDED;
      next.attempts[slot] = attempt;
      outcomes.push({ index, status: "SUCCEEDED", attempt, result: res.result, ms: res.ms });
    } else if (res.released && !res.cancelled && code === SlotCode.LEASED) {
      slots[slot] = SlotCode.QUEUED;
      next.attempts[slot] = attempt - 1;
      retryAfterMs = Math.max(retryAfterMs, res.retryAfterMs ?? 0);
    } else if (code === SlotCode.CANCEL_REQUESTED || res.cancelled) {
      // A cancelled run that never started is charged nothing.
      slots[slot] = SlotCode.CANCELLED;
      const at = res.released ? attempt - 1 : attempt;
      next.attempts[slot] = at;
      outcomes.push({ index, status: "CANCELLED", attempt: at, error: CANCELLED_ERROR });
    } else if (attempt >= chunk.maxAttempts) {
      slots[slot] = SlotCode.FAILED;
      next.attempts[slot] = attempt;
      outcomes.push({ index, status: "FAILED", attempt, error: res.error, ms: res.ms });
    } else {
      slots[slot] = SlotCode.QUEUED;
      next.attempts[slot] = attempt;
      retryAttempt = Math.max(retryAttempt, attempt);
      retried.push({ index, attempt, error: res.error, ms: res.ms });
    }
  }
  next.slots = slots.join("");
  let ticket: TicketAction;
  if (hasLeasedSlot(next.slots)) {
    next.due = (chunk.leaseUntil ?? now) + ctx.timing.leaseGraceMs;
    // A failure committed while other runs still go keeps its backoff for the final commit.
    if (retryAttempt > 0)
      next.notBefore = Math.max(
        chunk.notBefore,
        now + backoffDelayMs(retryAttempt, chunk.backoffBaseMs, chunk.backoffMaxMs, ctx.random),
      );
    ticket = { kind: "keep" };
  } else {
    released(next);
    if (allTerminal(next.slots)) {
      next.due = undefined;
      ticket = { kind: "ack" };
    } else {
      // Released tasks (and those a careful claim left queued) go back at once; a failure
      // among them sets the backoff.
      const delay = Math.max(
        retryAfterMs,
        retryAttempt === 0
          ? 0
          : backoffDelayMs(retryAttempt, chunk.backoffBaseMs, chunk.backoffMaxMs, ctx.random),
      );
      // An earlier (early) commit's backoff is kept if it ends later.
      next.notBefore = Math.max(now + delay, chunk.notBefore);
      next.due = next.notBefore + ctx.timing.ticketGraceMs;
      ticket = { kind: "delay", until: next.notBefore };
    }
  }
  return { kind: "committed", next, outcomes, ticket, retried };
}

/**
 * Extends a held lease by a full lease length, fenced on (owner, fence), and reports the
 * slots whose cancellation was requested so their runs can be aborted.
 */
export function planHeartbeat(
  chunk: ChunkRecord,
  ctx: { now: number; owner: string; fence: number; timing: ReaperTiming },
): HeartbeatPlan {
  if (chunk.fence !== ctx.fence || chunk.owner !== ctx.owner || !hasLeasedSlot(chunk.slots))
    return { kind: "lost" };
  const next = withWrite(chunk, ctx.now);
  next.leasedAt = ctx.now;
  next.leaseUntil = ctx.now + chunk.leaseMs;
  next.due = next.leaseUntil + ctx.timing.leaseGraceMs;
  const abort: number[] = [];
  for (let slot = 0; slot < chunk.slots.length; slot++) {
    if (chunk.slots[slot] === SlotCode.CANCEL_REQUESTED) abort.push(slot);
  }
  return { kind: "extended", next, abort };
}

/**
 * Requests cancellation of some slots (or all). Queued tasks become CANCELLED at once and can
 * never start; leased ones are marked so their worker aborts them at its next heartbeat;
 * terminal ones are left as they are. Returns `undefined` when nothing changes.
 */
export function requestCancel(
  chunk: ChunkRecord,
  which: readonly number[] | "all",
  now: number,
): { next: ChunkRecord; outcomes: TaskOutcome[] } | undefined {
  const slots = chunk.slots.split("");
  const targets = which === "all" ? slots.map((_, i) => i) : which;
  const outcomes: TaskOutcome[] = [];
  let changed = false;
  for (const slot of targets) {
    const code = slots[slot];
    if (code === SlotCode.QUEUED) {
      slots[slot] = SlotCode.CANCELLED;
      outcomes.push({
        index: chunk.start + slot,
        status: "CANCELLED",
        attempt: chunk.attempts[slot]!,
        error: CANCELLED_ERROR,
      });
      changed = true;
    } else if (code === SlotCode.LEASED) {
      slots[slot] = SlotCode.CANCEL_REQUESTED;
      changed = true;
    }
  }
  if (!changed) return undefined;
  const next = withWrite(chunk, now);
  next.slots = slots.join("");
  if (allTerminal(next.slots)) {
    released(next);
    next.due = undefined;
  }
  return { next, outcomes };
}

/**
 * A reaper look at a chunk whose `due` time passed: whatever a crash left behind (an expired
 * lease, a lost or never-sent ticket) gets a fresh ticket, and the next look is pushed out
 * with doubling intervals (up to 4 × ticketGraceMs) so a long backlog is not flooded with
 * duplicates.
 */
export function planReap(chunk: ChunkRecord, now: number, timing: ReaperTiming): ReapPlan {
  if (allTerminal(chunk.slots)) {
    if (chunk.due === undefined) return { kind: "none" };
    const next = withWrite(chunk, now);
    next.due = undefined;
    released(next);
    return { kind: "cleanup", next };
  }
  if (chunk.due !== undefined && chunk.due > now) return { kind: "none" };
  const next = withWrite(chunk, now);
  // Doubling keeps a deep backlog from being flooded with duplicate tickets; the cap keeps a
  // chunk whose re-driven tickets were lost from waiting hours (claims reset the count).
  const interval = timing.ticketGraceMs * 2 ** Math.min(chunk.redrives, MAX_REDRIVE_DOUBLINGS);
  next.due = Math.max(now, chunk.notBefore) + interval;
  next.redrives = chunk.redrives + 1;
  return { kind: "redrive", next };
}

/**
 * What a dead-lettered ticket changes: nothing while a live lease holds the chunk. Otherwise a
 * dead-lettered ticket says only that it was received many times without being done (minutes of
 * throttling, a store that kept failing): tasks whose charged attempts are used up are FAILED
 * with DEAD_LETTERED, cancel requests become CANCELLED, and every other task is queued again
 * (`redrive`: the caller sends a fresh ticket), its attempts untouched. Returns `undefined` when
 * nothing changes.
 */
export function deadLetter(
  chunk: ChunkRecord,
  now: number,
  receiveCount: number,
  timing: ReaperTiming,
): { next: ChunkRecord; outcomes: TaskOutcome[]; redrive: boolean } | undefined {
  if (allTerminal(chunk.slots) || isLeaseLive(chunk, now)) return undefined;
  const slots = chunk.slots.split("");
  const outcomes: TaskOutcome[] = [];
  for (let slot = 0; slot < slots.length; slot++) {
    if (isTerminalSlot(slots[slot]!)) continue;
    const attempt = chunk.attempts[slot]!;
    if (slots[slot] === SlotCode.CANCEL_REQUESTED) {
      slots[slot] = SlotCode.CANCELLED;
      outcomes.push({ index: chunk.start + slot, status: "CANCELLED", attempt, error: CANCELLED_ERROR });
    } else if (attempt >= chunk.maxAttempts) {
      slots[slot] = SlotCode.FAILED;
      outcomes.push({
        index: chunk.start + slot,
        status: "FAILED",
        attempt,
        error: { code: "DEAD_LETTERED", message: `ticket dead-lettered after ${receiveCount} receives` },
      });
    } else {
      slots[slot] = SlotCode.QUEUED;
    }
  }
  const next = withWrite(chunk, now);
  next.slots = slots.join("");
  released(next);
  const redrive = !allTerminal(next.slots);
  next.due = redrive ? Math.max(now, chunk.notBefore) + timing.ticketGraceMs : undefined;
  return { next, outcomes, redrive };
}
