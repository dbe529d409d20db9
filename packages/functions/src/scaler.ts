/**
 * The fleet scaler (scheduled): drives the agent pools' EC2 fleets from their queues.
 *
 * EventBridge invokes it every minute, and a submit to an agent pool invokes it at once
 * (scaler-kick.ts); each invocation runs the fleet controller for up to 55 s, a pass every
 * `everySeconds` (10 s by default), and returns at once when a pass finds no work and no agent
 * in any pool. So the first agents are launched about a second after work arrives, and later
 * steps follow within one pass (seconds), where CloudWatch-alarm scaling waits for alarm
 * periods and evaluation windows (minutes) before each step. An idle grid costs one short
 * invocation a minute: a queue-attribute read per queue and a DescribeInstances per pool, and
 * two writes of its lock item. The controller lives as long as the Lambda container, so its
 * launch back-off and memory of the pool carry over between invocations; a fresh container
 * rebuilds them from the instances, and takes up the failed boots from the lock (scaler-lock.ts).
 *
 * One scaler runs at a time: two would launch twice for the same backlog. An invocation first
 * takes the lock item in the grid's table (a conditional write, until a little past its own
 * end, so a crashed holder blocks the next for at most its timeout); one that finds it held
 * returns at once, since the holder reads the same queues.
 *
 * Configuration: TESSERA_FLEET (JSON, written by `infra/`: the `tessera:grid` tag value, the
 * pass interval, and per agent pool its launch template, subnets with their zones, instance
 * requirements, spot, maxAgents), plus the grid's queues and table (TESSERA_PREFIX) as for
 * every function.
 */

import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { EC2Client } from "@aws-sdk/client-ec2";
import {
  DEFAULT_FLEET_POLICY,
  defineGrid,
  describePass,
  FleetController,
  type FleetPolicy,
  FleetStatusBoard,
  type PoolPass,
  parseInput,
  queueUrlsOf,
  type ScalerLock,
  SystemClock,
} from "@tessera/core";
import {
  AcceleratorsSchema,
  createAwsClients,
  DynamoScalerLock,
  Ec2Fleet,
  LOCAL_CREDENTIALS,
  SqsBacklog,
} from "@tessera/core/aws";
import type { Context, ScheduledEvent } from "aws-lambda";
import { z } from "zod";
import { withObservability } from "./middleware.ts";
import { createObservability, type Observability } from "./observability.ts";
import { poolFingerprints, restoreScalerMemory, scalerMemoryOf } from "./scaler-lock.ts";

const range = z
  .tuple([z.number().int().positive(), z.number().int().positive()])
  .refine(([min, max]) => min <= max, "min must not exceed max");

/** TESSERA_FLEET, as `infra/` writes it. */
export const FleetConfigSchema = z
  .object({
    /** The `tessera:grid` tag value of this grid's agent instances. */
    grid: z.string().min(1),
    /** Seconds between two passes within an invocation. */
    everySeconds: z.number().int().min(1).max(60).default(10),
    pools: z.record(
      z.string(),
      z
        .object({
          launchTemplateId: z.string().min(1),
          subnets: z.array(z.object({ id: z.string().min(1), zone: z.string().min(1) }).strict()).min(1),
          vcpu: range,
          memoryGiB: range,
          arch: z.enum(["arm64", "x86_64"]),
          spot: z.boolean(),
          maxAgents: z.number().int().min(1).max(10_000),
          /** GPUs per instance (a GPU pool): the launch requires them, as its template does. */
          accelerators: AcceleratorsSchema.optional(),
          /** Overrides of the scaling policy (step, idleMs, billing, …). */
          policy: z.record(z.string(), z.number()).optional(),
        })
        .strict(),
    ),
  })
  .strict();
export type FleetConfig = z.output<typeof FleetConfigSchema>;

/** Reads TESSERA_FLEET; a bad value is a ValidationError naming the field. */
export function fleetConfigFromEnv(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  const raw = env.TESSERA_FLEET;
  if (!raw) throw new Error("TESSERA_FLEET is not set: the scaler has no agent pool to drive");
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error("TESSERA_FLEET is not valid JSON");
  }
  return parseInput(FleetConfigSchema, json, "TESSERA_FLEET");
}

/** The scaling policy of a pool: the defaults, its size, and its overrides. */
export function policyOf(pool: FleetConfig["pools"][string]): FleetPolicy {
  // An agent runs one task per vCPU: the smallest instance allowed sets the pace.
  return { ...DEFAULT_FLEET_POLICY, ...pool.policy, maxAgents: pool.maxAgents, concurrency: pool.vcpu[0] };
}

/** What the scaler drives: built once per container. */
export interface Scaler {
  controller: FleetController;
  everyMs: number;
  /** Keeps one scaler running at a time, and its memory across containers. */
  lock: ScalerLock;
  /** Fingerprint of each pool's configuration (its memory is kept under it). */
  fingerprints: Record<string, string>;
  /** The fleet's status from the controller's passes, left in the lock for the API's fleet route. */
  board?: FleetStatusBoard | undefined;
}

