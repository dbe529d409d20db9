/**
 * Grid-wide constants and defaults. Session-level settings (chunk size, lease, attempts)
 * default to these values and may be overridden per session within the bounds below.
 */
export const Limits = {
  /** Tasks per key group: chunk records, due entries and completions of a group share a partition key. */
  GROUP_SIZE: 4096,
  /** Highest task index (exclusive): indexes are zero-padded to 12 digits in sort keys. */
  MAX_TASK_INDEX: 1e12,
  /** Largest payload or result of one task. */
  MAX_TASK_BYTES: 32 * 1024 * 1024,
  /** Largest chunk payload that still travels inside its ticket (SQS allows 1 MiB; billed per 64 KiB). */
  TICKET_INLINE_BYTES: 60 * 1024,
  /** Results of one commit up to this size are stored in the completion entry, larger ones in a blob. */
  COMPLETION_INLINE_BYTES: 16 * 1024,
  /** A result larger than this is stored as its own blob and handed out as a download link. */
  LARGE_RESULT_BYTES: 256 * 1024,
  /**
   * Most result bytes one completion entry carries (inline or in its spill blob); beyond it the
   * largest results are stored alone. Bounds a results page that must hold one whole entry.
   */
  ENTRY_RESULT_BYTES: 1024 * 1024,
  /** Lifetime of presigned upload and download links. */
  LINK_SECONDS: 60 * 60,
  /** Longest task timeout a session or batch may set. */
  MAX_TASK_TIMEOUT_MS: 7 * 24 * 60 * 60_000,
  /** Largest number of tasks in one submit batch. */
  MAX_BATCH_TASKS: 10_000,
  /** Upper bound of maxAttempts (the DLQ's maxReceiveCount sits well above it). */
  MAX_ATTEMPTS: 20,
  /** SQS caps a message's invisibility at 12 hours. */
  MAX_VISIBILITY_SECONDS: 12 * 60 * 60,
  /** SQS caps DelaySeconds at 15 minutes. */
  MAX_DELAY_SECONDS: 15 * 60,
} as const;

/**
 * Days the grid keeps what it stores: the bucket expires payloads and results this long after
 * they were written (its lifecycle rule), and the table each item this long after the grid's
 * last write of it (DynamoDB TTL on `expiresAt`). Deployments set TESSERA_RETENTION_DAYS.
 */
export const DEFAULT_RETENTION_DAYS = 30;

/** Per-session settings with their defaults. */
export interface SessionConfig {
  /** Worker pool whose queues carry this session's tickets. @default "default" */
  pool: string;
  /** Queue class of the session's tickets. @default "normal" */
  priority: "high" | "normal" | "low";
  /** Attempts per task before it is FAILED. @default 3 */
  maxAttempts: number;
  /** Lease length of a claimed chunk; heartbeats extend it once a third of it has passed. @default 60000 */
  leaseMs: number;
  /** Most tasks in one chunk (the lease unit). @default 64 */
  chunkMaxTasks: number;
  /** Most payload bytes in one chunk; a larger task travels alone. @default 48 KiB */
  chunkMaxBytes: number;
  /** First retry delay cap; doubles per attempt (full jitter). @default 1000 */
  backoffBaseMs: number;
  /** Largest retry delay. @default 300000 */
  backoffMaxMs: number;
  /**
   * Longest a task may run: past it the run is stopped and the attempt fails with TIMEOUT
   * (retried up to maxAttempts). A submit batch may set its own. @default 3600000 (1 hour)
   */
  taskTimeoutMs: number;
}

/** Defaults applied to every new session. */
export const DEFAULT_SESSION_CONFIG: SessionConfig = {
  pool: "default",
  priority: "normal",
  maxAttempts: 3,
  leaseMs: 60_000,
  chunkMaxTasks: 64,
  chunkMaxBytes: 48 * 1024,
  backoffBaseMs: 1_000,
  backoffMaxMs: 300_000,
  taskTimeoutMs: 60 * 60_000,
};

/** Timing of the reaper's safety net. */
export interface ReaperTiming {
  /** How long a queued chunk may wait for its ticket before the reaper sends another. @default 15 min */
  ticketGraceMs: number;
  /**
   * Extra time past a lease's expiry before the reaper re-drives it, to its pool's high queue
   * (the chunk's own ticket comes back at the lease's end too, but behind any backlog). @default 5 s
   */
  leaseGraceMs: number;
}

/** Default reaper timing. */
export const DEFAULT_REAPER_TIMING: ReaperTiming = {
  ticketGraceMs: 15 * 60_000,
  leaseGraceMs: 5_000,
};
