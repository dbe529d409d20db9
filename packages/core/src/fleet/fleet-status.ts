/**
 * What the fleet looks like, for status views: each pool's queues, agents, recent launches and
 * shortfalls, from the passes of the fleet controller (which reads all of it anyway). Kept in
 * memory beside the controller (the local grid's API reads it there; a deployed scaler leaves it
 * in its lock item for the API) and bounded: the last RECENT_ENTRIES launches and shortfalls of
 * each pool within RECENT_MS.
 */

import { AWS_LIST_PRICES, ec2HourlyRate, type PriceTable } from "../metering/prices.ts";
import type { Priority } from "../model/status.ts";
import type { AgentStates, BilledAgent, PoolPass } from "./controller.ts";
import type { Placement } from "./ports.ts";

/** Launches and shortfalls kept per pool. */
export const RECENT_ENTRIES = 10;
/** How far back launches and shortfalls are kept. */
export const RECENT_MS = 60 * 60_000;
/** A shortfall's message is cut here (the status travels in the scaler's lock item). */
const MAX_MESSAGE_CHARS = 300;

/** One launch that started agents. */
export interface LaunchEntry {
  at: number;
  count: number;
  /** How many of each instance type and market, when the provider says (EC2); absent locally. */
  instanceTypes?: InstanceCount[] | undefined;
}

/** Agents of one instance type in one market. */
export interface InstanceCount {
  instanceType: string;
  market: string;
  count: number;
}

/** Billed agent time of one instance type in one market, summed over a pool's agents. */
export interface UsageLine {
  instanceType: string;
  /** `spot`, `on-demand`, or `local` (a process on this machine: not priced). */
  market: string;
  seconds: number;
}

/**
 * A pool's billed agent time: each pass adds, for each billed agent it lists, the time since
 * the previous pass (or since the agent's billing began, if later). The time after the last
 * pass that saw an agent (at most one pass interval) and EC2's 60-second minimum are not
 * counted, and a first pass may count a little pending time (EC2's LaunchTime is the launch
 * request): an estimate close to the bill, usually a little under it.
 */
export interface PoolUsage {
  /** Since when the time is counted: the first pass recorded, or an older agent's start. */
  since: number;
  /** Up to when: the last pass that read the pool. */
  to: number;
  /** By instance type and market. */
  lines: UsageLine[];
}

/** A launch that fell short, or a pass that failed. */
export interface ShortfallEntry {
  at: number;
  message: string;
}

/** One pool as its last controller pass saw it. */
export interface PoolStatus {
  pool: string;
  /** When the last pass read the pool. */
  at: number;
  /**
   * Waiting tickets per priority class (a ticket is one chunk: up to 64 short tasks); a backlog
   * port that does not read them apart reports its total as normal.
   */
  queued: Record<Priority, number>;
  agents: AgentStates;
  /** Newest first. */
  recentLaunches: LaunchEntry[];
  /** Newest first. */
  shortfalls: ShortfallEntry[];
  /** Billed agent time so far (absent until a pass read the pool). */
  usage?: PoolUsage | undefined;
}

/** Keeps the latest status of each pool from the controller's passes (its `onPass`). */
export class FleetStatusBoard {
  readonly #pools = new Map<string, PoolStatus>();