/** Builds the scaler from the environment (the grid's queues and TESSERA_FLEET). */
export function scalerFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { ec2?: EC2Client } = {},
): Scaler {
  const config = fleetConfigFromEnv(env);
  const grid = defineGrid({
    prefix: env.TESSERA_PREFIX || "tessera",
    pools: (env.TESSERA_POOLS || "default").split(",").map((p) => p.trim()),
  });
  for (const pool of Object.keys(config.pools))
    if (!grid.pools.includes(pool)) throw new Error(`TESSERA_FLEET.pools.${pool}: not a pool of this grid`);
  const base = env.TESSERA_QUEUE_URL_BASE;
  if (!base) throw new Error("TESSERA_QUEUE_URL_BASE is not set: the scaler cannot read its queues");
  const clients = createAwsClients({
    region: env.AWS_REGION,
    dynamoEndpoint: env.TESSERA_DYNAMODB_ENDPOINT || undefined,
    queueEndpoint: env.TESSERA_QUEUE_ENDPOINT || undefined,
    // An emulator (local runs and tests) gets dummy credentials, never real ones.
    ...(env.TESSERA_DYNAMODB_ENDPOINT || env.TESSERA_QUEUE_ENDPOINT
      ? { credentials: LOCAL_CREDENTIALS }
      : {}),
  });
  const ec2 = options.ec2 ?? new EC2Client({ region: env.AWS_REGION });
  const fleet = new Ec2Fleet({ ec2, grid: config.grid, pools: config.pools });
  const board = new FleetStatusBoard();
  return {
    controller: new FleetController({
      fleet,
      backlog: new SqsBacklog(clients.sqs, grid, queueUrlsOf(grid, base)),
      policies: Object.fromEntries(Object.entries(config.pools).map(([pool, p]) => [pool, policyOf(p)])),
      clock: new SystemClock(),
      onPass: (pass) => board.record(pass),
    }),
    board,
    everyMs: config.everySeconds * 1000,
    lock: new DynamoScalerLock({ doc: clients.doc, table: grid.table.name }),
    fingerprints: poolFingerprints(config.pools),
  };
}

/** What one invocation did. */
export interface ScalerReport {
  passes: number;
  launched: number;
  stopped: number;
  /** Passes in which a pool stayed short of its target (capacity, throttling, a fault). */
  shortfalls: number;
  /** Set when the invocation did nothing: why (another scaler holds the lock). */
  skipped?: string;
}

/** The lock is held this long past the invocation's own end (clocks of two hosts may differ). */
const LOCK_SLACK_MS = 5_000;

/** Builds the scaler handler (the scaler is created on first use and kept per container). */
export function createScalerHandler(
  scaler: () => Scaler,
  o: Observability = createObservability("tessera-scaler"),
  /** Longest run of one invocation, ms (EventBridge starts the next a minute later). */
  maxRunMs = 55_000,
) {
  const handle = async (_event: ScalerEvent, context: Context): Promise<ScalerReport> => {
    const built = scaler();
    const { controller, lock, fingerprints, board } = built;
    const owner = context.awsRequestId;
    const grant = await lock.acquire(owner, Date.now() + context.getRemainingTimeInMillis() + LOCK_SLACK_MS);
    if (!grant) {
      o.logger.info("another scaler is running: it reads the same queues, this invocation does nothing");
      return { passes: 0, launched: 0, stopped: 0, shortfalls: 0, skipped: "another scaler is running" };
    }
    const unreadable = restoreScalerMemory(controller, grant.memory, fingerprints, board);
    if (unreadable) o.logger.warn(unreadable);
    try {
      return await runPasses(built, context, o, maxRunMs);
    } finally {
      try {
        await lock.release(owner, scalerMemoryOf(controller, fingerprints, board));
      } catch (error) {
        // It expires a little after this invocation's end anyway.
        o.logger.warn("could not release the scaler's lock", { error: (error as Error).message });
      }
    }
  };
  return withObservability(handle, o, (event) => ("id" in event ? event.id : undefined));
}

/** The passes of one invocation (the lock held), logged and counted. */
async function runPasses(
  { controller, everyMs }: Scaler,
  context: Context,
  o: Observability,
  maxRunMs: number,
): Promise<ScalerReport> {
  const budget = Math.min(maxRunMs, context.getRemainingTimeInMillis() - 5_000);
  const passes = await controller.run({ everyMs, deadline: Date.now() + budget, untilIdle: true });
  const all: PoolPass[] = passes.flat();
  const report: ScalerReport = {
    passes: passes.length,
    launched: all.reduce((n, p) => n + p.launched.length, 0),
    stopped: all.reduce((n, p) => n + p.stopped.length, 0),
    shortfalls: all.filter((p) => p.errors.length > 0 || p.failed).length,
  };
  for (const p of all) {
    if (p.failed || p.errors.length > 0) o.logger.warn(describePass(p), { pool: p.pool, errors: p.errors });
    else if (p.launched.length > 0 || p.stopped.length > 0) o.logger.info(describePass(p), { pool: p.pool });
  }
  // Pools whose agents never come up: once per invocation, the latest word (a pass that
  // launched or stopped was logged above).
  const held = new Map(all.filter((p) => p.failedBoots).map((p) => [p.pool, p]));
  for (const p of held.values())
    if (p.launched.length === 0 && p.stopped.length === 0 && !p.failed && p.errors.length === 0)
      o.logger.warn(describePass(p), { pool: p.pool, failedBoots: p.failedBoots });
  o.metrics.addMetric("AgentsLaunched", MetricUnit.Count, report.launched);
  o.metrics.addMetric("AgentsStopped", MetricUnit.Count, report.stopped);
  o.metrics.addMetric("FleetShortfalls", MetricUnit.Count, report.shortfalls);
  o.metrics.addMetric("PoolsWithFailedBoots", MetricUnit.Count, held.size);
  return report;
}

/** The schedule's event, or a wake from a submit to an agent pool (see scaler-kick.ts). */
export type ScalerEvent = ScheduledEvent | { source: "tessera.submit"; pool: string };
