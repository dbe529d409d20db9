import type { HistoryPoint } from "../engine/history.ts";
import type { SlotCounters } from "../engine/progress.ts";
import type {
  ChunkKey,
  ChunkRecord,
  CompletionEntry,
  FailedRunsEntry,
  GroupRecord,
  SessionKey,
  SessionRecord,
} from "../model/records.ts";

/** A chunk write: the next record, conditional on the version that was read. */
export interface ChunkWrite {
  /** The record to store; its `version` must be `expectedVersion + 1`. */
  chunk: ChunkRecord;
  expectedVersion: number;
  /** The slots as read: the session's counters move by the difference, atomically with the write. */
  before: string;
  /** Outcomes made terminal by this write, stored atomically with it. */
  completion?: CompletionEntry | undefined;
  /** Failed runs this write sent back to the queue, stored atomically with it. */
  failedRuns?: FailedRunsEntry | undefined;
}

/** A chunk write from the record as read to its next state (with the entries it commits, if any). */
export function chunkWrite(
  read: ChunkRecord,
  next: ChunkRecord,
  completion?: CompletionEntry,
  failedRuns?: FailedRunsEntry,
): ChunkWrite {
  return { chunk: next, expectedVersion: read.version, before: read.slots, completion, failedRuns };
}

/** Outcome of one conditional write. */
export type WriteResult = "ok" | "conflict";

/**
 * Outcome of one write of a writeChunks call: `ok`, `conflict` (the record changed since it
 * was read), or `error`: the write failed in a way that leaves it unknown whether it landed
 * (throttled, timed out, its answer lost). Re-read before deciding again.
 */
export type ChunkWriteResult = WriteResult | "error";

/**
 * Outcome of an insert into a group: `ok`; `conflict` when the group changed since its version
 * was read (re-read and decide again); `not-open` when the session no longer accepts tasks.
 */
export type InsertResult = "ok" | "conflict" | "not-open";

/** Most chunks one insert may carry (a DynamoDB transaction holds 100 items; the group's lock, directory entry, session check and counters take four). */
export const MAX_INSERT_CHUNKS = 96;

/** One page of a session's group directory. */
export interface GroupPage {
  groups: number[];
  /** Pass back as `after` to continue; absent when the directory is exhausted. */
  next?: number | undefined;
}

/** One page of a tenant's sessions, newest first. */
export interface SessionPage {
  sessions: SessionRecord[];
  /** Pass back as `after` to continue; absent when nothing follows (it may lead to an empty page). */
  next?: string | undefined;
}

/** One page of completion entries. */
export interface CompletionPage {
  entries: CompletionEntry[];
  /** Pass back as `after` to continue; absent when the partition is exhausted. */
  next?: string | undefined;
}

/**
 * The task store: DynamoDB in production, a Map in simulations. The source of truth for
 * sessions, chunks (the lease unit) and completion entries. Every chunk mutation is a
 * conditional write on the version the caller read, so the pure transitions in `engine/`
 * decide and the store only guarantees that no decision lands on a record that changed.
 */
export interface TaskStore {
  /** Creates a session unless one with the same key exists. */
  createSession(session: SessionRecord): Promise<"created" | "exists">;
  /** Reads a session (strongly consistent). */
  getSession(key: SessionKey): Promise<SessionRecord | undefined>;
  /** Replaces a session if its stored version is `expectedVersion`. */
  writeSession(session: SessionRecord, expectedVersion: number): Promise<WriteResult>;
  /**
   * Drops a session from the active-sessions index. With `ifLastSubmitAt`, only if the session's
   * lastSubmitAt is still that (no submit marked it since the caller read it).
   */
  deactivateSession(key: SessionKey, ifLastSubmitAt?: { lastSubmitAt: number | undefined }): Promise<void>;
  /**
   * Marks a session as receiving work at `now` (lastSubmitAt) and puts it (back) in the
   * active-sessions index. Submitters call it before inserting, at most once a minute.
   */
  touchSession(key: SessionKey, now: number): Promise<void>;
  /**
   * A tenant's sessions, newest first. `after` is the `next` of the previous page. Reads the
   * tenant index (eventually consistent: a session created a moment ago may be missing).
   */
  listSessions(tenant: string, limit: number, after?: string): Promise<SessionPage>;
  /** Sessions in one shard of the active-sessions index. */
  listActiveSessions(shard: number): Promise<SessionKey[]>;

