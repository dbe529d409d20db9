import type { ChunkRecord } from "../model/records.ts";
import { SlotCode } from "../model/status.ts";
import { isLeaseLive } from "./lease.ts";

/** Tasks of a session by state. */
export interface TaskCounts {
  /** Every task submitted. */
  total: number;
  /** Waiting for a worker (new, retrying, or held under an expired lease). */
  queued: number;
  /** Held by a worker under a live lease. */
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** Counts with every field zero. */
export function zeroCounts(): TaskCounts {
  return { total: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

/**
 * Adds the tasks of `chunk` to `counts` (mutated), reading slots the way a task view does: a
 * slot still marked leased under an expired lease counts as queued.
 */
export function countChunk(counts: TaskCounts, chunk: ChunkRecord, now: number): TaskCounts {
  const live = isLeaseLive(chunk, now);
  for (const code of chunk.slots) {
    counts.total++;
    switch (code) {
      case SlotCode.SUCCEEDED:
        counts.succeeded++;
        break;
      case SlotCode.FAILED:
        counts.failed++;
        break;
      case SlotCode.CANCELLED:
        counts.cancelled++;
        break;
      case SlotCode.LEASED:
      case SlotCode.CANCEL_REQUESTED:
        if (live) counts.running++;
        else counts.queued++;
        break;
      default:
        counts.queued++;
    }
  }
  return counts;
}

/** Tasks that reached a terminal state. */
export function finishedCount(counts: TaskCounts): number {
  return counts.succeeded + counts.failed + counts.cancelled;
}

/**
 * Stored task counters of a session (kept in shards, summed on read): tasks inserted, and tasks
 * per slot state other than queued (queued = tasks minus the rest).
 */
export interface SlotCounters {
  tasks: number;
  leased: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** Counters with every field zero. */
export function zeroCounters(): SlotCounters {
  return { tasks: 0, leased: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

const COUNTER_OF_SLOT: Record<string, keyof SlotCounters | undefined> = {
  [SlotCode.LEASED]: "leased",
  [SlotCode.CANCEL_REQUESTED]: "leased",
  [SlotCode.SUCCEEDED]: "succeeded",
  [SlotCode.FAILED]: "failed",
  [SlotCode.CANCELLED]: "cancelled",
};

/**
 * How the session's counters change when a chunk's slots go from `before` to `after`; empty
 * when no task changed state (a lease extension, a re-claim of leased tasks).
 */
export function counterDelta(before: string, after: string): Partial<SlotCounters> {
  const delta: Partial<SlotCounters> = {};
  for (let i = 0; i < after.length; i++) {
    const a = before[i];
    const b = after[i];
    if (a === b) continue;
    const from = a === undefined ? undefined : COUNTER_OF_SLOT[a];
    const to = b === undefined ? undefined : COUNTER_OF_SLOT[b];
    if (from === to) continue;
    if (from) delta[from] = (delta[from] ?? 0) - 1;
    if (to) delta[to] = (delta[to] ?? 0) + 1;
  }
  for (const k of Object.keys(delta) as (keyof SlotCounters)[]) if (delta[k] === 0) delete delta[k];
  return delta;
}

/** Task counts as a status view shows them, from a session's stored counters. */
export function countsOf(c: SlotCounters): TaskCounts {
  return {
    total: c.tasks,
    queued: c.tasks - c.leased - c.succeeded - c.failed - c.cancelled,
    running: c.leased,
    succeeded: c.succeeded,
    failed: c.failed,
    cancelled: c.cancelled,
  };
}
