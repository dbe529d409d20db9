/**
 * The fleet scaler's decision, pure: from a pool's backlog and its current agents, how many
 * agents to launch and which idle ones to stop. No I/O and no clock: the caller passes `now`.
 *
 * Rules:
 * - Capacity starts as soon as there is a backlog (agents at once, even before durations are
 *   known) and grows in batches no sooner than `stepIntervalMs` apart: each batch is at most
 *   `step` agents or `growth` × the agents live, whichever is more (by default the fleet at
 *   most doubles per step). Small batches early rather than one large jump late, yet a burst
 *   of 10k tasks reaches a 100-agent pool in about 7 steps, not 50.
 * - The target is the agents that the work in sight needs (tasks queued and running over the
 *   concurrency of one agent), never above `maxAgents`; agents still draining count against
 *   the maximum until they are gone. Tasks far shorter than an agent's boot
 *   do not justify a new agent while running agents can clear them sooner.
 * - Only idle agents are stopped, and only when the pool has more than it needs. An idle agent
 *   is kept while the time it is billed for anyway has not run out: per-second billing has a
 *   60 s minimum, an hourly-billed instance or licence is paid to the end of its hour. It is
 *   stopped `stopLeadMs` before that end (its drain fits in the lead), and at the latest once
 *   the pool has had no work for `idleMs` and the paid time is over. Only `warmAgents` idle
 *   agents are kept for the whole idle period; the rest go once idle for a growth step (at the
 *   tail of a session, a fleet of 100 does not idle for two minutes waiting for work).
 * - A stopped agent drains (SIGTERM): nothing is lost and no task waits for a lease to expire.
 */

/** A pool's scaling settings. */

import type { Priority } from "../model/status.ts";
export interface FleetPolicy {
  /** Most agents at once. */
  maxAgents: number;
  /** Tasks one agent runs at once. */
  concurrency: number;
  /** Most agents launched in one decision, at least. @default 2 */
  step: number;
  /** A decision may also launch up to this fraction of the agents live (1: double). @default 1 */
  growth: number;
  /** Least time between two launch decisions, ms. @default 20_000 */
  stepIntervalMs: number;
  /** The pool goes to zero after this long without work, ms. @default 120_000 */
  idleMs: number;
  /** Idle agents kept (above the work's need) for new work during the idle period. @default 2 */
  warmAgents: number;
  /** Billing: the minimum billed time from launch, ms. @default 60_000 (EC2 per second) */
  minimumBilledMs: number;
  /** Billing: the increment after the minimum, ms. @default 1_000 (per second); 3_600_000 hourly */
  billingIncrementMs: number;
  /** Stop an idle agent this long before its paid time runs out, ms. @default 0 */
  stopLeadMs: number;
  /** Typical time from launch to an agent taking work, ms. @default 90_000 */
  bootMs: number;
  /** An agent still not taking work this long after launch is broken and stopped, ms. @default 900_000 */
  launchTimeoutMs: number;
  /**
   * An agent still there this long after it began to drain (its process stopped, its instance
   * did not) is stopped by the scaler, ms. Longer than any drain's grace. @default 900_000
   */
  drainTimeoutMs: number;
  /** Agents in a row that never came up (failed boots) before launches are held. @default 2 */
  bootFailureLimit: number;
  /** First hold of a pool's launches after failed boots, ms; each hold in a row doubles it. @default 900_000 */
  bootHoldMs: number;
  /** Longest hold after failed boots, ms (see failed-boots.ts for the choice). @default 3_600_000 */
  bootHoldMaxMs: number;
}

export const DEFAULT_FLEET_POLICY: Omit<FleetPolicy, "maxAgents" | "concurrency"> = {
  step: 2,
  growth: 1,
  stepIntervalMs: 20_000,
  idleMs: 120_000,
  warmAgents: 2,
  minimumBilledMs: 60_000,
  billingIncrementMs: 1_000,
  stopLeadMs: 0,
  bootMs: 90_000,
  launchTimeoutMs: 900_000,
  drainTimeoutMs: 900_000,
  bootFailureLimit: 2,
  bootHoldMs: 900_000,
  bootHoldMaxMs: 3_600_000,
};

/** What the queue and the task records say about a pool's work. */
export interface Backlog {
  /** Tasks waiting to be claimed. */
  queued: number;
  /** Tasks running now. */
  inFlight: number;
  /** Age of the oldest waiting ticket, ms (0 when none). */
  oldestAgeMs: number;
  /** Mean duration of recently finished tasks, ms; undefined when none finished yet. */
  meanTaskMs?: number | undefined;
  /** When the pool last had work (queued or running); undefined if never. */
  lastWorkAt?: number | undefined;
  /** Waiting tickets per priority class, when the port reads them apart (for status views). */
  queuedByPriority?: Record<Priority, number> | undefined;
}

/** One agent of the pool as the fleet adapter sees it. */
export interface FleetAgent {
  id: string;
  /** launching: started, not yet taking work; running; stopping: draining or terminating. */
  state: "launching" | "running" | "stopping";
  launchedAt: number;
  /** Tasks it runs now (0 when idle). */
  busy: number;
  /** When it last became idle; undefined while busy or never busy. */
  idleSince?: number | undefined;
  /** Tasks it runs at once, when it says (the instance picked by attributes sets it). */
  slots?: number | undefined;
  /** When it began to drain, when it says (a stopping agent). */
  drainingSince?: number | undefined;
  /** Its instance type, when the provider says (EC2); local processes have none. */
  instanceType?: string | undefined;
  /** What it is billed as: an EC2 market, or `local` for a process on this machine. */
  market?: "spot" | "on-demand" | "local" | undefined;
  /**
   * Since when the provider bills it (EC2: from its launch, once it is past pending); absent
   * while it is not billed. The fleet's status adds up this time per pool (fleet-status.ts).
   */
  billedSince?: number | undefined;
}

