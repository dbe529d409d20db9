import type { SessionConfig } from "./limits.ts";
import type { SessionState } from "./status.ts";

/** Identifies a session: every record and object is scoped by its tenant. */
export interface SessionKey {
  readonly tenant: string;
  readonly sessionId: string;
}

/** The stored session: settings, state and how far its task index space extends. */
export interface SessionRecord extends SessionKey {
  /** Optimistic-concurrency version, bumped by every write of the record. */
  version: number;
  state: SessionState;
  config: SessionConfig;
  tags: Record<string, string>;
  /**
   * True once, after the session left OPEN, every key group was sealed: no submit can insert a
   * task any more, so readers may call the session settled as soon as its tasks are terminal.
   */
  sealed: boolean;
  /**
   * Bumped by every cancel of single running tasks: workers holding long leases of the session
   * read the record every second and re-read their chunks only when it moved.
   */
  cancelEpoch: number;
  /** While sealing is under way over several calls: the last group sealed so far. */
  sealCursor?: number | undefined;
  /**
   * When a submit last marked the session as receiving work (at most once a minute; see
   * touchSession): the reaper drops an OPEN session from its active index only once this is
   * long past and nothing is pending, and the next submit puts it back.
   */
  lastSubmitAt?: number | undefined;
  createdAt: number;
  updatedAt: number;
  /**
   * As read from a store whose items expire (DynamoDB TTL): the session's items that its tasks'
   * writes do not rewrite (group directory entries and locks, counter and usage shards) were
   * last renewed long enough ago that the reaper must renew them while the session is active
   * (TaskStore.renewGroups, renewSession). Never stored; never set by a store that keeps items.
   */
  renewDue?: true | undefined;
}

/** Identifies a chunk: the run of consecutive tasks starting at `start`. */
export interface ChunkKey extends SessionKey {
  readonly start: number;
}

/**
 * The lease unit: one record, one ticket, one claim, one heartbeat entry and one commit for
 * up to `chunkMaxTasks` consecutive tasks. Per-task state is kept in compact per-slot fields so
 * the record stays well under 1 KB (one write unit) for a 64-task chunk; payloads and results
 * live elsewhere (the chunk's payload blob and completion entries).
 */
export interface ChunkRecord extends ChunkKey {
  /** Optimistic-concurrency version: every write is conditional on it and bumps it. */
  version: number;
  /** Number of tasks: indexes start .. start+count-1. */
  count: number;
  /** One slot code per task (see SlotCode). */
  slots: string;
  /**
   * Attempts charged per task: runs that ended (a result, a failure, a timeout), plus the runs of
   * a `charged` lease. A run under an uncharged lease is charged when it is committed, so a
   * worker that dies charges nothing to the tasks it held but never committed.
   */
  attempts: number[];
  /**
   * The current lease charged its runs an attempt when it was claimed: a careful lease (see
   * planClaim), taken after a lease of this chunk expired, whose every run starts at once. When
   * it expires too, its runs keep their charge (a task that kills its worker uses up its attempts).
   */
  charged?: boolean | undefined;
  /** Lease epoch: bumped by every claim; heartbeats and commits must present it. */
  fence: number;
  /** Owner of the current lease (absent when not leased). */
  owner?: string | undefined;
  /** When the current lease was granted or last extended. */
  leasedAt?: number | undefined;
  /** Lease expiry. */
  leaseUntil?: number | undefined;
  /** No claim before this time (retry backoff). */
  notBefore: number;
  /** When the reaper must look at this chunk; absent once every task is terminal. */
  due?: number | undefined;
  /** Times the reaper re-sent this chunk's ticket. */
  redrives: number;
  maxAttempts: number;
  leaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  pool: string;
  priority: "high" | "normal" | "low";
  /** Longest a run of one of its tasks may take (TIMEOUT past it). */
  timeoutMs: number;
  /** Name of the task handler, when the submitter gave one. */
  handler?: string | undefined;
  /**
   * Digest of the work the chunk was submitted with (handler and every payload or upload id):
   * a resubmit is the same work only if it has the same digest, and a ticket's inline payloads
   * are used only if they carry it.
   */
  digest: string;
  /** Blob key of the chunk's payloads (content-addressed: it names the digest). */
  payloadKey: string;
  /**
   * Upload id when the chunk is one task whose payload was uploaded directly: `payloadKey` is
   * then that upload, holding the raw payload (not a JSON list).
   */
  payloadRef?: string | undefined;
  /** Size of that blob in bytes. */
  payloadBytes: number;
  /** Sort keys of this chunk's completion entries, oldest first. */
  commits: string[];
  createdAt: number;
  updatedAt: number;
}

