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
