/**
 * The local grid: the emulators, the grid's table, queues and bucket (from the same definitions
 * `infra/` deploys), the API handler behind an HTTP server on 127.0.0.1, Lambda-style workers
 * fed by a local event source mapping, the reaper on a timer, and agent processes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Agent } from "@tessera/agent";
import {
  DEFAULT_FLEET_POLICY,
  defineGrid,
  describePass,
  FleetController,
  type FleetPolicy,
  FleetStatusBoard,
  type GridDefinition,
  type GridPorts,
  type ReapResume,
  reap,
  type SessionWalk,
  SystemClock,
} from "@tessera/core";
import {
  type AwsClients,
  awsGridPorts,
  createAwsClients,
  destroyAwsClients,
  LOCAL_CREDENTIALS,
  provisionGrid,
  SqsBacklog,
  sessionUsageFor,
} from "@tessera/core/aws";
import { checkJava, startDynamoDbLocal, startFauxqsEmulator } from "@tessera/core/emulators";
import {
  catalogueOf,
  createApiHandler,
  createObservability,
  createWorkerHandler,
  type GridRuntime,
} from "@tessera/functions";
import { collectTasks, isolatedTaskRunner, taskRunner } from "@tessera/task";
import { type LocalConfig, poolRoles } from "./config.ts";
import { runEventSource } from "./event-source.ts";
import { type HttpBridge, startHttpBridge } from "./http-bridge.ts";
import { rememberedPorts, rememberPorts, updateKeptQueues, writeAgentEnv } from "./kept-state.ts";
import { LocalFleet } from "./local-fleet.ts";
import { fileTaskLogSource, localLogSink, taskLogEntryOf } from "./task-logs.ts";
import { type AgentSpec, warmAgentSpec } from "./warm-workers.ts";

/** A failure the user can fix, said in one line. */
export class LocalGridError extends Error {
  override name = "LocalGridError";
}

/** A running local grid. */
export interface LocalGrid {
  apiUrl: string;
  /** A token and its tenant, for the CLI, the SDK and curl. */
  token: string;
  tenant: string;
  grid: GridDefinition;
  ports: GridPorts;
  /** Environment that points a process (an agent, the functions) at this grid. */
  env: Record<string, string>;
  /**
   * The file (in the data directory) that holds `env` for agents started by hand, as shell
   * assignments: `set -a; . FILE; set +a` before `tessera-agent`.
   */
  agentEnvFile: string;
  agents: ChildProcess[];
  /** The agent fleet (processes on the fleet pools, started and stopped by the scaler). */
  fleet: LocalFleet;
  /** The grid's SDK clients (to meter calls). */
  clients: AwsClients;
  /** Requests served by the API and invocations of the Lambda-style workers so far. */
  counters: { apiRequests: number; workerInvocations: number };
  /** Stops everything; safe to call twice. */
  stop(): Promise<void>;
}

async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new LocalGridError(
              `port ${port} on 127.0.0.1 is in use (another local grid?): stop what uses it, or set TESSERA_LOCAL_PORT`,
            )
          : error,
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

/** One local grid per data directory: DynamoDB Local cannot share its database file. */
function lockDataDir(dir: string): () => void {
  const lock = join(dir, "grid.pid");
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, "utf8"));
    let alive = false;
    try {
      if (pid > 0) {
        process.kill(pid, 0);
        alive = true;
      }
    } catch {
      alive = false;
    }
    if (alive) {
      throw new LocalGridError(
        `another local grid (pid ${pid}) is using ${dir}: stop it first (Ctrl-C in its terminal)`,
      );
    }
  }
  writeFileSync(lock, String(process.pid));
  return () => rmSync(lock, { force: true });
}

/** DynamoDB Local's database file in `dir`, checked to be SQLite before Java is asked to open it. */
function checkDatabase(dir: string): void {
  const file = join(dir, "shared-local-instance.db");
  if (!existsSync(file) || statSync(file).size === 0) return;
  const fd = openSync(file, "r");
  const header = Buffer.alloc(16);
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString("latin1") !== "SQLite format 3\u0000") {
    throw new LocalGridError(
      `${file} is not a database (corrupt?): move ${dir} away, or delete it to start with no sessions`,
    );
  }
}