/** The decision for one pool. */
export interface FleetDecision {
  /** Agents to launch now. */
  launch: number;
  /** Idle agents to drain and stop now. */
  stop: string[];
  /** The agents the work in sight needs (capped at maxAgents). */
  target: number;
  /** Of `stop`: the agents that never came up within `launchTimeoutMs` (failed boots). */
  neverCameUp: string[];
  /** Why, for logs and the dashboard. */
  reason: string;
}

/** Paid time an agent may leave unused when stopped (per-second billing rounds up to it). */
const PAID_SLACK_MS = 1_000;

/** The end of the time an agent launched at `launchedAt` has been billed for, as of `now`. */
export function paidUntil(policy: FleetPolicy, launchedAt: number, now: number): number {
  const minimumEnd = launchedAt + policy.minimumBilledMs;
  if (now <= minimumEnd) return minimumEnd;
  const increments = Math.ceil((now - minimumEnd) / policy.billingIncrementMs);
  return minimumEnd + increments * policy.billingIncrementMs;
}

/** The agents the work in sight needs. */
export function targetAgents(policy: FleetPolicy, backlog: Backlog, live: number): number {
  const work = backlog.queued + backlog.inFlight;
  if (work === 0) return 0;
  let target = Math.ceil(work / policy.concurrency);
  // Short tasks: if the agents already up clear the queue before a new one could boot, a new
  // one only adds cost. (Unknown durations count as long: start capacity.)
  if (backlog.meanTaskMs !== undefined && live > 0) {
    const clearMs = (backlog.queued * backlog.meanTaskMs) / (live * policy.concurrency);
    if (clearMs <= policy.bootMs) target = Math.min(target, live);
  }
  return Math.min(policy.maxAgents, Math.max(1, target));
}

/**
 * Decides launches and stops for one pool. `lastLaunchAt` is when the previous decision
 * launched agents (undefined if never).
 */
export function decideFleet(
  policy: FleetPolicy,
  backlog: Backlog,
  agents: readonly FleetAgent[],
  now: number,
  lastLaunchAt?: number,
): FleetDecision {
  // An agent that never came up (a bad image, a setup that failed) is stopped, not waited on.
  const neverCameUp = agents.filter(
    (a) => a.state === "launching" && now - a.launchedAt >= policy.launchTimeoutMs,
  );
  const stuck = [
    ...neverCameUp,
    ...agents.filter(
      (a) =>
        a.state === "stopping" &&
        a.drainingSince !== undefined &&
        now - a.drainingSince >= policy.drainTimeoutMs,
    ),
  ];
  const live = agents.filter((a) => a.state !== "stopping" && !stuck.includes(a));
  const target = targetAgents(policy, backlog, live.length);
  let launch = 0;
  let reason = "steady";
  if (target > live.length) {
    const first = live.length === 0;
    // Even with no agent in sight, launches just made wait for the interval: the provider may
    // not list new instances at once, and launching again would double them.
    const waited = lastLaunchAt === undefined || now - lastLaunchAt >= policy.stepIntervalMs;
    if (waited) {
      const batch = Math.max(policy.step, Math.floor(live.length * policy.growth));
      // Draining agents count against the maximum until they are gone (a quota, a budget).
      launch = Math.max(0, Math.min(batch, target - live.length, policy.maxAgents - agents.length));
      reason = first ? "backlog with no agent" : `growing toward ${target}`;
    } else {
      reason = `growing toward ${target}, next step in ${policy.stepIntervalMs - (now - lastLaunchAt)} ms`;
    }
  }

  const stop: string[] = stuck.map((a) => a.id);
  const surplus = live.length - target;
  if (surplus > 0) {
    const poolIdle =
      backlog.queued === 0 &&
      backlog.inFlight === 0 &&
      (backlog.lastWorkAt === undefined || now - backlog.lastWorkAt >= policy.idleMs);
    // Idle agents whose paid time ends soonest go first.
    const candidates = live
      .filter((a) => a.state === "running" && a.busy === 0)
      .map((a) => ({ agent: a, paidEnd: paidUntil(policy, a.launchedAt, now) }))
      .sort((x, y) => x.paidEnd - y.paidEnd || x.agent.launchedAt - y.agent.launchedAt);
    // Billed in blocks longer than the idle period (hourly): keeping an idle agent into its
    // next block costs a whole block, so it stops at the end of the current one.
    const coarse = policy.billingIncrementMs > policy.idleMs;
    const stopped = stop.length;
    for (const { agent, paidEnd } of candidates) {
      if (stop.length - stopped >= surplus) break;
      // Stopping now wastes at most a second (plus the lead) of time already paid for.
      const paidOut = paidEnd - now <= policy.stopLeadMs + PAID_SLACK_MS;
      const idleFor = now - (agent.idleSince ?? agent.launchedAt);
      // Beyond the few kept warm for new work, an agent idle for a whole growth step goes once
      // paid out: a session's tail does not keep the whole fleet for the idle period.
      const beyondWarm =
        live.length - (stop.length - stopped) > target + policy.warmAgents &&
        idleFor >= policy.stepIntervalMs;
      if (paidOut && (poolIdle || coarse || beyondWarm || idleFor >= policy.idleMs)) stop.push(agent.id);
    }
    if (stop.length > stopped && launch === 0)
      reason = `stopping ${stop.length - stopped} idle (${surplus} more than needed)`;
  }
  if (stuck.length > 0) reason = `${reason}; stopping ${stuck.length} that never came up or never went away`;
  return { launch, stop, target, reason, neverCameUp: neverCameUp.map((a) => a.id) };
}
