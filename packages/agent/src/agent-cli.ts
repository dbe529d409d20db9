/**
 * The agent's command line, run by `tessera-agent` (cli.ts, task modules named by `--tasks`) and
 * by the bundled agent (bundled-agent.ts, task modules built in): serves a grid's pools until
 * SIGTERM or SIGINT, then drains. The grid comes from the environment (as for the Lambda
 * functions: TESSERA_PREFIX, TESSERA_POOLS, TESSERA_QUEUE_URL_BASE, and locally the emulator
 * endpoints); what to run from the flags.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { TaskRunner } from "@tessera/core";
import { gridPortsFromEnv, sessionUsageFor } from "@tessera/core/aws";
import {
  collectTasks,
  formatLogEntry,
  isLogLevel,
  isolatedTaskRunner,
  jsonLineSink,
  LOG_LEVELS,
  type LogLevel,
  type TaskLogSink,
  taskRunner,
  workerPool,
} from "@tessera/task";
import { Command, InvalidArgumentError } from "commander";
import { split } from "shlex";
import { Agent } from "./agent.ts";
import { CloudWatchLogShipper } from "./cloudwatch-log-shipper.ts";
import { commandRunner } from "./command-runner.ts";
import { instanceKind, reportEc2Status } from "./ec2-status.ts";
import { startHealthServer } from "./health.ts";
import { drainOnSpotNotice } from "./spot-watch.ts";

/**
 * Task modules the agent was built with (imported already), and where its task threads load
 * them: a module (its URL) that exports, under `exportName`, the task function of a thread that
 * loads it (see entryThreadTask).
 */
export interface BuiltInTasks {
  modules: Record<string, unknown>[];
  entry: string;
  exportName: string;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number");
  return n;
}

function agentProgram(builtIn: BuiltInTasks | undefined): Command {
  return new Command("tessera-agent")
    .description("Runs Tessera tasks from a grid's queues until stopped (SIGTERM/SIGINT drain it).")
    .option("--pools <list>", "pools to serve, comma-separated", process.env.TESSERA_AGENT_POOLS ?? "default")
    .option("--concurrency <n>", "tasks run at once", positiveInt, availableParallelism())
    .option("--tasks <modules...>", "JS/TS modules exporting defineTask() definitions")
    .option("--default-task <name>", "task run for batches that name no handler")
    .option(
      "--in-process",
      "run --tasks code in the agent's own thread (default: in worker threads, where a cancel or timeout can stop any task)",
    )
    .option(
      "--log-format <format>",
      "task log lines on stdout: json (one object per line, for the journal or a log shipper) or text",
      "json",
    )
    .option(
      "--log-level <level>",
      `least severe task log level shown: ${LOG_LEVELS.join(", ")}`,
      process.env.TESSERA_TASK_LOG_LEVEL ?? "info",
    )
    .option("--command <program>", "run this program per task (payload on stdin, result from stdout)")
    .option("--arg <value...>", "arguments of --command", [])
    .option("--input <mode>", "how --command gets the payload: stdin or file (TESSERA_INPUT_FILE)", "stdin")
    .option(
      "--worker <command>",
      'keep --concurrency warm worker processes of this command, split as a shell would (e.g. "python3 -m tessera.worker pricing"), speaking docs/worker-protocol.md',
    )
    .option(
      "--timeout <seconds>",
      "stop a --command or --worker run after this long (the task fails)",
      positiveInt,
    )
    .option("--grace <seconds>", "on stop, time for running tasks to finish before release", positiveInt, 30)
    .option("--health-port <port>", "serve /health and /metrics on this port (0: any free port)", positiveInt)
    .option("--health-host <host>", "address of the health endpoint", "127.0.0.1")
    .option(
      "--ec2-status",
      "on EC2: keep the agent's state (running, busy, idle since, draining) in its instance's tags for the fleet scaler",
      process.env.TESSERA_AGENT_EC2_STATUS === "1",
    )
    .option(
      "--spot-watch",
      "on EC2 spot: watch the instance metadata for an interruption notice and drain within it",
      process.env.TESSERA_AGENT_SPOT_WATCH === "1",
    )
    .showHelpAfterError()
    .addHelpText(
      "after",
      builtIn
        ? "\nThis agent was built with its task modules: --tasks, --command and --worker are refused."
        : "",
    );
}

/** Imports the task modules named by `--tasks` (paths, relative to the working directory). */
async function importTaskModules(paths: string[]): Promise<Record<string, unknown>[]> {
  const modules: Record<string, unknown>[] = [];
  for (const path of paths) {
    try {
      modules.push(await import(pathToFileURL(resolve(path)).href));
    } catch (error) {
      fail(`cannot load task module ${path}: ${(error as Error).message}`);
    }
  }
  return modules;
}

