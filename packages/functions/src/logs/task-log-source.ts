/**
 * The port the logs route reads task log entries through: the local grid's session files, or
 * CloudWatch Logs on AWS (the worker function's group and the agents' group). The route checks
 * the tenant's session first; a source only reads, and proves nothing about ownership.
 */
import type { TaskLogEntry } from "@tessera/task";

/** Most entries one page may hold (the route's `limit` bound). */
export const MAX_LOG_PAGE_ENTRIES = 1000;

/** What a caller asks of a session's log entries. */
export interface TaskLogQuery {
  /** Only the entries of this task index. */
  index?: number | undefined;
  /** A previous page's `next`; absent, the first page. Each source validates its own cursors. */
  after?: string | undefined;
  /** Most entries to return. */
  limit: number;
  /** When the session was created (ms): nothing older can belong to it. */
  since: number;
  signal?: AbortSignal | undefined;
}

/** A page of a session's entries, oldest first. */
export interface TaskLogPage {
  entries: TaskLogEntry[];
  /**
   * Where the next page starts: always given, so a follower polls with it; the same value when
   * nothing new was found.
   */
  next: string;
  /** True when more entries are already there: read `next` at once rather than after a pause. */
  more: boolean;
}

/** Reads a session's task log entries (of its tenant only). */
export interface TaskLogSource {
  read(tenant: string, sessionId: string, query: TaskLogQuery): Promise<TaskLogPage>;
}
