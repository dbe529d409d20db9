/**
 * A grid process's ports from its environment, which `infra/` (on AWS) and the local grid set:
 * what the Lambda functions and the agents share. The functions add their own (tracing, auth,
 * the scaler's wake) in `@tessera/functions`' `runtimeFromEnv`; agents need nothing more.
 */
import type { GridPorts } from "../../dispatch/grid-ports.ts";
import { SessionUsage } from "../../dispatch/session-usage.ts";
import { attachCallMeter, type MeterableClient } from "../../metering/call-meter.ts";
import { DEFAULT_RETENTION_DAYS } from "../../model/limits.ts";
import { defineGrid, queueUrlsOf } from "../../resources.ts";
import { awsGridPorts } from "./aws-grid.ts";
import { type AwsClients, createAwsClients, LOCAL_CREDENTIALS } from "./clients.ts";

/** What {@link gridPortsFromEnv} built. */
export interface GridFromEnv {
  ports: GridPorts;
  /** The ports' clients, for what wraps their calls (metering, tracing). */
  clients: AwsClients;
  /** True with emulator endpoints (local mode): the clients use dummy credentials. */
  emulated: boolean;
}

/**
 * Builds the grid's SDK clients and ports from these environment variables:
 * - `TESSERA_PREFIX` (default `tessera`) and `TESSERA_POOLS` (comma list, default `default`):
 *   the grid definition, as `infra/` deployed it.
 * - `TESSERA_BUCKET`: the payload and result bucket (default `{prefix}-blobs`, the local grid's).
 * - `TESSERA_QUEUE_URL_BASE` (required): queue URLs are `{base}/{physical name}` (on AWS
 *   `https://sqs.{region}.amazonaws.com/{account}`).
 * - `TESSERA_DYNAMODB_ENDPOINT`, `TESSERA_QUEUE_ENDPOINT`: emulator endpoints (local mode only;
 *   dummy credentials are used with them, never real ones).
 * - `TESSERA_TICKET_GRACE_MS`, `TESSERA_LEASE_GRACE_MS`: the reaper's timing (defaults 15 min and
 *   30 s; the local grid shortens them).
 * - `TESSERA_RETENTION_DAYS` (default 30): the bucket's retention; the table keeps each item this
 *   long after the grid's last write of it (`expiresAt`, its TTL).
 * - `AWS_REGION`.
 *
 * A variable set to something unusable is refused by name.
 */
export function gridPortsFromEnv(env: NodeJS.ProcessEnv = process.env): GridFromEnv {
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
  if (!base) throw new Error("TESSERA_QUEUE_URL_BASE is not set: the grid's queues cannot be reached");
  const retentionDays = retentionDaysFromEnv(env);
  const emulated = Boolean(env.TESSERA_DYNAMODB_ENDPOINT || env.TESSERA_QUEUE_ENDPOINT);
  const clients = createAwsClients({
    region: env.AWS_REGION,
    dynamoEndpoint: env.TESSERA_DYNAMODB_ENDPOINT || undefined,
    queueEndpoint: env.TESSERA_QUEUE_ENDPOINT || undefined,
    ...(emulated ? { credentials: LOCAL_CREDENTIALS } : {}),
  });
  const ports = awsGridPorts(clients, grid, queueUrlsOf(grid, base), {
    timing: {
      ...msFromEnv(env, "TESSERA_TICKET_GRACE_MS", "ticketGraceMs"),
      ...msFromEnv(env, "TESSERA_LEASE_GRACE_MS", "leaseGraceMs"),
    },
    retentionDays,
  });
  return { ports, clients, emulated };
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