/**
 * Version of the table layout the data directory was written with. Layout 2 (key-group lock
 * items, the group directory, work digests, counter shards) cannot read sessions written by
 * layout 1, so starting on such data says so in one line instead of showing them empty.
 */
const DATA_LAYOUT = "2";

export function checkLayout(dir: string, log: (line: string) => void): void {
  const marker = join(dir, "layout");
  const db = join(dir, "dynamodb", "shared-local-instance.db");
  const written = existsSync(marker) ? readFileSync(marker, "utf8").trim() : undefined;
  if (written !== DATA_LAYOUT && existsSync(db) && statSync(db).size > 0) {
    log(
      `warning: ${dir} holds sessions written by an older Tessera (layout ${written ?? "1"}); they cannot be read by this one. Move the directory away (or delete it) to start clean.`,
    );
  }
  if (written !== DATA_LAYOUT && !(existsSync(db) && statSync(db).size > 0))
    writeFileSync(marker, DATA_LAYOUT);
}

/** The first line of an emulator failure that says what went wrong (not a Java stack). */
function firstCause(message: string): string {
  const cause = message.split("\n").find((line) => /Exception:|Error:/.test(line));
  return (cause ?? message.split("\n")[0] ?? message).trim();
}

function localToken(config: LocalConfig): { tokens: Map<string, string>; token: string; tenant: string } {
  if (config.tokens && Object.keys(config.tokens).length > 0) {
    const [token, tenant] = Object.entries(config.tokens)[0]!;
    return { tokens: new Map(Object.entries(config.tokens)), token, tenant };
  }
  const file = join(config.dataDir, "token");
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600 });
  const token = readFileSync(file, "utf8").trim();
  return { tokens: new Map([[token, "local"]]), token, tenant: "local" };
}

async function loadTasks(paths: string[]) {
  const modules: Record<string, unknown>[] = [];
  for (const path of paths) {
    try {
      modules.push(await import(pathToFileURL(path).href));
    } catch (error) {
      throw new LocalGridError(`cannot load task module ${path}: ${(error as Error).message}`);
    }
  }
  return collectTasks(...modules);
}