  /** A group's lock record (strongly consistent), if the group holds chunks. */
  getGroup(session: SessionKey, group: number): Promise<GroupRecord | undefined>;
  /**
   * Inserts new chunks of one group, atomically, under the group's lock: the write lands only
   * if the group is still at `expectedVersion` and not sealed (`undefined`: the group does not
   * exist yet; it is then created with its directory entry, and only while the session is OPEN).
   * Bumps the version and adds the chunks' tasks to the group's count. At most
   * MAX_INSERT_CHUNKS chunks, none of which may exist.
   */
  insertChunks(
    session: SessionKey,
    group: number,
    expectedVersion: number | undefined,
    chunks: readonly ChunkRecord[],
  ): Promise<InsertResult>;
  /** Seals a group: every later insert into it is refused (bumps its version). */
  sealGroup(session: SessionKey, group: number): Promise<void>;
  /** The session's groups that hold chunks, in order, after `after` (strongly consistent). */
  listGroups(session: SessionKey, after: number | undefined, limit: number): Promise<GroupPage>;
  /** Reads chunks (strongly consistent), in the order of `keys`. */
  getChunks(keys: readonly ChunkKey[]): Promise<Array<ChunkRecord | undefined>>;
  /** The chunk holding task `index`, if any. */
  findChunk(session: SessionKey, index: number): Promise<ChunkRecord | undefined>;
  /** Every chunk of a group, in index order (progress counts). */
  listChunks(session: SessionKey, group: number): Promise<ChunkRecord[]>;
  /** The chunks of `group` that overlap task indexes [from, to), in index order (strongly consistent). */
  listChunksIn(session: SessionKey, group: number, from: number, to: number): Promise<ChunkRecord[]>;
  /**
   * Applies conditional chunk writes independently; each reports ok, conflict or error (one
   * write's failure never fails the others).
   */
  writeChunks(writes: readonly ChunkWrite[]): Promise<ChunkWriteResult[]>;
  /** Non-terminal chunks of a group whose `due` time is at or before `dueBy`, soonest first. */
  listDueChunks(session: SessionKey, group: number, dueBy: number, limit: number): Promise<ChunkKey[]>;

  /** Completion entries of a group with sort key greater than `after`, in order. */
  readCompletions(
    session: SessionKey,
    group: number,
    after: string | undefined,
    limit: number,
  ): Promise<CompletionPage>;
  /** One completion entry. */
  getCompletion(session: SessionKey, group: number, sortKey: string): Promise<CompletionEntry | undefined>;
  /** Stores a copy of an entry under a new sort key (a commit that landed late for readers). */
  putCompletion(entry: CompletionEntry): Promise<void>;
  /** The failed-run entries of the chunk at `chunkStart`, newest first, at most `limit`. */
  readFailedRuns(
    session: SessionKey,
    group: number,
    chunkStart: number,
    limit: number,
  ): Promise<FailedRunsEntry[]>;

  /**
   * The session's task counters (strongly consistent), summed over their shards: moved by every
   * insert and by every chunk write that changes a task's state, in the same atomic write.
   */
  getCounters(session: SessionKey): Promise<SlotCounters>;

  /**
   * Adds usage counters to one shard of a session's (each writer keeps to its own shard, so no
   * key takes every writer's adds). Counters are additive: adds never lose one another.
   */
  addUsage(session: SessionKey, shard: number, counters: Readonly<Record<string, number>>): Promise<void>;
  /** A session's usage counters, summed over its shards ({} when none). */
  getUsage(session: SessionKey): Promise<Record<string, number>>;

  /**
   * Stores a snapshot of a session's task counts (the reaper's, a few a minute at most per
   * session); a second snapshot at the same time replaces the first.
   */
  addHistory(session: SessionKey, point: HistoryPoint): Promise<void>;
  /** A session's newest snapshots, newest first, at most `limit` (eventually consistent). */
  readHistory(session: SessionKey, limit: number): Promise<HistoryPoint[]>;

  /**
   * Expiry (stores whose items expire, DynamoDB TTL; a no-op in the others). Every write of an
   * item sets it to expire the retention after that write; these renew, without changing
   * anything else and never creating an item, the items a session's tasks do not rewrite, so
   * none expires while the session is active (the reaper calls them when a read session says
   * `renewDue`).
   *
   * renewGroups: the directory entries and locks of `groups`.
   */
  renewGroups(session: SessionKey, groups: readonly number[]): Promise<void>;
  /**
   * renewSession: the session's counter and usage shards, then its record, and records that its
   * items were renewed as of `since`: call it only once renewGroups covered every group of the
   * session, all of it after `since` (a group created later was written later).
   */
  renewSession(session: SessionKey, since: number): Promise<void>;
}
