import type { SlotResult } from "../engine/transitions.ts";
import type { ChunkRecord } from "../model/records.ts";

/** One task run under a held lease. */
export interface TaskRun {
  slot: number;
  index: number;
  attempt: number;
  controller: AbortController;
  /** Set when the heartbeat found its cancellation requested. */
  cancelRequested: boolean;
  result?: SlotResult | undefined;
  /** When the task's code was called (the worker's clock); its timeout counts from here. */
  startedAt?: number | undefined;
  /** When a sweep first saw the run aborted but still running. */
  abortSeenAt?: number | undefined;
  /** Stops waiting for the task's code: the run ends with this error (its promise is left behind). */
  abandon?: ((error: Error) => void) | undefined;
}

/** A chunk this worker holds a lease on, with its runs. */
export interface HeldLease {
  /** `{tenant}/{session}/{start}`. */
  id: string;
  queue: string;
  receipt: string;
  /** The last record this worker read or wrote: its version conditions the next write. */
  chunk: ChunkRecord;
  fence: number;
  runs: Map<number, TaskRun>;
  /** Taken over, released or abandoned: results are dropped, nothing more is written. */
  lost: boolean;
  /** A commit is being written (heartbeats skip the lease meanwhile). */
  committing: boolean;
  /** When this worker claimed it (its clock). */
  claimedAt: number;
  /** The session's cancel epoch when this worker last looked at the chunk. */
  cancelEpoch: number;
  /** Commits made before the lease's last run ended (cancelled runs), one after the other. */
  earlyCommits?: Promise<void> | undefined;
}

/** Reasons a dispatcher aborts a run. */
export const AbortReason = {
  CANCELLED: "cancelled",
  LEASE_LOST: "lease-lost",
  DEADLINE: "deadline",
  TIMEOUT: "timeout",
  SHUTDOWN: "shutdown",
} as const;
export type AbortReason = (typeof AbortReason)[keyof typeof AbortReason];

/** Marks a lease lost and aborts its runs. */
export function loseLease(lease: HeldLease, reason: AbortReason = AbortReason.LEASE_LOST): void {
  lease.lost = true;
  for (const run of lease.runs.values()) if (!run.result) run.controller.abort(reason);
}

/** Identity of a chunk within the grid. */
export function leaseId(chunk: { tenant: string; sessionId: string; start: number }): string {
  return `${chunk.tenant}/${chunk.sessionId}/${chunk.start}`;
}
