/**
 * Failed boots, pure: an agent still launching `launchTimeoutMs` after its launch never came up
 * (a bad image, a setup script that failed, a missing instance role) and `decideFleet` stops it.
 * Relaunching at once would repeat the failure for ever and keep the pool's whole fleet billed
 * for instances that never take work. So after `bootFailureLimit` such agents in a row a pool's
 * launches are held, for `bootHoldMs` doubling up to `bootHoldMaxMs`; when a hold ends the pool
 * launches one probe agent, not a fleet, until an agent comes up. A probe that fails holds again
 * (twice as long); one that comes up clears the record and the pool grows as usual.
 *
 * Why a probe and a one-hour ceiling rather than holding until a new deploy: a fix is often
 * made outside the scaler (a new image or template version, a repaired setup script, an IAM
 * role), so the scaler cannot see it; a probe costs one instance for `launchTimeoutMs` per hold,
 * and the ceiling bounds how long work waits after the fix. A change of the pool's own
 * configuration clears the record at once (the fleet scaler keys it by the pool's config).
 */
import type { FleetAgent, FleetPolicy } from "./scaler.ts";

/** What a pool's agents that never came up have caused. */
export interface BootRecord {
  /** Agents in a row that never came up (one launched after them that comes up resets it). */
  failures: number;
  /** Launch time of the newest of them. */
  lastFailedLaunchAt?: number | undefined;
  /** Holds in a row: each doubles the next. */
  holds: number;
  /** When the latest hold began. */
  heldSince?: number | undefined;
  /** When the latest hold ends. */
  heldUntil?: number | undefined;
}

/** Agents launched at once when a hold ends, to see whether boots work again. */
export const PROBE_AGENTS = 1;

/** A pool none of whose agents failed to come up. */
export function noFailedBoots(): BootRecord {
  return { failures: 0, holds: 0 };
}

/**
 * Records agents stopped at `now` because they never came up (`launchedAt` of each). Holds the
 * pool's launches once `bootFailureLimit` failed in a row; the stragglers of a batch already held
 * for (launched before the hold began) do not hold it again, a failed probe does.
 */
export function recordFailedBoots(
  record: BootRecord,
  launchedAt: readonly number[],
  now: number,
  policy: FleetPolicy,
): BootRecord {
  if (launchedAt.length === 0) return record;
  const out: BootRecord = {
    ...record,
    failures: record.failures + launchedAt.length,
    lastFailedLaunchAt: Math.max(record.lastFailedLaunchAt ?? Number.NEGATIVE_INFINITY, ...launchedAt),
  };
  const inForce = record.heldUntil !== undefined && now < record.heldUntil;
  const sinceHold = record.heldSince === undefined || launchedAt.some((t) => t >= record.heldSince!);
  if (out.failures >= policy.bootFailureLimit && !inForce && sinceHold) {
    out.holds = record.holds + 1;
    out.heldSince = now;
    out.heldUntil = now + Math.min(policy.bootHoldMaxMs, policy.bootHoldMs * 2 ** (out.holds - 1));
  }
  return out;
}

/** Clears the record once an agent launched after the newest failed one is up: boots work. */
export function recordAgentsUp(record: BootRecord, agents: readonly FleetAgent[]): BootRecord {
  if (record.failures === 0) return record;
  const after = record.lastFailedLaunchAt ?? Number.NEGATIVE_INFINITY;
  return agents.some((a) => a.state === "running" && a.launchedAt > after) ? noFailedBoots() : record;
}

/** Whether failed boots limit the pool's launches (held, or probing). */
export function bootsSuspect(record: BootRecord, policy: FleetPolicy): boolean {
  return record.failures >= policy.bootFailureLimit;
}

/** Why a pool's launches are held or probed: its agents never came up. */
export interface FailedBoots {
  /** Agents in a row that never came up. */
  agents: number;
  /** Within how long (the pool's `launchTimeoutMs`). */
  withinMs: number;
  /** Launches are held until then; absent once the hold is over (probing with one agent). */
  heldUntil?: number | undefined;
}

/** What a pass reports of the record: undefined while boots work. */
export function failedBootsOf(record: BootRecord, policy: FleetPolicy, now: number): FailedBoots | undefined {
  if (!bootsSuspect(record, policy)) return undefined;
  const { failures, heldUntil } = record;
  return {
    agents: failures,
    withinMs: policy.launchTimeoutMs,
    heldUntil: heldUntil !== undefined && now < heldUntil ? heldUntil : undefined,
  };
}

/** Why a pool's launches are held, and where to look. */
export function describeFailedBoots(f: FailedBoots): string {
  const within = f.withinMs % 60_000 === 0 ? `${f.withinMs / 60_000} min` : `${f.withinMs / 1_000} s`;
  const action =
    f.heldUntil !== undefined
      ? `launches held until ${new Date(f.heldUntil).toISOString()}`
      : `launching ${PROBE_AGENTS} agent to probe until one comes up`;
  return (
    `${f.agents} agent(s) in a row never came up within ${within} (boot failure?); ${action}; ` +
    "see /var/log/tessera-agent-setup.log on an instance, or its console output"
  );
}

/**
 * How many of the `wanted` launches the pool may make at `now`: all while boots work, none
 * while held, and then a probe (`launching`: its agents not up yet, which a probe counts in).
 */
export function launchesAllowed(
  record: BootRecord,
  policy: FleetPolicy,
  wanted: number,
  launching: number,
  now: number,
): number {
  if (!bootsSuspect(record, policy)) return wanted;
  if (record.heldUntil !== undefined && now < record.heldUntil) return 0;
  return Math.max(0, Math.min(wanted, PROBE_AGENTS - launching));
}
