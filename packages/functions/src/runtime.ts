/**
 * What every handler works with, built once per Lambda container (or local process): the SDK
 * clients and grid ports (shared with agents: `gridPortsFromEnv` of `@tessera/core/aws`), and
 * what only the functions need: tracing, the auth settings and the scaler's wake. Configuration
 * comes from the environment, which `infra/` (on AWS) and the local grid set.
 */

import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { GridPorts, PoolStatus, SessionUsage } from "@tessera/core";
import { type AwsClients, DynamoScalerLock, gridPortsFromEnv, sessionUsageFor } from "@tessera/core/aws";
import { type HandlerCatalogue, parseHandlerCatalogue } from "./handler-catalogue.ts";
import type { AuthConfig } from "./http/auth.ts";
import type { TaskLogSource } from "./logs/task-log-source.ts";
import { scalerKickFromEnv } from "./scaler-kick.ts";
import { fleetStatusOf } from "./scaler-lock.ts";

/** The grid a handler serves. */
export interface GridRuntime {
  ports: GridPorts;
  auth: AuthConfig;
  /** Per-session usage (requests, Lambda time) for cost reports; absent when switched off. */
  usage?: SessionUsage | undefined;
  /** Told when tickets were sent to a pool: wakes the fleet scaler for agent pools. */
  onAgentWork?: ((pool: string) => Promise<void>) | undefined;
  /**
   * What each pool runs: a submit naming another handler is refused (400). A pool not listed,
   * or no catalogue at all, accepts any handler.
   */
  handlers?: HandlerCatalogue | undefined;
  /**
   * The fleet's status as the fleet controller last saw it: the local grid's, which runs beside
   * the API, or what a deployed scaler left in its lock item; absent, the fleet route shows no
   * pools.
   */
  fleet?: { pools(): PoolStatus[] | Promise<PoolStatus[]> } | undefined;
  /** Where the logs route reads task log entries; absent, it answers that there are none to read. */
  logs?: TaskLogSource | undefined;
}

/** Memory of this function in GB: Lambda says; elsewhere (the local grid) the deployed size. */
export function functionMemoryGb(deployedMb = 1769, env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || deployedMb) / 1024;
}

/**
 * Environment variables read by {@link runtimeFromEnv}: those of `gridPortsFromEnv`
 * (`@tessera/core/aws`: the grid, its bucket and queues, the emulator endpoints, the reaper's
 * timing, the retention), and
 * - `TESSERA_JWT_TENANT_CLAIM` (default `tenant`), `TESSERA_TOKENS` (JSON object token → tenant,
 *   local mode only): see AuthConfig.
 * - `TESSERA_SCALER_FUNCTION` and `TESSERA_AGENT_POOLS`: submits to those pools wake the fleet
 *   scaler (see scaler-kick.ts), and the fleet route reads the status it leaves in its lock.
 * - `TESSERA_SESSION_USAGE=off`: no per-session usage (cost reports).
 * - `TESSERA_HANDLERS`: JSON `{ "pool": { "handlers": ["echo", …], "default": "echo" | null } }`,
 *   what each pool runs (see handler-catalogue.ts); unset, every pool accepts any handler.
 * - `TESSERA_TASK_LOG_GROUPS`: comma-separated CloudWatch log groups holding task log entries
 *   (the worker function's, the agents'), read by the logs route; unset, it has none to read.
 */
export function runtimeFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { tracer?: Tracer } = {},
): GridRuntime {
  const { ports, clients, emulated } = gridPortsFromEnv(env);
  if (options.tracer) {
    // X-Ray subsegments for every DynamoDB, SQS and S3 call (a no-op when tracing is off).
    options.tracer.captureAWSv3Client(clients.dynamo);
    options.tracer.captureAWSv3Client(clients.sqs);
    options.tracer.captureAWSv3Client(clients.s3);
  }
  return {
    ports,
    usage: sessionUsageFor(clients, ports, env),
    onAgentWork: scalerKickFromEnv(env),
    handlers: env.TESSERA_HANDLERS ? parseHandlerCatalogue(env.TESSERA_HANDLERS) : undefined,
    logs: taskLogSourceFromEnv(env, options.tracer),
    fleet: env.TESSERA_SCALER_FUNCTION ? scalerFleetStatus(clients.doc, ports.grid.table.name) : undefined,
    auth: {
      jwtTenantClaim: env.TESSERA_JWT_TENANT_CLAIM || "tenant",
      tokens: emulated && env.TESSERA_TOKENS ? parseTokens(env.TESSERA_TOKENS) : undefined,
    },
  };
}

/**
 * The fleet's status as the deployed scaler last left it in its lock item (one GetItem per
 * read; about a minute old at most, as the scaler releases its lock every invocation).
 */
function scalerFleetStatus(doc: AwsClients["doc"], table: string): GridRuntime["fleet"] {
  const lock = new DynamoScalerLock({ doc, table });
  return { pools: async () => fleetStatusOf(await lock.peek()) };
}

/**
 * The CloudWatch Logs source over TESSERA_TASK_LOG_GROUPS, if set. Its SDK client loads on the
 * first read: the worker and the reaper, which build this runtime too, never load it.
 */
function taskLogSourceFromEnv(env: NodeJS.ProcessEnv, tracer: Tracer | undefined): TaskLogSource | undefined {
  const groups = (env.TESSERA_TASK_LOG_GROUPS ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
  if (groups.length === 0) return undefined;
  let source: Promise<TaskLogSource> | undefined;
  return {
    async read(tenant, sessionId, query) {
      source ??= import("./logs/cloudwatch-task-log-source.ts").then((m) =>
        m.cloudWatchTaskLogSourceFor(groups, tracer),
      );
      return (await source).read(tenant, sessionId, query);
    },
  };
}

function parseTokens(json: string): Map<string, string> {
  const parsed = JSON.parse(json) as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("TESSERA_TOKENS must be a JSON object mapping tokens to tenants");
  }
  return new Map(Object.entries(parsed as Record<string, string>));
}

/** Builds the runtime on first use and keeps it for the life of the container. */
export function lazyRuntime(build: () => GridRuntime = runtimeFromEnv): () => GridRuntime {
  let runtime: GridRuntime | undefined;
  return () => {
    runtime ??= build();
    return runtime;
  };
}
