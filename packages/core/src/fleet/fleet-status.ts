/**
 * What the fleet looks like, for status views: each pool's queues, agents, recent launches and
 * shortfalls, from the passes of the fleet controller (which reads all of it anyway). Kept in
 * memory beside the controller (the local grid's API reads it there; a deployed scaler leaves it
 * in its lock item for the API) and bounded: the last RECENT_ENTRIES launches and shortfalls of
 * each pool within RECENT_MS.
 */
import type { Priority } from "../model/status.ts";
import type { AgentStates, PoolPass } from "./controller.ts";

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
  /** Instance types, when the provider says (EC2); absent for local processes. */
  instanceTypes?: string[] | undefined;
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
    this.#pools.set(pass.pool, {
      pool: pass.pool,
      at: now,
      // A failed pass read nothing: the last known counts stand.
      queued: q ? { ...q } : (previous?.queued ?? { high: 0, normal: pass.backlog.queued, low: 0 }),
      agents: pass.agentStates ?? previous?.agents ?? { launching: 0, busy: 0, idle: 0, draining: 0 },
      recentLaunches: keep(
        pass.launched.length > 0 ? [{ at: now, count: pass.launched.length }, ...launches] : launches,
      ),
      shortfalls: keep([...newShortfalls, ...shortfalls]),
    });
  }

  /**
   * Takes up what an earlier board saw (a scaler's memory, carried from container to container),
   * for pools this board has not seen yet.
   */
  restore(pools: readonly PoolStatus[]): void {
    for (const p of pools) if (!this.#pools.has(p.pool)) this.#pools.set(p.pool, structuredClone(p));
  }

  /** Every pool seen, by name. */
  pools(): PoolStatus[] {
    return [...this.#pools.values()]
      .sort((a, b) => (a.pool < b.pool ? -1 : 1))
      .map((p) => structuredClone(p));
  }
}
