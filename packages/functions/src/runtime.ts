/**
 * What every handler works with, built once per Lambda container (or local process): the SDK
 * clients and grid ports, and the auth settings. Configuration comes from the environment,
 * which `infra/` (on AWS) and the local grid set.
 */

import type { Tracer } from "@aws-lambda-powertools/tracer";
import { DEFAULT_RETENTION_DAYS, defineGrid, type GridPorts, queueUrlsOf, SessionUsage } from "@tessera/core";
import { awsGridPorts, createAwsClients, LOCAL_CREDENTIALS } from "@tessera/core/aws";
import { attachCallMeter, type MeterableClient } from "@tessera/core/metering";
import type { AuthConfig } from "./http/auth.ts";
import { scalerKickFromEnv } from "./scaler-kick.ts";

/** The grid a handler serves. */
export interface GridRuntime {
  ports: GridPorts;
  auth: AuthConfig;
  /** Per-session usage (requests, Lambda time) for cost reports; absent when switched off. */
  usage?: SessionUsage | undefined;
  /** Told when tickets were sent to a pool: wakes the fleet scaler for agent pools. */
  onAgentWork?: ((pool: string) => Promise<void>) | undefined;
}

/** Memory of this function in GB: Lambda says; elsewhere (the local grid) the deployed size. */
export function functionMemoryGb(deployedMb = 1769, env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || deployedMb) / 1024;
}

/**
 * Per-session usage over a grid's clients: their counting middleware attributes every call to
 * its session. Off with TESSERA_SESSION_USAGE=off.
 */
export function sessionUsageFor(
  clients: { dynamo: MeterableClient; sqs: MeterableClient; s3: MeterableClient },
  ports: GridPorts,
  env: NodeJS.ProcessEnv = process.env,
): SessionUsage | undefined {
  if (env.TESSERA_SESSION_USAGE === "off") return undefined;
  const usage = new SessionUsage(ports.store);
  for (const client of [clients.dynamo, clients.sqs, clients.s3]) attachCallMeter(client, usage.recorder);
  return usage;
}

/**
 * Environment variables read by {@link runtimeFromEnv}:
 * - `TESSERA_PREFIX` (default `tessera`) and `TESSERA_POOLS` (comma list, default `default`):
 *   the grid definition, as `infra/` deployed it.
 * - `TESSERA_BUCKET`: the payload and result bucket (default `{prefix}-blobs`, the local grid's).
 * - `TESSERA_QUEUE_URL_BASE`: queue URLs are `{base}/{physical name}` (on AWS
 *   `https://sqs.{region}.amazonaws.com/{account}`).
 * - `TESSERA_DYNAMODB_ENDPOINT`, `TESSERA_QUEUE_ENDPOINT`: emulator endpoints (local mode only;
 *   dummy credentials are used with them, never real ones).
 * - `TESSERA_TICKET_GRACE_MS`, `TESSERA_LEASE_GRACE_MS`: the reaper's timing (defaults 15 min and
 *   30 s; the local grid shortens them).
 * - `TESSERA_RETENTION_DAYS` (default 30): the bucket's retention; the table keeps each item this
 *   long after the grid's last write of it (`expiresAt`, its TTL).
 * - `TESSERA_JWT_TENANT_CLAIM` (default `tenant`), `TESSERA_TOKENS` (JSON object token → tenant,
 *   local mode only): see AuthConfig.
 * - `TESSERA_SCALER_FUNCTION` and `TESSERA_AGENT_POOLS`: submits to those pools wake the fleet
 *   scaler (see scaler-kick.ts).
 * - `TESSERA_SESSION_USAGE=off`: no per-session usage (cost reports).
 */
export function runtimeFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { tracer?: Tracer } = {},
): GridRuntime {
  const defined = defineGrid({
    prefix: env.TESSERA_PREFIX || "tessera",
    pools: (env.TESSERA_POOLS || "default")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
  });
  // On AWS the bucket is named by the stack (bucket names are global); locally `<prefix>-blobs`.
  const grid = env.TESSERA_BUCKET ? { ...defined, bucketName: env.TESSERA_BUCKET } : defined;
  const base = env.TESSERA_QUEUE_URL_BASE;
  if (!base) throw new Error("TESSERA_QUEUE_URL_BASE is not set: the function cannot reach its queues");
  const retentionDays = retentionDaysFromEnv(env);
  const local = Boolean(env.TESSERA_DYNAMODB_ENDPOINT || env.TESSERA_QUEUE_ENDPOINT);
  const clients = createAwsClients({
    region: env.AWS_REGION,
    dynamoEndpoint: env.TESSERA_DYNAMODB_ENDPOINT || undefined,
    queueEndpoint: env.TESSERA_QUEUE_ENDPOINT || undefined,
    ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
  });
  if (options.tracer) {
    // X-Ray subsegments for every DynamoDB, SQS and S3 call (a no-op when tracing is off).
    options.tracer.captureAWSv3Client(clients.dynamo);
    options.tracer.captureAWSv3Client(clients.sqs);
    options.tracer.captureAWSv3Client(clients.s3);
  }
  const ports = awsGridPorts(clients, grid, queueUrlsOf(grid, base), {
    timing: {
      ...msFromEnv(env, "TESSERA_TICKET_GRACE_MS", "ticketGraceMs"),
      ...msFromEnv(env, "TESSERA_LEASE_GRACE_MS", "leaseGraceMs"),
    },
    retentionDays,
  });
  return {
    ports,
    usage: sessionUsageFor(clients, ports, env),
    onAgentWork: scalerKickFromEnv(env),
    auth: {
      jwtTenantClaim: env.TESSERA_JWT_TENANT_CLAIM || "tenant",
      tokens: local && env.TESSERA_TOKENS ? parseTokens(env.TESSERA_TOKENS) : undefined,
    },
  };
}

function msFromEnv<K extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  field: K,
): Partial<Record<K, number>> {
  const raw = env[name];
  if (raw === undefined || raw === "") return {};
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new Error(`${name} must be a whole number of milliseconds (got "${raw}")`);
  return { [field]: ms } as Partial<Record<K, number>>;
}

/** TESSERA_RETENTION_DAYS: whole days, at least 1 (infra/ checks it by the same rule). */
function retentionDaysFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.TESSERA_RETENTION_DAYS;
  if (raw === undefined || raw === "") return DEFAULT_RETENTION_DAYS;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`TESSERA_RETENTION_DAYS must be a whole number of days, at least 1 (got "${raw}")`);
  return days;
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
