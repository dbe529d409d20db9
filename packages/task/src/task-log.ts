/**
 * Task logs as first-class entries: every line task code logs through `ctx.logger` becomes one
 * {@link TaskLogEntry} carrying the task's ids, handed to the worker's sink (a JSON line on
 * stdout for CloudWatch Logs or the journal, the local grid's screen and session files). The
 * entry is built where the task runs; the sink belongs to the process that hosts it.
 */
import type { TaskContext } from "@tessera/core";

/** Levels of task log entries, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A task log entry's level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One line logged by task code, with the ids of the task that logged it. */
export interface TaskLogEntry {
  /** ISO 8601 time the line was logged. */
  time: string;
  level: LogLevel;
  message: string;
  tenant: string;
  session: string;
  index: number;
  attempt: number;
  handler?: string | undefined;
  taskId: string;
  /** The caller's extra fields, merged (they never replace the fields above). */
  [field: string]: unknown;
}

/** Where a worker puts its tasks' log entries. */
export type TaskLogSink = (entry: TaskLogEntry) => void;

/** Structured logging for task code; entries carry the task's ids. */
export interface TaskLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** True for a known level name. */
export function isLogLevel(value: unknown): value is LogLevel {
  return (LOG_LEVELS as readonly unknown[]).includes(value);
}

/** Makes an Error (or anything else) JSON-friendly: `JSON.stringify(new Error())` is `{}`. */
function plain(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/**
 * The logger of one task run: lines below `level` (default info) are dropped where they are
 * logged, the others become entries handed to `sink`.
 */
export function taskLogger(task: TaskContext, sink: TaskLogSink, level: LogLevel = "info"): TaskLogger {
  const min = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel, message: string, extra: Record<string, unknown>[]) => {
    if (LOG_LEVELS.indexOf(at) < min) return;
    const fields: Record<string, unknown> = {};
    for (const e of extra) for (const [k, v] of Object.entries(e ?? {})) fields[k] = plain(v);
    sink({
      ...fields,
      time: new Date().toISOString(),
      level: at,
      message: String(message),
      tenant: task.tenant,
      session: task.sessionId,
      index: task.index,
      attempt: task.attempt,
      handler: task.handler,
      taskId: task.taskId,
    });
  };
  return {
    debug: (message, ...extra) => emit("debug", message, extra),
    info: (message, ...extra) => emit("info", message, extra),
    warn: (message, ...extra) => emit("warn", message, extra),
    error: (message, ...extra) => emit("error", message, extra),
  };
}

/** A sink that writes each entry as one JSON line (stdout: CloudWatch Logs, the journal). */
export function jsonLineSink(write: (line: string) => void = (l) => process.stdout.write(l)): TaskLogSink {
  return (entry) => write(`${JSON.stringify(entry)}\n`);
}

const IDS = new Set([
  "time",
  "level",
  "message",
  "tenant",
  "session",
  "index",
  "attempt",
  "handler",
  "taskId",
]);

/** Renders an extra field's value for a readable line (an error as `Name: message`, no stack). */
function show(value: unknown): string {
  const error = value as { name?: unknown; message?: unknown; stack?: unknown } | null;
  if (typeof error === "object" && error !== null && typeof error.message === "string" && "stack" in error)
    return JSON.stringify(`${String(error.name ?? "Error")}: ${error.message}`);
  if (typeof value === "string") return /\s/.test(value) || value === "" ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/**
 * One entry as a readable line: `12:00:01 info  3f2a9c1e #17 a1 square  squaring x=3` (UTC
 * time, level, the session's first 8 characters, index, attempt, handler, message, extras).
 */
export function formatLogEntry(entry: TaskLogEntry): string {
  const extras = Object.entries(entry)
    .filter(([k]) => !IDS.has(k))
    .map(([k, v]) => `${k}=${show(v)}`);
  return [
    entry.time.slice(11, 19),
    entry.level.padEnd(5),
    entry.session.slice(0, 8),
    `#${entry.index}`,
    `a${entry.attempt}`,
    entry.handler ?? "-",
    ` ${entry.message}`,
    ...extras,
  ].join(" ");
}

/** True for a parsed JSON value that is a task log entry (lines of an agent's output). */
export function isTaskLogEntry(value: unknown): value is TaskLogEntry {
  const v = value as Partial<TaskLogEntry> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    isLogLevel(v.level) &&
    typeof v.message === "string" &&
    typeof v.session === "string" &&
    typeof v.tenant === "string" &&
    typeof v.index === "number" &&
    typeof v.attempt === "number" &&
    typeof v.taskId === "string" &&
    typeof v.time === "string"
  );
}