/**
 * The CloudWatch Logs shipper of the group TESSERA_TASK_LOG_GROUP names, started (its stream
 * created, or a warning saying why not), or none when unset.
 */
async function taskLogShipperFromEnv(): Promise<CloudWatchLogShipper | undefined> {
  const group = process.env.TESSERA_TASK_LOG_GROUP;
  if (!group) return undefined;
  const shipper = new CloudWatchLogShipper({
    client: new CloudWatchLogsClient({ region: process.env.AWS_REGION }),
    group,
    warn: (message, fields) => console.error(JSON.stringify({ message, ...fields })),
  });
  await shipper.start();
  return shipper;
}

function fail(message: string): never {
  console.error(`tessera-agent: ${message}`);
  process.exit(2);
}

/**
 * Runs the agent as its flags say, until it is stopped; exits the process (2 on bad flags or a
 * grid it cannot reach, 0 once drained). With `builtIn`, the agent runs those task modules
 * (`--tasks` and `--command` are refused); without, the modules `--tasks` names.
 */
export async function runAgentCli(builtIn?: BuiltInTasks): Promise<void> {
  const opts = agentProgram(builtIn).parse().opts<{
    pools: string;
    concurrency: number;
    tasks?: string[];
    defaultTask?: string;
    inProcess?: boolean;
    logFormat: string;
    logLevel: string;
    command?: string;
    worker?: string;
    arg: string[];
    input: string;
    timeout?: number;
    grace: number;
    healthPort?: number;
    healthHost: string;
    spotWatch: boolean;
    ec2Status: boolean;
  }>();
  if (builtIn && (opts.tasks || opts.command || opts.worker))
    fail("this agent was built with its task modules: --tasks, --command and --worker are refused");
  if (!builtIn && [opts.tasks, opts.command, opts.worker].filter(Boolean).length !== 1)
    fail('give one of --tasks <modules...>, --command <program> or --worker "<command>"');
  if (opts.input !== "stdin" && opts.input !== "file") fail("--input must be stdin or file");
  if (opts.concurrency < 1) fail("--concurrency must be at least 1");
  if (opts.logFormat !== "json" && opts.logFormat !== "text") fail("--log-format must be json or text");
  if (!isLogLevel(opts.logLevel)) fail(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  // Task logs: one line each on stdout, where the agent's own lines go (the journal on EC2),
  // and with TESSERA_TASK_LOG_GROUP in CloudWatch Logs too, where the API's logs route reads them.
  const stdoutSink: TaskLogSink =
    opts.logFormat === "text"
      ? (entry) => process.stdout.write(`${formatLogEntry(entry)}\n`)
      : jsonLineSink();
  const shipper = await taskLogShipperFromEnv();
  const logs: { logSink: TaskLogSink; logLevel: LogLevel } = {
    logSink: shipper
      ? (entry) => {
          stdoutSink(entry);
          shipper.sink(entry);
        }
      : stdoutSink,
    logLevel: opts.logLevel,
  };

  let runner: TaskRunner;
  let closeRunner = async () => {};
  let runnerCapacity: (() => number) | undefined;
  if (builtIn || opts.tasks) {
    const modules = builtIn?.modules ?? (await importTaskModules(opts.tasks!));
    let tasks: ReturnType<typeof collectTasks>;
    try {
      tasks = collectTasks(...modules);
    } catch (error) {
      fail((error as Error).message);
    }
    if (tasks.size === 0)
      fail(
        `no defineTask() definitions exported by ${opts.tasks?.join(", ") ?? "the built-in task modules"}`,
      );
    if (opts.inProcess) {
      runner = taskRunner(tasks, { defaultTask: opts.defaultTask, ...logs });
    } else {
      // One warm thread per task slot: a task is stopped by stopping its thread.
      const source = builtIn ? { entry: builtIn.entry, exportName: builtIn.exportName } : opts.tasks!;
      const isolated = isolatedTaskRunner(source, {
        threads: opts.concurrency,
        defaultTask: opts.defaultTask,
        ...logs,
      });
      // Threads that load a built-in entry see none of the flags: the default task is named here.
      runner = (task) => isolated.run({ ...task, handler: task.handler ?? opts.defaultTask });
      runnerCapacity = () => isolated.capacity();
      closeRunner = () => isolated.close();
      // No work is taken before the task threads have loaded the task modules.
      try {
        await isolated.ready();
      } catch (error) {
        fail(`task threads could not start: ${(error as Error).message}`);
      }
    }
  } else if (opts.worker) {
    let argv: string[];
    try {
      argv = split(opts.worker);
    } catch (error) {
      fail(`--worker: ${(error as Error).message}`);
    }
    if (argv.length === 0) fail("--worker: give the command that starts a worker process");
    const pool = workerPool({
      command: argv[0]!,
      args: argv.slice(1),
      processes: opts.concurrency,
      defaultTask: opts.defaultTask,
      timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
      ...logs,
      // The workers' output and their crashes are the agent's own lines (stderr, as its warnings).
      log: (message, fields) => console.error(JSON.stringify({ message, ...fields })),
    });
    runner = pool.run;
    runnerCapacity = pool.capacity;
    closeRunner = pool.close;
    // No work is taken before every worker process has said which handlers it serves.
    try {
      const handlers = await pool.ready();
      console.log(JSON.stringify({ message: "worker processes ready", pids: pool.pids(), handlers }));
    } catch (error) {
      fail(`--worker: ${(error as Error).message}`);
    }
  } else {
    runner = commandRunner({
      command: opts.command!,
      args: opts.arg,
      input: opts.input as "stdin" | "file",
      timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
    });
  }

  // On EC2, the agent's time is priced by its instance type and market (spot or on-demand).
  let instance: { type: string; market: string } | undefined;
  if (opts.ec2Status) {
    try {
      instance = await instanceKind(process.env.TESSERA_IMDS_ENDPOINT);
    } catch (error) {
      fail(
        `--ec2-status: cannot read this instance's type from the metadata service (${(error as Error).message})`,
      );
    }
  }
  let agent: Agent;
  try {
    // The agent's time and calls are charged to the sessions of its tasks, as a worker's are.
    const { ports, clients } = gridPortsFromEnv();
    agent = new Agent({
      ports,
      usage: sessionUsageFor(clients, ports),
      instance,
      runner,
      runnerCapacity,
      pools: opts.pools
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean),
      concurrency: opts.concurrency,
      graceMs: opts.grace * 1000,
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const health =
    opts.healthPort === undefined
      ? undefined
      : await startHealthServer(agent, { host: opts.healthHost, port: opts.healthPort });
  const stats = agent.stats();
  console.log(
    JSON.stringify({
      message: "agent started",
      owner: stats.owner,
      pools: stats.pools,
      concurrency: stats.concurrency,
      health: health?.url,
    }),
  );
  let signals = 0;
  const onSignal = (signal: string) => {
    signals++;
    if (signals > 1) {
      console.error(`tessera-agent: ${signal} again, exiting without draining`);
      process.exit(1);
    }
    console.log(JSON.stringify({ message: `${signal}: draining`, graceSeconds: opts.grace }));
    void agent.stop();
  };
  let endEc2Status = async () => {};
  if (opts.ec2Status) {
    let reported = false;
    try {
      endEc2Status = await reportEc2Status({
        stats: () => agent.stats(),
        imdsEndpoint: process.env.TESSERA_IMDS_ENDPOINT,
        onError: (error) => {
          if (reported) return;
          reported = true;
          console.error(
            JSON.stringify({
              message: "cannot tag the instance with the agent's state",
              error: error.message,
            }),
          );
        },
      });
    } catch (error) {
      fail(
        `--ec2-status: cannot read this instance's id from the metadata service (${(error as Error).message})`,
      );
    }
  }
  let spotWatchFailed = false;
  const endSpotWatch = opts.spotWatch
    ? drainOnSpotNotice(agent, {
        // TESSERA_IMDS_ENDPOINT: a stand-in metadata service (tests); EC2's by default.
        endpoint: process.env.TESSERA_IMDS_ENDPOINT,
        onNotice: (notice, graceMs) =>
          console.log(
            JSON.stringify({
              message: `spot ${notice.action} notice: draining`,
              at: new Date(notice.at).toISOString(),
              graceSeconds: graceMs / 1000,
            }),
          ),
        // Once: a metadata service that cannot be read stays so, and the poll runs every 5 s.
        onError: (error) => {
          if (spotWatchFailed) return;
          spotWatchFailed = true;
          console.error(
            JSON.stringify({ message: "spot watch cannot read the metadata", error: error.message }),
          );
        },
      })
    : () => {};
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  if (process.env.TESSERA_AGENT_STOP_ON_STDIN_EOF === "1") {
    // Started by the local grid: when it goes away (even killed), its end of stdin closes.
    process.stdin.on("end", () => onSignal("parent gone"));
    process.stdin.resume();
  }
  await agent.run();
  await closeRunner();
  endSpotWatch();
  await endEc2Status();
  await health?.close();
  await shipper?.close();
  console.log(JSON.stringify({ message: "agent stopped", ...agent.stats() }));
  process.exit(0);
}

/** Runs {@link runAgentCli}, reporting an unexpected error in one line (exit 2). */
export function startAgentCli(builtIn?: BuiltInTasks): void {
  runAgentCli(builtIn).catch((error: unknown) =>
    fail(error instanceof Error ? error.message : String(error)),
  );
}
