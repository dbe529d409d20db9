/**
 * The fleet's ports: what the scaler reads (a pool's backlog, its agents) and what it does
 * (launch, drain and stop). EC2, the local grid's agent processes and the simulation's fake
 * cloud each implement them; the controller in `controller.ts` drives any of them.
 */
import type { Backlog, FleetAgent } from "./scaler.ts";

/** Why a launch fell short. */
export interface LaunchError {
  /** The provider's code, e.g. `InsufficientInstanceCapacity`, `RequestLimitExceeded`. */
  code: string;
  message: string;
  /** Worth retrying later (capacity, throttling, a transient fault); false for a setup fault. */
  retryable: boolean;
  market?: "spot" | "on-demand" | undefined;
  zone?: string | undefined;
  instanceType?: string | undefined;
}

/** One agent a launch started: where its capacity came from. */
export interface Placement {
  id: string;
  instanceType: string;
  market: "spot" | "on-demand";
  zone: string;
}

/** What one launch did. */
export interface LaunchReport {
  /** Ids of the agents started (fewer than asked when capacity ran short). */
  launched: string[];
  errors: LaunchError[];
  /** The launched agents' instance types and markets, when the provider says (EC2). */
  placed?: Placement[] | undefined;
}

/** A pool's agents, as the provider runs them. */
export interface FleetPort {
  /** The pool's agents that are launching, running or stopping (not the terminated). */
  list(pool: string): Promise<FleetAgent[]>;
  /** Starts up to `count` agents; never throws for capacity, it reports. */
  launch(pool: string, count: number): Promise<LaunchReport>;
  /** Drains (SIGTERM: no task lost, leases released) and then stops these agents. */
  stop(pool: string, ids: readonly string[]): Promise<void>;
}

/** A pool's work, from its queues (and the finished tasks' durations when known). */
export interface BacklogPort {
  backlog(pool: string): Promise<Backlog>;
}

/** The lock as a holder got it. */
export interface ScalerLockGrant {
  /** What the previous holder left for the next (undefined if none): see `release`. */
  memory: unknown;
}

/**
 * Keeps one fleet scaler running at a time: two at once would both launch for the same
 * backlog. A holder that dies keeps it only until its `until`, then the next takes it over.
 * The lock also carries the scaler's memory from one holder to the next (another container).
 */
export interface ScalerLock {
  /** Takes the lock for `owner` until `until` (epoch ms) if free or expired; undefined if held. */
  acquire(owner: string, until: number): Promise<ScalerLockGrant | undefined>;
  /** Gives it back, leaving `memory` for the next holder; does nothing unless `owner` holds it. */
  release(owner: string, memory?: unknown): Promise<void>;
}
