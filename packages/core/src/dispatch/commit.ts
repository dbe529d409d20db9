import { byteLength } from "../engine/chunking.ts";
import { attachCompletion, resultBytes } from "../engine/completions.ts";
import { completionSk, groupOf, largeResultBlobKey, resultsBlobKey } from "../engine/keys.ts";
import { secondsUntil } from "../engine/lease.ts";
import { applyCommit, type SlotResult } from "../engine/transitions.ts";
import { Limits } from "../model/limits.ts";
import type { CompletionEntry, FailedRun } from "../model/records.ts";
import { chunkWrite } from "../ports/task-store.ts";
import type { GridPorts } from "./grid-ports.ts";
import { type HeldLease, loseLease } from "./held-lease.ts";
import type { TicketAcker } from "./ticket-acker.ts";

/**
 * A commit that took longer than this to land is re-published under a fresh sort key, so a
 * results reader whose overlap window already passed its original time still sees it.
 */
export const LATE_COMMIT_MS = 2_000;

/** Tries of an early commit (best effort: the lease's final commit writes its results too). */
const EARLY_COMMIT_ATTEMPTS = 6;
/** Longest wait between two tries of a commit. */
const MAX_COMMIT_BACKOFF_MS = 2_000;

/**
 * Stores results too large for the entry in blobs, written before the entry points to them: a
 * result over LARGE_RESULT_BYTES (and the largest ones while the entry's results exceed
 * ENTRY_RESULT_BYTES) alone, read back through a download link; the rest, when they exceed
 * COMPLETION_INLINE_BYTES, together in one blob. Blob keys depend only on the task and attempt,
 * so a retried commit rewrites the same blobs.
 */
async function spillResults(ports: GridPorts, entry: CompletionEntry): Promise<void> {
  let total = resultBytes(entry.outcomes);
  const bySize = entry.outcomes
    .map((o, i) => ({ i, size: o.result === undefined ? 0 : byteLength(o.result) }))
    .sort((a, b) => b.size - a.size);
  const outcomes = [...entry.outcomes];
  for (const { i, size } of bySize) {
    if (size === 0 || (size <= Limits.LARGE_RESULT_BYTES && total <= Limits.ENTRY_RESULT_BYTES)) break;
    const o = outcomes[i]!;
    const ref = largeResultBlobKey(entry, o.index, o.attempt);
    await ports.blobs.put(ref, o.result!);
    outcomes[i] = { ...o, result: undefined, resultRef: ref };
    total -= size;
  }
  entry.outcomes = outcomes;
  if (total <= Limits.COMPLETION_INLINE_BYTES) return;
  const key = resultsBlobKey(entry, entry.sortKey);
  await ports.blobs.put(key, JSON.stringify(entry.outcomes.map((o) => o.result ?? null)));
  entry.resultsKey = key;
  entry.outcomes = entry.outcomes.map(({ result: _result, ...rest }) => rest);
}

/**
 * A retried run's error keeps this many characters (the task's final error keeps up to 1,000).
 */
export const FAILED_RUN_MESSAGE_CHARS = 200;

/**
 * Most bytes of one failed-run entry's runs (DynamoDB items hold 400 KB): a chunk of 500 tasks
 * that all fail at once, with long or escaped messages, has its messages cut shorter to fit.
 */
export const FAILED_RUNS_MAX_BYTES = 64 * 1024;

/** The runs as stored: messages cut to FAILED_RUN_MESSAGE_CHARS, and shorter while over budget. */
export function boundedRuns(runs: readonly FailedRun[]): FailedRun[] {
  const cut = (chars: number) =>
    runs.map((r) =>
      r.error && r.error.message.length > chars
        ? {
            ...r,
            error: { code: r.error.code, message: chars > 0 ? `${r.error.message.slice(0, chars)}…` : "" },
          }
        : r,
    );
  let chars = FAILED_RUN_MESSAGE_CHARS;
  let out = cut(chars);
  while (chars > 0 && Buffer.byteLength(JSON.stringify(out)) > FAILED_RUNS_MAX_BYTES) {
    chars = Math.floor(chars / 2);
    out = cut(chars);
  }
  return out;
}