  /** Takes one pass of one pool. */
  record(pass: PoolPass, now: number = pass.at ?? Date.now()): void {
    const previous = this.#pools.get(pass.pool);
    const keep = <T extends { at: number }>(entries: T[]) =>
      entries.filter((e) => now - e.at <= RECENT_MS).slice(0, RECENT_ENTRIES);
    const launches = previous?.recentLaunches ?? [];
    const shortfalls = previous?.shortfalls ?? [];
    const newShortfalls: ShortfallEntry[] = [
      ...(pass.failed ? [pass.failed] : []),
      ...pass.errors.map(
        (e) =>
          `${e.code}: ${e.message}${e.instanceType ? ` (${e.instanceType}${e.zone ? ` in ${e.zone}` : ""})` : ""}`,
      ),
    ].map((message) => ({ at: now, message: message.slice(0, MAX_MESSAGE_CHARS) }));
    const q = pass.backlog.queuedByPriority;
    const placed = pass.placed ?? [];
    this.#pools.set(pass.pool, {
      pool: pass.pool,
      at: now,
      // A failed pass read nothing: the last known counts stand.
      queued: q ? { ...q } : (previous?.queued ?? { high: 0, normal: pass.backlog.queued, low: 0 }),
      agents: pass.agentStates ?? previous?.agents ?? { launching: 0, busy: 0, idle: 0, draining: 0 },
      recentLaunches: keep(
        pass.launched.length > 0
          ? [
              {
                at: now,
                count: pass.launched.length,
                ...(placed.length > 0 ? { instanceTypes: countInstances(placed) } : {}),
              },
              ...launches,
            ]
          : launches,
      ),
      shortfalls: keep([...newShortfalls, ...shortfalls]),
      ...(pass.billed
        ? { usage: addUsage(previous?.usage, pass.billed, now) }
        : previous?.usage
          ? { usage: previous.usage }
          : {}),
    });
  }

  /**
   * Takes up what another board saw (a scaler's memory, carried in its lock from container to
   * container): each pool it saw later than this board did. Scaler invocations land on either
   * of two warm containers, so this board's own view may be the older one.
   */
  restore(pools: readonly PoolStatus[]): void {
    for (const p of pools) {
      const mine = this.#pools.get(p.pool);
      if (!mine || p.at > mine.at) this.#pools.set(p.pool, structuredClone(p));
    }
  }

  /** Every pool seen, by name. */
  pools(): PoolStatus[] {
    return [...this.#pools.values()]
      .sort((a, b) => (a.pool < b.pool ? -1 : 1))
      .map((p) => structuredClone(p));
  }
}

/** Launched agents counted by instance type and market. */
function countInstances(placed: readonly Placement[]): InstanceCount[] {
  const counts = new Map<string, InstanceCount>();
  for (const p of placed) {
    const key = `${p.instanceType}|${p.market}`;
    const c = counts.get(key) ?? { instanceType: p.instanceType, market: p.market, count: 0 };
    c.count++;
    counts.set(key, c);
  }
  return [...counts.values()].sort(
    (a, b) => b.count - a.count || a.instanceType.localeCompare(b.instanceType),
  );
}

/** A pool's usage after a pass at `now` that listed `billed` (see PoolUsage). */
function addUsage(previous: PoolUsage | undefined, billed: readonly BilledAgent[], now: number): PoolUsage {
  const lines = new Map((previous?.lines ?? []).map((l) => [`${l.instanceType}|${l.market}`, { ...l }]));
  let since = previous?.since ?? now;
  // A clock behind the last pass's (another container's) adds nothing until it catches up.
  const to = Math.max(previous?.to ?? now, now);
  for (const b of billed) {
    if (previous === undefined) since = Math.min(since, b.since);
    const from = Math.max(b.since, previous?.to ?? b.since);
    if (now <= from) continue;
    const key = `${b.instanceType}|${b.market}`;
    const line = lines.get(key) ?? { instanceType: b.instanceType, market: b.market, seconds: 0 };
    line.seconds = Math.round((line.seconds + (now - from) / 1_000) * 1_000) / 1_000;
    lines.set(key, line);
  }
  return {
    since,
    to,
    lines: [...lines.values()].sort(
      (a, b) => a.instanceType.localeCompare(b.instanceType) || a.market.localeCompare(b.market),
    ),
  };
}

/** A pool's agent time priced: a line per instance type and market. */
export interface PoolCost {
  /** The priced lines' sum. */
  dollars: number;
  lines: Array<UsageLine & { dollars: number; priced: boolean }>;
  /** The price table the dollars come from. */
  prices: { region: string; takenOn: string; source: string };
}

/**
 * Prices a pool's agent time at list prices (spot as the table's fraction of on-demand). Local
 * processes and instance types the table lacks are unpriced lines of 0 dollars.
 */
export function priceFleetUsage(usage: PoolUsage, prices: PriceTable = AWS_LIST_PRICES): PoolCost {
  const lines = usage.lines.map((l) => {
    const hourly = ec2HourlyRate(l.instanceType, l.market, prices);
    const dollars = hourly === undefined ? 0 : (l.seconds / 3_600) * hourly;
    return { ...l, dollars: Math.round(dollars * 1e9) / 1e9, priced: hourly !== undefined };
  });
  const dollars = lines.reduce((n, l) => n + l.dollars, 0);
  return {
    dollars: Math.round(dollars * 1e9) / 1e9,
    lines,
    prices: { region: prices.region, takenOn: prices.takenOn, source: prices.source },
  };
}
