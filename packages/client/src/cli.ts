#!/usr/bin/env node
/**
 * `tessera`: submit, watch and manage sessions from a shell. Output is for people by default
 * and JSON (one object per line) with --json. Exit codes: 0 done, 1 some task failed or was
 * cancelled (wait), 2 bad usage, 3 the API refused or could not be reached.
 */
import { constants, createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { TesseraError } from "./errors.ts";
import { profileFromOutputs, resolveConnection, saveProfile, UsageError } from "./profile.ts";
import { Tessera } from "./tessera.ts";
import type { SessionCost, SessionStatus } from "./types.ts";

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
  seq 1 1000 | tessera submit squares - --handler square --close
  tessera wait risk-0412
  tessera results risk-0412 > results.jsonl
  tessera status risk-0412 --json
  tessera profile prod --from-outputs .sst/outputs.json   (after \`npx sst deploy --stage prod\`)
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

/** Lines of a JSONL file or stdin, parsed; a bad line names its number. */
async function* readJsonl(path: string): AsyncGenerator<unknown> {
  const input = path === "-" ? process.stdin : createReadStream(path);
  input.on("error", () => {}); // reported by the readline loop below
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
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
  .option("--batch-size <n>", "tasks per request", int, 1000)
  .option("--pool <pool>", "pool of a new session")
  .option("--priority <priority>", "high, normal or low (new session)")
  .option("--max-attempts <n>", "attempts per task (new session)", int)
  .option("--task-timeout <ms>", "longest a task of a new session may run, in ms (default 1 hour)", int)
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
    };
    const session = await tessera.createSession({ sessionId, config });
    const summary = await session.submit(readJsonl(file), {
      handler: o.handler,
      ...(o.timeout ? { timeoutMs: o.timeout } : {}),
      close: Boolean(o.close),
      startIndex: o.startIndex,
      batchSize: o.batchSize,
      onProgress: (n) => {
        if (!json && process.stderr.isTTY) process.stderr.write(`\rsubmitted ${n}`);
      },
    });
    if (!json && process.stderr.isTTY) process.stderr.write("\n");
    if (json) out({ sessionId, ...summary });
    else
      console.log(
        `${sessionId}: ${summary.submitted} tasks submitted (${summary.created} new, ${summary.existing} already there)`,
      );
  });

function describeCounts(s: SessionStatus): string {
  const c = s.counts;
  return `${c.total} tasks: ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.queued} queued`;
}

/** `$0.000123 for 1,234 AWS requests, 5.6 Lambda GB-s, 0 agent-s`. */
function describeCost(c: SessionCost): string {
  const parts = [`${c.requests.toLocaleString("en", { maximumFractionDigits: 0 })} AWS requests`];
  if (c.lambdaGbSeconds > 0) parts.push(`${c.lambdaGbSeconds.toFixed(1)} Lambda GB-s`);
  if (c.agentSeconds > 0) parts.push(`${c.agentSeconds.toFixed(0)} agent-s`);
  return `${dollars(c.dollars)} for ${parts.join(", ")}`;
}

function dollars(n: number): string {
  return n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toPrecision(3)}`;
}

/** The cost breakdown as a table. */
function formatCost(sessionId: string, c: SessionCost): string {
  const rows = c.lines.map((l) => [
    l.service,
    l.item,
    `${l.quantity.toLocaleString("en", { maximumFractionDigits: 2 })} ${l.unit}`,
    l.priced ? dollars(l.dollars) : "no price",
  ]);
  const header = ["service", "item", "quantity", "cost"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ");
  return [
    `${sessionId}: ${describeCost(c)}`,
    line(header),
    ...rows.map(line),
    `prices: ${c.prices.region}, taken ${c.prices.takenOn} (${c.prices.source}); requests the client made directly (presigned uploads and downloads) are not included`,
  ].join("\n");
}

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
      // A result without output (failed, cancelled, or its download lost) is a line with its error.
      out(r.error ? r : { taskId: r.taskId, status: r.status, output: r.output });
    }
  });

program
  .command("wait")
  .description("wait until every task finished, with progress; exit 1 if any failed or was cancelled")
  .argument("<session>")
  .action(async (sessionId: string) => {
    const { tessera, json } = await client();
    const bar =
      !json && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            {
              format:
                "  {bar} {value}/{total}  ✓ {succeeded}  ✗ {failed}  ⊘ {cancelled}  {rate}/s  eta {eta_formatted}",
              stream: process.stderr,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
    const started = Date.now();
    let shown = false;
    const status = await tessera.session(sessionId).wait({
      onProgress: (s) => {
        const c = s.counts;
        const finished = c.succeeded + c.failed + c.cancelled;
        const rate = Math.round(finished / Math.max(0.001, (Date.now() - started) / 1000));
        const payload = { succeeded: c.succeeded, failed: c.failed, cancelled: c.cancelled, rate };
        if (!bar) return;
        if (!shown) bar.start(c.total, finished, payload);
        shown = true;
        bar.setTotal(c.total);
        bar.update(finished, payload);
      },
    });
    bar?.stop();
    if (json) out(status);
    else console.log(`${sessionId}: ${describeCounts(status)}`);
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
    for await (const s of tessera.sessions({ pageSize: Math.min(100, o.limit) })) {
      if (n++ >= o.limit) break;
      if (json) out(s);
      else console.log(`${s.sessionId.padEnd(30)} ${s.state.padEnd(9)} ${s.createdAt}`);
    }
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
