/**
 * The runs of a task that its records keep: the failed runs that were retried (failed-run
 * entries, written with the commit that sent the task back to the queue), the run under a live
 * lease (the chunk record: attempt and owner) and the run that finished the task (its
 * completion entry: attempt, error, duration and the lease owner that committed it). A run that
 * ended without a commit (its worker died) leaves no record.
 */
import type { ChunkRecord, FailedRunsEntry, TaskOutcome } from "../model/records.ts";
import { SlotCode } from "../model/status.ts";
import type { AttemptView } from "../model/task.ts";
import { isLeaseLive } from "./lease.ts";
import { runAttempt } from "./transitions.ts";

/** How a task finished: its outcome, when the commit landed and who wrote it. */
export interface FinishedRun {
  outcome: TaskOutcome;
  committedAt: number;
  owner?: string | undefined;
}

/** The runs of task `index` of `chunk` that the records keep, oldest first. */
export function taskAttempts(
  chunk: ChunkRecord,
  index: number,
  now: number,
  finished?: FinishedRun,
  failedRuns: readonly FailedRunsEntry[] = [],
): AttemptView[] {
  const earlier: AttemptView[] = [];
  for (const entry of failedRuns)
    for (const run of entry.runs)
      if (run.index === index)
        earlier.push({
          attempt: run.attempt,
          startedAt: run.ms === undefined ? undefined : entry.at - run.ms,
          endedAt: entry.at,
          durationMs: run.ms,
          worker: entry.owner,
          error: run.error,
        });
  earlier.sort((a, b) => a.attempt - b.attempt || a.endedAt! - b.endedAt!);
  // A task cancelled while it waited to be retried ends with its last failed run's number: the
  // cancel is its status, not another run.
  const last = lastRuns(chunk, index, now, finished).filter(
    (run) => !(finished?.outcome.status === "CANCELLED" && earlier.some((e) => e.attempt === run.attempt)),
  );
  return [...earlier, ...last];
}

/** The run that finished the task, or the one running now. */
function lastRuns(chunk: ChunkRecord, index: number, now: number, finished?: FinishedRun): AttemptView[] {
  const slot = index - chunk.start;
  const code = chunk.slots[slot];
  if (finished) {
    const { outcome, committedAt, owner } = finished;
    // Cancelled before it ever ran: no run to show.
    if (outcome.attempt === 0) return [];
    const ms = outcome.ms;
    return [
      {
        attempt: outcome.attempt,
        startedAt: ms === undefined ? undefined : committedAt - ms,
        endedAt: committedAt,
        durationMs: ms,
        worker: owner,
        error: outcome.error,
      },
    ];
  }
  if ((code === SlotCode.LEASED || code === SlotCode.CANCEL_REQUESTED) && isLeaseLive(chunk, now))
    return [{ attempt: runAttempt(chunk, slot), worker: chunk.owner }];
  return [];
}
