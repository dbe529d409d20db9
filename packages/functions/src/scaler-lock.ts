/**
 * The fleet scaler's memory, carried in its lock. One scaler runs at a time (DynamoScalerLock:
 * a conditional write on the grid's table, where reserved concurrency 1 fails on accounts
 * whose quota is 10), but not always in the same container: a submit's wake that finds the
 * lock held starts a second one, and later invocations land on either. What a controller
 * learned that the instances cannot tell a fresh one (agents that never came up, and the holds
 * they caused) is therefore left in the lock at release and taken up at the next acquire.
 * Each pool's record is keyed by a fingerprint of the pool's configuration: a changed pool (a
 * new launch template, subnets, instance shape) starts clean instead of waiting out a hold.
 */
import { createHash } from "node:crypto";
import type { BootRecord, FleetController, FleetStatusBoard, PoolStatus } from "@tessera/core";
import { z } from "zod";

const at = z.number().finite().optional();
const count = z.number().int().min(0);
/** The fleet's status as the scaler last saw it (fleet-status.ts), for the API's fleet route. */
const PoolStatusSchema = z.object({
  pool: z.string(),
  at: z.number(),
  queued: z.object({ high: count, normal: count, low: count }),
  agents: z.object({ launching: count, busy: count, idle: count, draining: count }),
  recentLaunches: z.array(
    z.object({
      at: z.number(),
      count,
      instanceTypes: z.array(z.object({ instanceType: z.string(), market: z.string(), count })).optional(),
    }),
  ),
  shortfalls: z.array(z.object({ at: z.number(), message: z.string() })),
  usage: z
    .object({
      since: z.number(),
      to: z.number(),
      lines: z.array(z.object({ instanceType: z.string(), market: z.string(), seconds: z.number().min(0) })),
    })
    .optional(),
});
const MemorySchema = z.object({
  // Read apart from the pools (fleetStatusOf): a status another version of the scaler wrote
  // must not make the failed-boot holds unreadable.
  status: z.unknown().optional(),
  pools: z.record(
    z.string(),
    z.object({
      config: z.string(),
      boot: z.object({
        failures: z.number().int().min(0),
        lastFailedLaunchAt: at,
        holds: z.number().int().min(0),
        heldSince: at,
        heldUntil: at,
      }),
    }),
  ),
});
/** What the scaler leaves in its lock. */
export type ScalerMemory = z.output<typeof MemorySchema>;

/** A fingerprint of each pool's configuration (as TESSERA_FLEET gives it). */
export function poolFingerprints(pools: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(pools).map(([pool, config]) => [
      pool,
      createHash("sha256").update(JSON.stringify(config)).digest("base64url").slice(0, 16),
    ]),
  );
}

/**
 * The controller's memory to leave in the lock (no undefined values: DynamoDB refuses them), and
 * with a status board, the fleet's status for the API to read (see fleetStatusOf).
 */
export function scalerMemoryOf(
  controller: FleetController,
  fingerprints: Record<string, string>,
  board?: FleetStatusBoard,
): ScalerMemory {
  const pools: ScalerMemory["pools"] = {};
  for (const [pool, boot] of Object.entries(controller.failedBoots())) {
    const config = fingerprints[pool];
    if (config !== undefined) pools[pool] = { config, boot: JSON.parse(JSON.stringify(boot)) as BootRecord };
  }
  return board ? { pools, status: JSON.parse(JSON.stringify(board.pools())) as PoolStatus[] } : { pools };
}

/** The fleet's status in a scaler's memory (none when absent or unreadable: a view, not a decision). */
export function fleetStatusOf(memory: unknown): PoolStatus[] {
  const status = z.object({ status: z.array(PoolStatusSchema) }).safeParse(memory);
  return status.success ? status.data.status : [];
}

/**
 * Gives the controller the memory found in the lock: the records of pools whose configuration
 * is unchanged. Returns why a memory was ignored (unreadable), for a log line.
 */
export function restoreScalerMemory(
  controller: FleetController,
  memory: unknown,
  fingerprints: Record<string, string>,
  board?: FleetStatusBoard,
): string | undefined {
  if (memory === undefined) return undefined;
  const parsed = MemorySchema.safeParse(memory);
  if (!parsed.success)
    return `the scaler's memory in its lock is unreadable (${parsed.error.issues[0]?.message})`;
  const records: Record<string, BootRecord> = {};
  for (const [pool, { config, boot }] of Object.entries(parsed.data.pools))
    if (fingerprints[pool] === config) records[pool] = boot;
  controller.restoreFailedBoots(records);
  board?.restore(fleetStatusOf(memory));
  return undefined;
}
