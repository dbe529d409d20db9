/**
 * `tessera logs SESSION [--task N] [--follow]`: the lines a session's task code logged, read from
 * the local grid (its local-only route `GET /local/sessions/{id}/logs`). A deployed grid keeps
 * them in CloudWatch Logs and in its agents' journals, which this command does not read yet: it
 * says so and where they are.
 */
import { type Command, InvalidArgumentError } from "commander";
import { TesseraError } from "./errors.ts";
import { sleep } from "./http.ts";
import { resolveConnection, UsageError } from "./profile.ts";

/** What a grid keeps of one task log line (as the local grid serves it). */
interface LogEntry {
  time: string;
  level: string;
  message: string;
  session: string;
  index: number;
  attempt: number;
  handler?: string;
  [field: string]: unknown;
}

interface LogPage {
  entries: LogEntry[];
  cursor: string;
  more: boolean;
}

/** The global flags the command reads (the program's own). */
interface ConnectionFlags {
  endpoint?: string;
  token?: string;
  profile?: string;
  iamRegion?: string;
  json?: boolean;
}

/** Time between polls with --follow. */
const FOLLOW_EVERY_MS = 1_000;

/** Where a deployed grid's task logs are, since this command reads the local grid's only. */
export const DEPLOYED_LOGS_HINT =
  "`tessera logs` reads the local grid's task logs only. On AWS, task logs are JSON lines in the worker " +
  "function's CloudWatch Logs group (filter pattern { $.session = \"SESSION\" }) and in each agent's " +
  "journal (journalctl -u tessera-agent)";

// The readable line is the one @tessera/task's formatLogEntry prints on the local grid's screen.
// It is kept here too: the client must install without the task runtime (core, the AWS SDK,
// piscina), and a shared package for twenty lines would cost more than it saves.
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

/** A field's value for a readable line (an error as `Name: message`, no stack). */
function showValue(value: unknown): string {
  const error = value as { name?: unknown; message?: unknown; stack?: unknown } | null;
  if (typeof error === "object" && error !== null && typeof error.message === "string" && "stack" in error)
    return JSON.stringify(`${String(error.name ?? "Error")}: ${error.message}`);
  if (typeof value === "string") return /\s/.test(value) || value === "" ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/**
 * One entry as a readable line, as the local grid's screen shows it:
 * `12:00:01 info  3f2a9c1e #17 a1 square  squaring x=3` (UTC time).
 */
export function formatLogLine(entry: LogEntry): string {
  const extras = Object.entries(entry)
    .filter(([k]) => !IDS.has(k))
    .map(([k, v]) => `${k}=${showValue(v)}`);
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

function taskIndex(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a task index (a whole number)");
  return n;
}

/** One page of the session's entries after `cursor`. */
async function readPage(
  endpoint: string,
  token: string,
  sessionId: string,
  cursor: string,
  task: number | undefined,
): Promise<LogPage> {
  const url = new URL(`${endpoint.replace(/\/+$/, "")}/local/sessions/${encodeURIComponent(sessionId)}/logs`);
  url.searchParams.set("after", cursor);
  if (task !== undefined) url.searchParams.set("task", String(task));
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new TesseraError(`cannot reach ${endpoint}: ${(error as Error).message}`, {
      status: 0,
      code: "NETWORK",
    });
  }
  const body = (await response.json().catch(() => undefined)) as
    | (Partial<LogPage> & { error?: { code?: string; message?: string; field?: string } })
    | undefined;
  if (response.ok && Array.isArray(body?.entries)) return body as LogPage;
  // A grid without the route: the deployed API (ROUTE_NOT_FOUND) or anything else that 404s.
  const code = body?.error?.code;
  if (response.status === 404 && (code === undefined || code === "ROUTE_NOT_FOUND"))
    throw new UsageError(DEPLOYED_LOGS_HINT);
  throw new TesseraError(body?.error?.message ?? `HTTP ${response.status}`, {
    status: response.status,
    code: code ?? "HTTP",
    field: body?.error?.field,
  });
}

/**
 * Registers `logs` on the `tessera` program; `flags` gives the program's global flags (the
 * connection and --json) when the command runs.
 */
export function registerLogsCommand(program: Command, flags: () => ConnectionFlags): void {
  program
    .command("logs")
    .description("lines a session's tasks logged (local grid), oldest first")
    .argument("<session>", "session id")
    .option("--task <n>", "only the lines of this task index", taskIndex)
    .option("--follow", "keep printing new lines until Ctrl-C")
    .action(async (sessionId: string, o: { task?: number; follow?: boolean }) => {
      const globals = flags();
      const { endpoint, token, iamRegion } = resolveConnection(globals);
      // The route is the local grid's, whose callers hold its bearer token.
      if (iamRegion || !token) throw new UsageError(DEPLOYED_LOGS_HINT);
      let cursor = "0";
      for (;;) {
        const page = await readPage(endpoint, token, sessionId, cursor, o.task);
        for (const entry of page.entries)
          process.stdout.write(`${globals.json ? JSON.stringify(entry) : formatLogLine(entry)}\n`);
        cursor = page.cursor;
        if (page.more) continue;
        if (!o.follow) return;
        await sleep(FOLLOW_EVERY_MS);
      }
    });
}