/** Starts the local grid. Everything started is stopped again if a later step fails. */
export async function startLocalGrid(
  config: LocalConfig,
  log: (line: string) => void = () => {},
  options: {
    /** Run the agents in this process (on the same, meterable clients) instead of as processes. */
    inProcessAgents?: boolean;
  } = {},
): Promise<LocalGrid> {
  // Local logs stay quiet unless asked; EMF metrics and X-Ray have nowhere to go locally.
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  process.env.POWERTOOLS_TRACE_ENABLED ??= "false";

  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await Promise.resolve(stop()).catch(() => {});
  };
  try {
    await assertPortFree(config.port);
    mkdirSync(join(config.dataDir, "dynamodb"), { recursive: true });
    mkdirSync(join(config.dataDir, "logs"), { recursive: true });
    stops.push(lockDataDir(config.dataDir));
    const tasks = await loadTasks(config.tasks);

    checkDatabase(join(config.dataDir, "dynamodb"));
    checkLayout(config.dataDir, log);
    checkJava(); // said as it is, before any failure to start is blamed on the data
    log("starting DynamoDB Local and fauxqs");
    const remembered = await rememberedPorts(config.dataDir);
    const dynamo = await startDynamoDbLocal({
      dbPath: join(config.dataDir, "dynamodb"),
      port: remembered.dynamodb,
    }).catch((error: Error) => {
      throw new LocalGridError(
        `DynamoDB Local did not start with the data in ${join(config.dataDir, "dynamodb")}: ${firstCause(error.message)}. ` +
          "If the data is corrupt, move that directory away (or delete it) to start fresh.",
      );
    });
    stops.push(() => dynamo.stop());
    // Tickets, payloads and results are kept in the data directory, as the table is.
    const fauxqsDir = join(config.dataDir, "fauxqs");
    const fauxqs = await startFauxqsEmulator({ dataDir: fauxqsDir, port: remembered.fauxqs }).catch(
      (error: Error) => {
        throw new LocalGridError(
          `fauxqs did not start with the data in ${fauxqsDir}: ${firstCause(error.message)}. ` +
            "If the data is corrupt, move that directory away (or delete it) to start fresh.",
        );
      },
    );
    stops.push(() => fauxqs.stop());
    rememberPorts(config.dataDir, { dynamodb: dynamo.port, fauxqs: fauxqs.port });

    const clients = createAwsClients({
      dynamoEndpoint: dynamo.endpoint,
      queueEndpoint: fauxqs.endpoint,
      credentials: LOCAL_CREDENTIALS,
    });
    stops.push(() => destroyAwsClients(clients));
    // The fleet's pools are served by its agents only (as agent pools on AWS), external pools
    // by agents started by hand only, the others by the Lambda-style workers and fixed agents.
    const roles = poolRoles(config);
    const pools = roles.all;
    const fleetPools = new Set(roles.fleet);
    const workerPools = roles.workers;
    const grid = defineGrid({
      prefix: config.prefix,
      pools,
      lambda: { pools: workerPools, timeoutSeconds: config.lambda.timeoutSeconds },
    });
    await updateKeptQueues(clients.sqs, grid);
    const queueUrls = await provisionGrid(clients, grid);
    const timing = { ticketGraceMs: config.reaper.ticketGraceMs, leaseGraceMs: config.reaper.leaseGraceMs };
    const ports = awsGridPorts(clients, grid, queueUrls, { timing });
    const { tokens, token, tenant } = localToken(config);
    const runtime: GridRuntime = {
      ports,
      auth: { jwtTenantClaim: "tenant", tokens },
      usage: sessionUsageFor(clients, ports),
      // The grid's own workers and agents run the task modules and no default task, so a submit
      // to their pools must name one of those; external pools run code the grid cannot see.
      handlers: catalogueOf([...roles.workers, ...roles.fleet], tasks.keys()),
      // The API's logs route reads the session files the grid's log sink writes (below).
      logs: fileTaskLogSource(config.dataDir),
    };
    // Stopped after the workers, agents and API (stops run in reverse): their last counters land.
    stops.push(() => runtime.usage?.flush());
    const anyUrl = Object.values(queueUrls)[0]!;
    const env: Record<string, string> = {
      TESSERA_PREFIX: config.prefix,
      TESSERA_POOLS: grid.pools.join(","),
      TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
      TESSERA_DYNAMODB_ENDPOINT: dynamo.endpoint,
      TESSERA_QUEUE_ENDPOINT: fauxqs.endpoint,
      TESSERA_TICKET_GRACE_MS: String(timing.ticketGraceMs),
      TESSERA_LEASE_GRACE_MS: String(timing.leaseGraceMs),
    };
    const agentEnvFile = writeAgentEnv(config.dataDir, {
      ...env,
      TESSERA_BUCKET: grid.bucketName,
      AWS_REGION: await clients.sqs.config.region(),
    });

    // Task logs, whichever process ran the task: a readable line on the screen, and the entry in
    // its session's file (read back by `tessera logs`).
    const taskLogs = localLogSink(config.dataDir, log);
    const counters = { apiRequests: 0, workerInvocations: 0 };
    // Lambda-style workers: one handler ("container") per poller, as Lambda runs one
    // invocation at a time per container.
    const stopSources = new AbortController();
    const sources: Promise<void>[] = [];
    // Task code runs in worker threads shared by the workers, off the API's thread.
    const isolated =
      config.lambda.threads > 0
        ? isolatedTaskRunner(config.tasks, { threads: config.lambda.threads, logSink: taskLogs })
        : undefined;
    if (isolated) {
      stops.push(() => isolated.close());
      await isolated.ready(); // no work taken before the task threads loaded the task modules
    }
    for (const q of grid.queues) {
      if (!workerPools.some((p) => q.name.startsWith(`${p}-`))) continue;
      // As on AWS, each priority class gets its share: `lambda.pollers` is the normal class's
      // (the default), high gets twice that and low half (at least one).
      const pollers =
        config.lambda.pollers === 0 ? 0 : Math.max(1, Math.round(config.lambda.pollers * q.share * 2));
      for (let i = 0; i < pollers; i++) {
        const handler = createWorkerHandler(
          () => runtime,
          {
            tasks,
            concurrency: config.lambda.concurrency,
            runner: isolated?.run,
            runnerCapacity: isolated ? () => isolated.capacity() : undefined,
            logSink: taskLogs,
          },
          createObservability("tessera-worker"),
        );
        sources.push(
          runEventSource({
            sqs: clients.sqs,
            queueUrl: queueUrls[q.name]!,
            queueName: q.physicalName,
            handler: (event, context) => {
              counters.workerInvocations++;
              return handler(event, context);
            },
            pollers: 1,
            timeoutMs: config.lambda.timeoutSeconds * 1000,
            visibilityTimeoutSeconds: q.visibilityTimeoutSeconds,
            signal: stopSources.signal,
            onError: (error) => log(`worker: ${(error as Error).message}`),
          }),
        );
      }
    }
    stops.push(async () => {
      stopSources.abort();
      await Promise.all(sources);
    });

    // The reaper, on a timer (a pass never overlaps the previous one).
    let reaping = Promise.resolve();
    const walks = new Map<string, SessionWalk>();
    const resume: ReapResume = {};
    const reaper = setInterval(() => {
      reaping = reaping.then(() =>
        reap(ports, { walks, resume, budgetMs: config.reaper.everySeconds * 1000 }).then(
          () => {},
          (error: Error) => log(`reaper: ${error.message}`),
        ),
      );
    }, config.reaper.everySeconds * 1000);
    stops.push(async () => {
      clearInterval(reaper);
      await reaping;
    });

    // Agents: the real agent CLI, as separate processes.
    const agentCli = fileURLToPath(import.meta.resolve("@tessera/agent/cli"));
    const agents: ChildProcess[] = [];
    let stoppingAgents = false;
    // Registered before the first spawn, so a failure part-way still stops those started.
    stops.push(async () => {
      stoppingAgents = true;
      await Promise.all(
        agents.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          // Past the agent's drain (10 s grace, then 5 s for aborted tasks) and its last commits.
          const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    });
    if (options.inProcessAgents) {
      const inProcess = Array.from(
        { length: workerPools.length === 0 ? 0 : config.agents.count },
        () =>
          new Agent({
            ports,
            runner: taskRunner(tasks, { logSink: taskLogs }),
            pools: workerPools,
            usage: runtime.usage,
            concurrency: config.agents.concurrency,
            graceMs: 10_000,
          }),
      );
      const runs = inProcess.map((a) => a.run());
      stops.push(async () => {
        await Promise.all(inProcess.map((a) => a.stop()));
        await Promise.all(runs);
      });
    }
    // Each agent is supervised as systemd or a Deployment would: one that dies (a crash, an OOM
    // kill, a SIGKILL) is logged and started again, after a delay that doubles while it keeps
    // dying (1 s up to 30 s; back to 1 s once it ran a minute).
    const spawnAgent = (i: number, spec: AgentSpec, delayMs = 1_000): void => {
      const file = join(config.dataDir, "logs", `${spec.name}.log`);
      const out = openSync(file, "a");
      const child = spawn(process.execPath, [agentCli, ...spec.args, "--grace", "10"], {
        env: { ...process.env, ...env, ...spec.env, TESSERA_AGENT_STOP_ON_STDIN_EOF: "1" },
        stdio: ["pipe", "pipe", out],
        // Its own process group: a Ctrl-C in the terminal reaches the grid, which then drains
        // the agents once, instead of every agent getting SIGINT and then SIGTERM.
        detached: true,
      });
      closeSync(out);
      // Its output goes to its file; the task log entries among it to the grid's task logs too.
      const lines = createWriteStream(file, { flags: "a" });
      createInterface({ input: child.stdout! }).on("line", (line) => {
        lines.write(`${line}\n`);
        const entry = taskLogEntryOf(line);
        if (entry) taskLogs(entry);
        else spec.onLine?.(line);
      });
      child.stdout!.once("close", () => lines.end());
      const startedAt = Date.now();
      child.on("error", (error) => log(`${spec.name}: ${error.message}`));
      child.once("exit", (code, signal) => {
        if (stoppingAgents) return;
        const wait = Date.now() - startedAt > 60_000 ? 1_000 : delayMs;
        log(
          `${spec.name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); restarting it in ${wait / 1000} s`,
        );
        const timer = setTimeout(() => {
          if (!stoppingAgents) spawnAgent(i, spec, Math.min(30_000, wait * 2));
        }, wait);
        timer.unref();
      });
      agents[i] = child;
    };
    const fixedAgents = options.inProcessAgents || workerPools.length === 0 ? 0 : config.agents.count;
    for (let i = 0; i < fixedAgents; i++)
      spawnAgent(i, {
        name: `agent-${i + 1}`,
        args: [
          "--tasks",
          ...config.tasks,
          "--pools",
          workerPools.join(","),
          "--concurrency",
          String(config.agents.concurrency),
        ],
      });
    // Warm-worker pools: one agent each, running its worker command. Its pool takes any handler
    // until the agent says which ones its workers serve; from then on the API checks them.
    for (const [k, pool] of roles.warm.entries()) {
      const onHandlers = (handlers: string[]) => {
        if (runtime.handlers) runtime.handlers[pool] = { handlers, default: null };
      };
      spawnAgent(fixedAgents + k, warmAgentSpec(pool, config.workerPools[pool]!, onHandlers));
    }

    // The agent fleet: the fleet controller on a timer, as the scaler Lambda runs on AWS.
    const fleet = new LocalFleet({
      agentCli,
      tasks: config.tasks,
      env,
      logDir: join(config.dataDir, "logs"),
      concurrency: config.fleet.concurrency,
      graceSeconds: 10,
      log,
      onTaskLog: taskLogs,
    });
    stops.push(() => fleet.stopAll());
    if (roles.fleet.length > 0) {
      const policy: FleetPolicy = {
        ...DEFAULT_FLEET_POLICY,
        maxAgents: config.fleet.maxAgents,
        concurrency: config.fleet.concurrency,
        idleMs: config.fleet.idleSeconds * 1000,
        // A local process costs nothing idle and starts in about a second.
        minimumBilledMs: 0,
        stepIntervalMs: 3_000,
        bootMs: 2_000,
        warmAgents: 1,
      };
      // What the fleet route shows: the controller's passes, kept beside it (no request).
      const board = new FleetStatusBoard();
      runtime.fleet = board;
      const controller = new FleetController({
        fleet,
        backlog: new SqsBacklog(clients.sqs, grid, queueUrls),
        policies: Object.fromEntries(roles.fleet.map((p) => [p, policy])),
        clock: new SystemClock(),
        onPass: (p) => {
          board.record(p);
          if (p.launched.length > 0 || p.stopped.length > 0 || p.errors.length > 0 || p.failed)
            log(`fleet ${describePass(p)}`);
        },
      });
      // A submit to a fleet pool wakes the scaler, as on AWS.
      runtime.onAgentWork = async (pool) => {
        if (fleetPools.has(pool)) controller.wake();
      };
      const stopFleet = new AbortController();
      const scaling = controller.run({ everyMs: config.fleet.everySeconds * 1000, signal: stopFleet.signal });
      stops.push(async () => {
        stopFleet.abort();
        await scaling;
      });
    }

    const api = createApiHandler(() => runtime, createObservability("tessera-api"));
    const bridge: HttpBridge = await startHttpBridge((event, context) => {
      counters.apiRequests++;
      return api(event, context);
    }, config.port).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "EADDRINUSE"
        ? new LocalGridError(
            `port ${config.port} on 127.0.0.1 is in use: stop what uses it, or set TESSERA_LOCAL_PORT`,
          )
        : error;
    });
    stops.push(() => bridge.close());
    log(`API listening on ${bridge.url}`);

    let stopped: Promise<void> | undefined;
    return {
      apiUrl: bridge.url,
      token,
      tenant,
      grid,
      ports,
      env,
      agentEnvFile,
      agents,
      fleet,
      clients,
      counters,
      stop: () => {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
