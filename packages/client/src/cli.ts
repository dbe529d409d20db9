#!/usr/bin/env node
/**
 * `tessera`: submit, watch and manage sessions from a shell. Output is for people by default
 * and JSON (one object per line) with --json. Exit codes: 0 done, 1 some task failed or was
 * cancelled (wait), 2 bad usage, 3 the API refused or could not be reached, 130 a submit
 * interrupted (Ctrl-C).
 */
import { constants, createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Command, InvalidArgumentError } from "commander";
import { registerDashboardCommand } from "./cli-dashboard.ts";
import {
  describeCost,
  describeCounts,
  describeInterruptedSubmit,
  formatCost,
  formatFailures,
  formatTable,
  logsCommand,
} from "./cli-format.ts";
import { registerLogsCommand } from "./cli-logs.ts";
import { failuresOf, progressReporter } from "./cli-wait.ts";
import { TesseraError } from "./errors.ts";
import { profileFromOutputs, resolveConnection, saveProfile, UsageError } from "./profile.ts";
import type { SubmitSummary } from "./session.ts";
import { Tessera } from "./tessera.ts";

interface Globals {
  endpoint?: string;
  token?: string;
  iamRegion?: string;
  profile?: string;
  json?: boolean;
}

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number");
  return n;
}

/** Tasks per chunk: the API takes 1 to 500 (`config.chunkMaxTasks`). */
function chunkSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError("must be 1 to 500");
  return n;
}

const program = new Command("tessera")
  .description("Submit tasks to a Tessera grid and follow them.")
  .option("--endpoint <url>", "API URL (or TESSERA_URL, or the profile's)")
  .option("--token <token>", "bearer token (or TESSERA_TOKEN, or the profile's)")
  .option("--profile <name>", "profile in ~/.config/tessera/config.json (or TESSERA_PROFILE)")
  .option("--iam-region <region>", "sign requests with your AWS credentials (IAM-authenticated grids)")
  .option("--json", "print JSON, one object per line")
  .exitOverride((error) => {
    // Commander has printed its one-line message; usage mistakes exit 2, help and version 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  })
  .addHelpText(
    "after",
    `
Examples:
  tessera submit risk-0412 tasks.jsonl --handler price-european-option --close
  seq 1 1000 | tessera submit demo - --handler echo --close
  tessera wait risk-0412
  tessera close risk-0412                     (an open session: no more tasks, wait can end)
  tessera results risk-0412 > results.jsonl
  tessera status risk-0412 --json
  tessera profile prod --from-outputs .sst/outputs.json   (after \`npx sst deploy --stage prod\`)
  tessera dashboard                           (the web dashboard on http://127.0.0.1:8790)
Profile file (~/.config/tessera/config.json):
  { "profiles": { "default": { "endpoint": "http://127.0.0.1:8787", "token": "..." } } }`,
  );

async function client(): Promise<{ tessera: Tessera; json: boolean }> {
  const globals = program.opts<Globals>();
  const { endpoint, token, iamRegion } = resolveConnection(globals);
  // The AWS signing code loads only for IAM grids.
  const signer = iamRegion ? (await import("./sigv4.ts")).sigv4Signer({ region: iamRegion }) : undefined;
  return { tessera: new Tessera({ endpoint, token, signer }), json: Boolean(globals.json) };
}

function out(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Lines of a JSONL file or stdin, parsed; a bad line names its number. `signal` stops the
 * reading even while stdin has nothing to give.
 */
async function* readJsonl(path: string, signal: AbortSignal): AsyncGenerator<unknown> {
  const input = path === "-" ? process.stdin : createReadStream(path);
  input.on("error", () => {}); // reported by the readline loop below
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY, signal });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === "") continue;
      try {
        yield JSON.parse(line);
      } catch {
        throw new UsageError(`${path === "-" ? "stdin" : path}:${n}: not a JSON value`);
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`${path}: no such file`);
    if (code === "EISDIR" || code === "EACCES") throw new UsageError(`${path}: cannot read (${code})`);
    throw error;
  }
}