/**
 * Commits the results of a lease: conditional on the version last read, and fenced on
 * (owner, fence) by the transition, so a worker whose lease was taken over writes nothing.
 * Version conflicts (a heartbeat, a cancel request) are re-read and re-decided. Store errors
 * (throttling, an outage) are retried with a backoff up to 2 s for as long as the lease lasts:
 * only once it has ended, and another worker may hold the chunk, are the results given up (and
 * since a run is charged only when committed, that costs the tasks no attempt). Returns the
 * completion entry written, if any; after a commit the ticket is acknowledged, re-timed to the
 * retry backoff, or kept.
 */
export async function commitLease(
  ports: GridPorts,
  owner: string,
  acker: TicketAcker,
  lease: HeldLease,
  options: {
    keepOnFailure?: boolean;
    /**
     * The caller takes the chunk up again itself when tasks are left to run at once (a careful
     * lease's leftovers): the ticket is then left hidden instead of being offered again.
     * Returns whether it did.
     */
    onRunnableLeft?: () => boolean;
  } = {},
): Promise<CompletionEntry | undefined> {
  const results = new Map<number, SlotResult>();
  for (const run of lease.runs.values()) if (run.result) results.set(run.slot, run.result);
  lease.committing = true;
  try {
    const backoff = (attempt: number) =>
      ports.clock.sleep(Math.min(MAX_COMMIT_BACKOFF_MS, 50 * 2 ** attempt)).catch(() => {});
    for (let attempt = 0; ; attempt++) {
      if (lease.lost) return undefined;
      const now = ports.clock.now();
      if (
        attempt > 0 &&
        (options.keepOnFailure ? attempt >= EARLY_COMMIT_ATTEMPTS : now >= (lease.chunk.leaseUntil ?? now))
      )
        break;
      const plan = applyCommit(lease.chunk, results, {
        now,
        owner,
        fence: lease.fence,
        timing: ports.timing,
        random: ports.random(),
      });
      if (plan.kind === "lost") {
        loseLease(lease);
        return undefined;
      }
      const completion =
        plan.outcomes.length > 0
          ? attachCompletion(plan.next, plan.outcomes, now, { owner, fence: lease.fence })
          : undefined;
      // A retried task's failed run is kept for its view (only when a failure retries).
      const failedRuns =
        plan.retried.length > 0
          ? {
              tenant: plan.next.tenant,
              sessionId: plan.next.sessionId,
              group: groupOf(plan.next.start),
              chunkStart: plan.next.start,
              version: plan.next.version,
              at: now,
              owner,
              runs: boundedRuns(plan.retried),
            }
          : undefined;
      let result: string | undefined;
      try {
        if (completion) await spillResults(ports, completion);
        [result] = await ports.store.writeChunks([
          chunkWrite(lease.chunk, plan.next, completion, failedRuns),
        ]);
      } catch {
        await backoff(attempt);
      }
      if (result === "error") await backoff(attempt);
      if (result === "ok") {
        lease.chunk = plan.next;
        if (completion && ports.clock.now() - now > LATE_COMMIT_MS) await republish(ports, completion);
        if (plan.ticket.kind === "ack") acker.ack(lease.queue, lease.receipt);
        else if (plan.ticket.kind === "delay") {
          const now = ports.clock.now();
          if (!(plan.ticket.until <= now && options.onRunnableLeft?.()))
            acker.retime(lease.queue, lease.receipt, secondsUntil(plan.ticket.until, now));
        }
        return completion;
      }
      // Conflict, or an error after which the write may or may not have landed: re-read.
      try {
        const [fresh] = await ports.store.getChunks([lease.chunk]);
        if (!fresh) {
          loseLease(lease);
          return undefined;
        }
        lease.chunk = fresh;
      } catch {
        await backoff(attempt);
      }
    }
    // Give up: the lease expires and the tasks run again; an early commit (other runs still
    // going) just stops trying, the lease's final commit writes its results.
    if (!options.keepOnFailure) loseLease(lease);
    return undefined;
  } finally {
    lease.committing = false;
  }
}

async function republish(ports: GridPorts, entry: CompletionEntry): Promise<void> {
  const seq = Number(entry.sortKey.slice(-3));
  const copy = { ...entry, sortKey: completionSk(ports.clock.now(), entry.chunkStart, seq) };
  try {
    await ports.store.putCompletion(copy);
  } catch {
    // Best effort: the entry is stored; a reader that missed it finds it by a full re-read.
  }
}
