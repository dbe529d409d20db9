/**
 * Configuration of the local grid: one optional file (`tessera.local.json` in the directory
 * `npm start` runs in, or the path in TESSERA_LOCAL_CONFIG) plus environment variables, which
 * win. Every field has a default, so no file is needed.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { IdSchema, parseInput } from "@tessera/core";
import { z } from "zod";

/** Task threads of the Lambda-style workers: every core but one, which the API keeps. */
const DEFAULT_TASK_THREADS = Math.max(1, availableParallelism() - 1);

/** A configuration the user must fix. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const port = z.number().int().min(0).max(65_535);

export const LocalConfigSchema = z
  .object({
    /** Where DynamoDB Local keeps its data (sessions, tasks, results) and the agents their logs. */
    dataDir: z.string().min(1).default(".tessera"),
    /** Port of the HTTP API on 127.0.0.1 (0: any free port). */
    port: port.default(8787),
    /** Prefix of table, queue and bucket names. */
    prefix: z
      .string()
      .regex(/^[a-z0-9-]{3,20}$/, "must be 3-20 characters of a-z 0-9 -")
      .default("local"),
    pools: z.array(IdSchema).min(1).default(["default"]),
    /**
     * Pools served only by agents you start yourself (`tessera-agent` with the settings `npm
     * start` writes to `dataDir/agent.env`): the grid starts no worker or agent on them, so
     * their tasks can run code the grid does not have (a `--command` program).
     */
    externalPools: z.array(IdSchema).default([]),
    /**
     * Pools served by warm workers in any language (docs/worker-protocol.md): for each, the grid
     * runs one agent process, `tessera-agent --worker <command>` with `concurrency` worker
     * processes, in the directory `npm start` runs in and with packages/python/src on PYTHONPATH
     * (for `python3 -m tessera.worker`). Its handlers are those the workers say they serve.
     */
    workerPools: z
      .record(
        IdSchema,
        z
          .object({
            /** The worker's command line, split as a shell would. */
            command: z.string().trim().min(1),
            /** Worker processes, each running one task at a time. */
            concurrency: z.number().int().min(1).max(64).default(2),
          })
          .strict(),
      )
      .default({}),
    /** Lambda-style workers: a local event source mapping per queue invoking the worker handler. */
    lambda: z
      .object({
        /** Pollers per queue (Lambda's event source runs several). */
        pollers: z.number().int().min(0).max(16).default(2),
        /** Simulated function timeout, seconds. */
        timeoutSeconds: z.number().int().min(5).max(900).default(60),
        /** Tasks one invocation runs at once. */
        concurrency: z.number().int().min(1).max(256).default(16),
        /**
         * Worker threads the task code runs in, shared by the workers (0: in the grid's own
         * thread). In threads a cancel or timeout stops any task, and CPU-bound tasks never
         * slow the API.
         */
        threads: z.number().int().min(0).max(64).default(DEFAULT_TASK_THREADS),
      })
      .strict()
      .default({ pollers: 2, timeoutSeconds: 60, concurrency: 16, threads: DEFAULT_TASK_THREADS }),
    /** Agent processes (the EC2/EKS agent, run locally). */
    agents: z
      .object({
        count: z.number().int().min(0).max(32).default(1),
        concurrency: z.number().int().min(1).max(256).default(4),
      })
      .strict()
      .default({ count: 1, concurrency: 4 }),
    /**
     * The agent fleet: pools served by agent processes that the fleet scaler starts when work
     * arrives and stops when it is done (as on EC2), not by the Lambda-style workers.
     */
    fleet: z
      .object({
        pools: z.array(IdSchema).default(["batch"]),
        maxAgents: z.number().int().min(1).max(32).default(4),
        /** Tasks one agent runs at once. */
        concurrency: z.number().int().min(1).max(256).default(4),
        /** Agents stop once their pool has had no work for this long, seconds. */
        idleSeconds: z.number().int().min(1).max(3_600).default(15),
        /** The scaler's pass interval, seconds. */
        everySeconds: z.number().int().min(1).max(60).default(2),
      })
      .strict()
      .default({ pools: ["batch"], maxAgents: 4, concurrency: 4, idleSeconds: 15, everySeconds: 2 }),
    /** Task modules (defineTask exports) the workers and agents run. */
    tasks: z.array(z.string().min(1)).min(1).default(["examples/echo.ts", "examples/option-pricing.ts"]),
    /** Bearer token → tenant. When absent, one token for tenant "local" is made and kept in dataDir. */
    tokens: z.record(z.string().min(16, "tokens must be at least 16 characters"), IdSchema).optional(),
    /** The sample workload run at start (0 tasks: none). */
    sample: z
      .object({
        tasks: z.number().int().min(0).max(1_000_000).default(2_000),
        /** Tasks of the fleet sample (sleeps of 0.5-2 s on the first fleet pool; 0: none). */
        fleetTasks: z.number().int().min(0).max(100_000).default(64),
      })
      .strict()
      .default({ tasks: 2_000, fleetTasks: 64 }),
    /** The reaper's cadence and its (short, local) grace periods. */
    reaper: z
      .object({
        everySeconds: z.number().int().min(1).default(10),
        ticketGraceMs: z.number().int().min(1_000).default(20_000),
        leaseGraceMs: z.number().int().min(0).default(5_000),
      })
      .strict()
      .default({ everySeconds: 10, ticketGraceMs: 20_000, leaseGraceMs: 5_000 }),
  })
  .strict();

