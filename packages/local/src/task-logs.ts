/**
 * The local grid's task logs: whichever process ran a task (a Lambda-style worker's thread, an
 * agent process), its entries come to the grid's process, which shows each as a readable line
 * and appends it to its session's file, `<dataDir>/logs/sessions/<tenant>/<session>.jsonl`, read
 * back through the API's logs route (`GET /sessions/{id}/logs`), which on AWS reads the same
 * entries from CloudWatch Logs.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
import { ValidationError } from "@tessera/core";
import { MAX_LOG_PAGE_ENTRIES, type TaskLogPage, type TaskLogSource } from "@tessera/functions";
import { formatLogEntry, isTaskLogEntry, type TaskLogEntry, type TaskLogSink } from "@tessera/task";

/** Bytes of a session's file one read returns at most: a page's work is bounded, not its history. */
export const LOG_PAGE_BYTES = 256 * 1024;

/** An id as a path segment: ids allow dots, so `.` and `..` are spelled so they stay names. */
function segment(id: string): string {
  return /^\.+$/.test(id) ? "%2E".repeat(id.length) : id;
}

/** The file that holds a session's entries. */
export function sessionLogFile(dataDir: string, tenant: string, sessionId: string): string {
  return join(dataDir, "logs", "sessions", segment(tenant), `${segment(sessionId)}.jsonl`);
}

/**
 * The grid's sink: each entry shown by `show` as a readable line and appended to its session's
 * file (one writer, the grid's process, so lines never interleave).
 */
export function localLogSink(dataDir: string, show: (line: string) => void): TaskLogSink {
  const made = new Set<string>();
  return (entry) => {
    const file = sessionLogFile(dataDir, entry.tenant, entry.session);
    const dir = dirname(file);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    appendFileSync(file, `${JSON.stringify(entry)}\n`);
    show(formatLogEntry(entry));
  };
}

/** The task log entry an agent printed on this line of its output, if it is one. */
export function taskLogEntryOf(line: string): TaskLogEntry | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return isTaskLogEntry(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A cursor of this source: a byte offset in the session's file. */
const OFFSET = /^\d{1,15}$/;

/**
 * Reads a session's entries after `after` (a byte offset, from a previous page's `next`), at
 * most `limit` of them and at most {@link LOG_PAGE_BYTES} of the file, keeping those of task
 * `index` when given.
 */
export function readSessionLogs(
  dataDir: string,
  tenant: string,
  sessionId: string,
  options: { after?: string | undefined; index?: number | undefined; limit?: number } = {},
): TaskLogPage {
  if (options.after !== undefined && !OFFSET.test(options.after))
    throw new ValidationError("query.after", "must be the `next` of a previous page");
  const after = Number(options.after ?? 0);
  const limit = options.limit ?? MAX_LOG_PAGE_ENTRIES;
  const file = sessionLogFile(dataDir, tenant, sessionId);
  if (!existsSync(file)) return { entries: [], next: String(after), more: false };
  const fd = openSync(file, "r");
  const buffer = Buffer.alloc(LOG_PAGE_BYTES);
  let read: number;
  try {
    read = readSync(fd, buffer, 0, LOG_PAGE_BYTES, after);
  } finally {
    closeSync(fd);
  }
  const entries: TaskLogEntry[] = [];
  let used = 0; // bytes of whole lines consumed
  for (let start = 0; start < read; ) {
    const end = buffer.indexOf(10, start);
    if (end < 0 || end >= read) break; // only whole lines
    const entry = taskLogEntryOf(buffer.toString("utf8", start, end));
    start = used = end + 1;
    if (entry && (options.index === undefined || entry.index === options.index)) {
      entries.push(entry);
      if (entries.length === limit) break;
    }
  }
  // A line longer than a page is skipped rather than stalling the reader forever.
  if (used === 0 && read === LOG_PAGE_BYTES) used = read;
  return { entries, next: String(after + used), more: entries.length === limit || read === LOG_PAGE_BYTES };
}

/** The local grid's log source: its session files. */
export function fileTaskLogSource(dataDir: string): TaskLogSource {
  return {
    read: async (tenant, sessionId, query) =>
      readSessionLogs(dataDir, tenant, sessionId, {
        after: query.after,
        index: query.index,
        limit: query.limit,
      }),
  };
}