program
  .command("submit")
  .description("create a session (if needed) and submit tasks from a JSONL file or stdin (-)")
  .argument("<session>", "session id")
  .argument("[file]", "JSONL file, one task input per line; - for stdin", "-")
  .option("--handler <name>", "task type to run")
  .option("--close", "close the session once submitted")
  .option(
    "--start-index <n>",
    "index of the first task (resubmit with the same value: nothing is duplicated)",
    int,
    0,
  )
  .option(
    "--resume-from <index>",
    "skip the input's tasks numbered below this (stored by an interrupted submit, which prints it)",
    int,
  )
  .option("--batch-size <n>", "tasks per request", int, 1000)
  .option("--pool <pool>", "pool of a new session")
  .option("--priority <priority>", "high, normal or low (new session)")
  .option("--max-attempts <n>", "attempts per task (new session)", int)
  .option("--task-timeout <ms>", "longest a task of a new session may run, in ms (default 1 hour)", int)
  .option(
    "--chunk-size <n>",
    "tasks per chunk, the unit a worker leases, of a new session (1-500, default 64): smaller spreads a small session over more workers",
    chunkSize,
  )
  .option("--timeout <ms>", "longest one of these tasks may run, in ms (instead of the session's)", int)
  .action(async (sessionId: string, file: string, o) => {
    if (file !== "-")
      await access(file, constants.R_OK).catch(() => {
        throw new UsageError(`${file}: no such file (or not readable)`);
      });
    const { tessera, json } = await client();
    const config = {
      ...(o.pool ? { pool: o.pool } : {}),
      ...(o.priority ? { priority: o.priority } : {}),
      ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
      ...(o.taskTimeout ? { taskTimeoutMs: o.taskTimeout } : {}),
      ...(o.chunkSize ? { chunkMaxTasks: o.chunkSize } : {}),
    };
    const session = await tessera.createSession({ sessionId, config });
    // Ctrl-C stops reading and sending; what the API already accepted is reported below.
    const interrupt = new AbortController();
    process.once("SIGINT", () => interrupt.abort(new Error("interrupted")));
    const tty = !json && process.stderr.isTTY;
    const first = Math.max(o.startIndex, o.resumeFrom ?? 0);
    let progress: SubmitSummary = { submitted: 0, created: 0, existing: 0, nextIndex: first };
    let summary: SubmitSummary;
    try {
      summary = await session.submit(readJsonl(file, interrupt.signal), {
        handler: o.handler,
        ...(o.timeout ? { timeoutMs: o.timeout } : {}),
        close: Boolean(o.close),
        startIndex: o.startIndex,
        resumeFrom: o.resumeFrom,
        batchSize: o.batchSize,
        signal: interrupt.signal,
        onProgress: (n, soFar) => {
          progress = soFar;
          if (tty) process.stderr.write(`\rsubmitted ${n}`);
        },
      });
    } catch (error) {
      if (tty && progress.submitted > 0) process.stderr.write("\n");
      const interrupted = interrupt.signal.aborted;
      // An API error before anything was stored needs no way back: it is the one line.
      if (!interrupted && progress.nextIndex === first) throw error;
      if (!interrupted) console.error(`tessera: ${error instanceof Error ? error.message : String(error)}`);
      const args = process.argv.slice(2);
      const lines = describeInterruptedSubmit(sessionId, args, {
        first,
        nextIndex: progress.nextIndex,
        fromStdin: file === "-",
      });
      for (const line of lines) console.error(line);
      process.exit(interrupted ? 130 : error instanceof UsageError ? 2 : 3);
    }
    if (tty) process.stderr.write("\n");
    if (json) out({ sessionId, ...summary });
    else
      console.log(
        `${sessionId}: ${summary.submitted} tasks submitted (${summary.created} new, ${summary.existing} already there)`,
      );
  });

program
  .command("close")
  .description("close a session: it takes no more tasks, and wait and results end once its tasks finish")
  .argument("<session>")
  .action(async (sessionId: string) => {
    const { tessera, json } = await client();
    const session = tessera.session(sessionId);
    const info = await session.close();
    if (json) return out(info);
    const { counts } = await session.status();
    const left = counts.queued + counts.running;
    console.log(`${sessionId}: ${info.state} with ${counts.total} tasks (${left} still queued or running)`);
  });

program
  .command("status")
  .description("a session's state and task counts")
  .argument("<session>")
  .action(async (sessionId: string) => {
    const { tessera, json } = await client();
    const status = await tessera.session(sessionId).status();
    if (json) out(status);
    else {
      console.log(
        `${sessionId} (${status.state}, ${Math.round(status.progress * 100)}%): ${describeCounts(status)}`,
      );
      if (status.cost)
        console.log(`cost so far: ${describeCost(status.cost)} (\`tessera cost ${sessionId}\` itemizes)`);
    }
  });

