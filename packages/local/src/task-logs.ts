/**
 * The local grid's task logs: whichever process ran a task (a Lambda-style worker's thread, an
 * agent process), its entries come to the grid's process, which shows each as a readable line
 * and appends it to its session's file, `<dataDir>/logs/sessions/<tenant>/<session>.jsonl`, read
 * back by `tessera logs` through a local-only route. On AWS the same entries are JSON lines in
 * the worker's CloudWatch Logs group and in each agent's journal.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
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

/** A page of a session's entries. */
export interface LogPage {
  entries: TaskLogEntry[];
  /** Where the next page starts (pass it back as `after`). */
  cursor: string;
  /** True when the file holds more after `cursor` already. */
  more: boolean;
}

/**
 * Reads a session's entries after `after` (a byte offset, from a previous page's cursor), at
 * most {@link LOG_PAGE_BYTES} of them, keeping those of task `index` when given.
 */
export function readSessionLogs(
  dataDir: string,
  tenant: string,
  sessionId: string,
  options: { after?: number; index?: number } = {},
): LogPage {
  const after = options.after ?? 0;
  const file = sessionLogFile(dataDir, tenant, sessionId);
  if (!existsSync(file)) return { entries: [], cursor: String(after), more: false };
  const fd = openSync(file, "r");
  const buffer = Buffer.alloc(LOG_PAGE_BYTES);
  let read: number;
  try {
    read = readSync(fd, buffer, 0, LOG_PAGE_BYTES, after);
  } finally {
    closeSync(fd);
  }
  const end = buffer.subarray(0, read).lastIndexOf(10); // only whole lines
  // A line longer than a page is skipped rather than stalling the reader forever.
  const used = end >= 0 ? end + 1 : read === LOG_PAGE_BYTES ? read : 0;
  const entries: TaskLogEntry[] = [];
  for (const line of buffer.toString("utf8", 0, end + 1).split("\n")) {
    const entry = taskLogEntryOf(line);
    if (entry && (options.index === undefined || entry.index === options.index)) entries.push(entry);
  }
  return { entries, cursor: String(after + used), more: read === LOG_PAGE_BYTES };
}