export type LocalConfig = z.output<typeof LocalConfigSchema>;

/** Who serves which pool. */
export interface PoolRoles {
  /** Every pool of the grid (its queues are created). */
  all: string[];
  /** Served by the Lambda-style workers and the fixed agents. */
  workers: string[];
  /** Served by the agent fleet. */
  fleet: string[];
  /** Served by external agents only. */
  external: string[];
  /** Served by a warm-worker agent of the grid's only (`workerPools`). */
  warm: string[];
}

/**
 * The pools of each kind. An external pool is external only, even when another list names it;
 * a warm-worker pool is served by its workers only, even when the fleet's or the pools' list
 * names it.
 */
export function poolRoles(
  config: Pick<LocalConfig, "pools" | "fleet" | "externalPools"> & Partial<Pick<LocalConfig, "workerPools">>,
): PoolRoles {
  const external = [...new Set(config.externalPools)];
  const warm = Object.keys(config.workerPools ?? {}).filter((p) => !external.includes(p));
  const fleet = [...new Set(config.fleet.pools)].filter((p) => !external.includes(p) && !warm.includes(p));
  const workers = [...new Set(config.pools)].filter(
    (p) => !external.includes(p) && !fleet.includes(p) && !warm.includes(p),
  );
  return {
    all: [...new Set([...config.pools, ...fleet, ...external, ...warm])],
    workers,
    fleet,
    external,
    warm,
  };
}

type Raw = Record<string, unknown>;
const section = (raw: Raw, name: string): Raw =>
  typeof raw[name] === "object" && raw[name] !== null ? (raw[name] as Raw) : {};

/** Environment variables that override the file, with the field they set. */
const ENV: Array<[string, (raw: Raw, value: string) => void]> = [
  ["TESSERA_LOCAL_PORT", (raw, v) => Object.assign(raw, { port: Number(v) })],
  ["TESSERA_LOCAL_DATA_DIR", (raw, v) => Object.assign(raw, { dataDir: v })],
  [
    "TESSERA_LOCAL_AGENTS",
    (raw, v) => Object.assign(raw, { agents: { ...section(raw, "agents"), count: Number(v) } }),
  ],
  [
    "TESSERA_LOCAL_SAMPLE_TASKS",
    (raw, v) => Object.assign(raw, { sample: { ...section(raw, "sample"), tasks: Number(v) } }),
  ],
  [
    "TESSERA_LOCAL_FLEET_SAMPLE_TASKS",
    (raw, v) => Object.assign(raw, { sample: { ...section(raw, "sample"), fleetTasks: Number(v) } }),
  ],
];

/**
 * Reads the configuration. A bad file or variable is a ValidationError naming the field (e.g.
 * `tessera.local.json.agents.count`).
 */
export function loadConfig(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const path = resolve(cwd, env.TESSERA_LOCAL_CONFIG ?? "tessera.local.json");
  let raw: Raw = {};
  if (existsSync(path)) {
    try {
      raw = JSON.parse(readFileSync(path, "utf8")) as Raw;
    } catch (error) {
      throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`);
    }
  } else if (env.TESSERA_LOCAL_CONFIG) {
    throw new ConfigError(`TESSERA_LOCAL_CONFIG names ${path}, which does not exist`);
  }
  for (const [name, apply] of ENV) {
    const value = env[name];
    if (value !== undefined && value !== "") apply(raw, value);
  }
  const config = parseInput(LocalConfigSchema, raw, "config");
  return {
    ...config,
    dataDir: resolve(cwd, config.dataDir),
    tasks: config.tasks.map((t) => resolve(cwd, t)),
  };
}