program
  .command("cost")
  .description("what a session cost so far, line by line, at list price")
  .argument("<session>")
  .action(async (sessionId: string) => {
    const { tessera, json } = await client();
    const { cost } = await tessera.session(sessionId).status();
    if (!cost) throw new UsageError("this grid does not report costs (it is older than this CLI)");
    if (json) return out(cost);
    console.log(formatCost(sessionId, cost));
  });

program
  .command("results")
  .description("stream results as JSON lines until the session is done (Ctrl-C stops)")
  .argument("<session>")
  .option("--cursor <cursor>", "resume after this cursor")
  .action(async (sessionId: string, o) => {
    const { tessera } = await client();
    process.once("SIGINT", () => process.exit(130));
    const stream = tessera.session(sessionId).results({ cursor: o.cursor });
    for await (const r of stream) {
      // Every line has the same head; a result without output (failed, cancelled, or its
      // download lost) has its error instead, and a failed task the command showing its logs.
      const head = { taskId: r.taskId, index: r.index, status: r.status, attempt: r.attempt };
      if (!r.error) out({ ...head, output: r.output });
      else if (r.status === "FAILED") out({ ...head, error: r.error, logs: logsCommand(sessionId, r.index) });
      else out({ ...head, error: r.error });
    }
  });

program
  .command("wait")
  .description("wait until every task finished, with progress; exit 1 if any failed or was cancelled")
  .argument("<session>")
  .action(async (sessionId: string) => {
    const { tessera, json } = await client();
    const session = tessera.session(sessionId);
    const progress = progressReporter(sessionId, !json && process.stderr.isTTY);
    const status = await session.wait({ onProgress: progress.update });
    progress.stop();
    const failures = await failuresOf(session, status);
    if (json) out({ ...status, failures });
    else {
      console.log(`${sessionId}: ${describeCounts(status)}`);
      for (const line of formatFailures(sessionId, failures)) console.log(line);
    }
    if (status.counts.failed + status.counts.cancelled > 0) process.exitCode = 1;
  });

program
  .command("cancel")
  .description("cancel a session, or one task with --task")
  .argument("<session>")
  .option("--task <id>", "cancel only this task")
  .action(async (sessionId: string, o) => {
    const { tessera, json } = await client();
    const session = tessera.session(sessionId);
    if (o.task !== undefined) {
      const task = await session.cancelTask(o.task);
      if (json) out(task);
      else
        console.log(
          `task ${task.taskId}: ${task.status}${task.cancelRequested ? " (cancel requested)" : ""}`,
        );
      return;
    }
    const report = await session.cancel();
    if (json) out(report);
    else
      console.log(
        `${sessionId}: cancelled (${report.cancelledQueued} queued tasks cancelled, ${report.abortRequested} running aborted)`,
      );
  });

program
  .command("sessions")
  .description("your sessions, newest first")
  .option("--limit <n>", "most sessions to list", int, 20)
  .action(async (o) => {
    const { tessera, json } = await client();
    let n = 0;
    // People get a table sized to its content (ids are up to 64 characters), hence held rows.
    const rows: string[][] = [];
    for await (const s of tessera.sessions({ pageSize: Math.min(100, o.limit) })) {
      if (n++ >= o.limit) break;
      if (json) out(s);
      else rows.push([s.sessionId, s.state, s.createdAt]);
    }
    for (const line of formatTable(rows)) console.log(line);
  });

program
  .command("profile")
  .description("save a grid's connection as a profile (from a deployed stack's outputs, or given)")
  .argument("<name>", "profile name (`default` is used when no --profile is given)")
  .option("--from-outputs <file>", "the stack's outputs, as `sst deploy` writes them (.sst/outputs.json)")
  .action((name: string, o: { fromOutputs?: string }) => {
    const globals = program.opts<Globals>();
    const connection = o.fromOutputs
      ? profileFromOutputs(o.fromOutputs, globals.token)
      : resolveConnection(
          { endpoint: globals.endpoint, token: globals.token, iamRegion: globals.iamRegion },
          {},
        );
    const path = saveProfile(name, connection);
    const auth = connection.iamRegion ? `IAM, ${connection.iamRegion}` : "token";
    console.log(`profile ${name}: ${connection.endpoint} (${auth}) saved in ${path}`);
  });

registerLogsCommand(program, () => program.opts<Globals>());
registerDashboardCommand(program, () => program.opts<Globals>());

// `tessera results … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

program.parseAsync().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`tessera: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof TesseraError) {
    console.error(`tessera: ${error.message}`);
    process.exit(3);
  }
  console.error(`tessera: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.TESSERA_DEBUG && error instanceof Error) console.error(error.stack);
  process.exit(3);
});
