/**
 * `tessera logs SESSION [--task N] [--follow]`: the lines a session's task code logged, read
 * through the API's logs route (`GET /sessions/{id}/logs`) with the same credentials as every
 * command (a token, or SigV4 for IAM grids), wherever the grid keeps them: the local grid's
 * data dir, CloudWatch Logs on AWS. --follow polls with the page's cursor.
 */
import { type Command, InvalidArgumentError } from "commander";
import { TesseraError } from "./errors.ts";
import { HttpClient, sleep } from "./http.ts";
import { resolveConnection, UsageError } from "./profile.ts";

/** One task log line, as the API returns it. */
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

/** A page of the logs route. */
interface LogPage {
  entries: LogEntry[];
  next: string;
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

/**
 * Time between polls with --follow: CloudWatch Logs' FilterLogEvents has a small account-wide
 * rate quota, and entries reach it seconds after they were logged anyway.
 */
const FOLLOW_EVERY_MS = 2_000;

/** Entries asked per page (the route's most). */
const PAGE_LIMIT = 1000;

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

/** A grid whose API predates the logs route. */
const NO_LOGS_ROUTE =
  "this grid's API has no logs route (it was deployed before `tessera logs` read through the API): redeploy it";

/**
 * Registers `logs` on the `tessera` program; `flags` gives the program's global flags (the
 * connection and --json) when the command runs.
 */
export function registerLogsCommand(program: Command, flags: () => ConnectionFlags): void {
  program
    .command("logs")
    .description("lines a session's tasks logged, oldest first (local grid, or CloudWatch Logs on AWS)")
    .argument("<session>", "session id")
    .option("--task <n>", "only the lines of this task index", taskIndex)
    .option("--follow", "keep printing new lines until Ctrl-C")
    .action(async (sessionId: string, o: { task?: number; follow?: boolean }) => {
      const globals = flags();
      const { endpoint, token, iamRegion } = resolveConnection(globals);
      // The AWS signing code loads only for IAM grids.
      const signer = iamRegion ? (await import("./sigv4.ts")).sigv4Signer({ region: iamRegion }) : undefined;
      const http = new HttpClient({ endpoint, token, signer });
      const path = `/sessions/${encodeURIComponent(sessionId)}/logs`;
      let after: string | undefined;
      let printed = 0;
      for (;;) {
        const page = await http
          .request<LogPage>("GET", path, { query: { task: o.task, after, limit: PAGE_LIMIT } })
          .catch((error: unknown) => {
            if (error instanceof TesseraError && error.code === "ROUTE_NOT_FOUND")
              throw new UsageError(NO_LOGS_ROUTE);
            throw error;
          });
        for (const entry of page.entries)
          process.stdout.write(`${globals.json ? JSON.stringify(entry) : formatLogLine(entry)}\n`);
        printed += page.entries.length;
        after = page.next;
        if (page.more) continue;
        if (!o.follow) {
          // An empty answer is not an error, but say so: "nothing logged" is what a user checks for.
          if (printed === 0) {
            const which = o.task === undefined ? `session ${sessionId}` : `task ${o.task} of ${sessionId}`;
            process.stderr.write(`no log lines for ${which} (yet)\n`);
          }
          return;
        }
        await sleep(FOLLOW_EVERY_MS);
      }
    });
}