/**
 * A key group of a session: the lock that makes submits into it atomic (every insert is
 * conditional on its version) and the seal that closes it. Listed in the session's group
 * directory from the write that created it, so readers walk only groups that hold chunks.
 */
export interface GroupRecord extends SessionKey {
  group: number;
  /** Bumped by every insert and by the seal. */
  version: number;
  /** Tasks stored in the group. */
  tasks: number;
  /** Set once the session left OPEN: no insert lands any more. */
  sealed: boolean;
}

/** Outcome of one task as recorded in a completion entry. */
export interface TaskOutcome {
  index: number;
  status: "SUCCEEDED" | "FAILED" | "CANCELLED";
  /** The attempt that produced this outcome. */
  attempt: number;
  /** Result (SUCCEEDED only), inline unless the entry's results live in a blob. */
  result?: string | undefined;
  /** Blob key of a result larger than LARGE_RESULT_BYTES, stored alone (never inline). */
  resultRef?: string | undefined;
  /** Why the task failed or was cancelled. */
  error?: TaskError | undefined;
  /**
   * How long the run that produced this outcome took, by its worker's clock (ms): absent when no
   * run ended here (cancelled before it started, failed by the reaper or a dead-lettered ticket).
   */
  ms?: number | undefined;
}

/** A recorded task error. */
export interface TaskError {
  message: string;
  /** Machine-readable reason: HANDLER_ERROR, LEASE_EXPIRED, DEAD_LETTERED, CANCELLED, ... */
  code: string;
}

/**
 * A completion entry: the tasks one write of a chunk made terminal. Entries of a key group
 * share a partition sorted by commit time, so a reader fetches only what completed since its
 * cursor.
 */
export interface CompletionEntry extends SessionKey {
  group: number;
  /** `${committedAt:13}#${chunkStart:12}#${seq:3}`: unique, ordered by commit time. */
  sortKey: string;
  chunkStart: number;
  /** Lease epoch (fence) of the write that produced it, and its owner (absent for reaper writes). */
  fence: number;
  owner?: string | undefined;
  committedAt: number;
  outcomes: TaskOutcome[];
  /** When results were too large to inline: blob holding a JSON array of results by outcome. */
  resultsKey?: string | undefined;
}

/** A run that failed and was retried (the task went back to the queue). */
export interface FailedRun {
  index: number;
  attempt: number;
  error?: TaskError | undefined;
  /** How long the run took, by its worker's clock (ms). */
  ms?: number | undefined;
}

/**
 * The failed runs one commit sent back to the queue, written atomically with it. Kept apart
 * from the chunk record (which every claim, heartbeat and commit rewrites: growing it would
 * make each of those writes dearer) and read only by a task's own view, so a retried task's
 * earlier runs can be shown. Only failures that retry write one: a session whose tasks succeed
 * writes none.
 */
export interface FailedRunsEntry extends SessionKey {
  group: number;
  chunkStart: number;
  /** The chunk version the commit wrote: unique per chunk write. */
  version: number;
  /** When the commit landed. */
  at: number;
  /** The lease owner that committed the runs. */
  owner?: string | undefined;
  runs: FailedRun[];
}

/** A chunk's payloads as stored in its blob and carried by its ticket. */
export interface ChunkPayload {
  /** Payload per slot; `null` for a task submitted without a payload. */
  payloads: (string | null)[];
}
