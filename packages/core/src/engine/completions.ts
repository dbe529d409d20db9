import type { ChunkRecord, CompletionEntry, TaskOutcome } from "../model/records.ts";
import { SlotCode } from "../model/status.ts";
import type { TaskView } from "../model/task.ts";
import { byteLength } from "./chunking.ts";
import { completionSk, groupOf } from "./keys.ts";
import { isLeaseLive } from "./lease.ts";

/**
 * Builds the completion entry for the outcomes a chunk write made terminal, and records its
 * sort key on `next` (mutated: it is the record about to be written in the same transaction).
 */
export function attachCompletion(
  next: ChunkRecord,
  outcomes: TaskOutcome[],
  committedAt: number,
  writer: { owner?: string | undefined; fence: number },
): CompletionEntry {
  const sortKey = completionSk(committedAt, next.start, next.commits.length);
  next.commits = [...next.commits, sortKey];
  return {
    tenant: next.tenant,
    sessionId: next.sessionId,
    group: groupOf(next.start),
    sortKey,
    chunkStart: next.start,
    fence: writer.fence,
    owner: writer.owner,
    committedAt,
    outcomes,
  };
}

/** Total UTF-8 size of the inline results of some outcomes. */
export function resultBytes(outcomes: readonly TaskOutcome[]): number {
  let total = 0;
  for (const o of outcomes) if (o.result !== undefined) total += byteLength(o.result);
  return total;
}

const STATUS_OF_SLOT: Record<string, TaskView["status"]> = {
  [SlotCode.QUEUED]: "QUEUED",
  [SlotCode.LEASED]: "LEASED",
  [SlotCode.CANCEL_REQUESTED]: "LEASED",
  [SlotCode.SUCCEEDED]: "SUCCEEDED",
  [SlotCode.FAILED]: "FAILED",
  [SlotCode.CANCELLED]: "CANCELLED",
};

/**
 * The view of one task. A slot still marked leased under an expired lease reads as QUEUED:
 * nobody runs it, and the next claim will. `outcome` is the task's terminal outcome, if any.
 */
export function viewTask(
  chunk: ChunkRecord,
  index: number,
  now: number,
  outcome?: TaskOutcome,
  finishedAt?: number,
): TaskView {
  const slot = index - chunk.start;
  const code = chunk.slots[slot]!;
  let status = STATUS_OF_SLOT[code]!;
  const live = isLeaseLive(chunk, now);
  if (status === "LEASED" && !live) status = "QUEUED";
  return {
    tenant: chunk.tenant,
    sessionId: chunk.sessionId,
    taskId: String(index),
    index,
    status,
    attempt: chunk.attempts[slot]!,
    maxAttempts: chunk.maxAttempts,
    owner: status === "LEASED" ? chunk.owner : undefined,
    leaseExpiresAt: status === "LEASED" ? chunk.leaseUntil : undefined,
    notBefore: status === "QUEUED" && chunk.notBefore > now ? chunk.notBefore : undefined,
    cancelRequested: code === SlotCode.CANCEL_REQUESTED,
    pool: chunk.pool,
    priority: chunk.priority,
    handler: chunk.handler,
    result: outcome?.result,
    resultRef: outcome?.resultRef,
    error: outcome?.error,
    createdAt: chunk.createdAt,
    updatedAt: chunk.updatedAt,
    finishedAt,
  };
}
