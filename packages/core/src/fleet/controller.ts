/**
 * The fleet controller: one pass (`tick`) reads each pool's backlog and agents, asks the pure
 * `decideFleet` what to do, launches and stops through a `FleetPort`, and reports. It keeps
 * the little state a decision needs between passes (when the pool last launched and last had
 * work, launch back-off), and rebuilds it from the agents when it starts fresh (a new Lambda
 * container): the last launch is the newest agent's launch, the last work the latest moment an
 * agent became idle.
 *
 * Never crashes, never spins: a launch that falls short backs off (doubling, with jitter, from
 * `retryBaseMs` to `retryMaxMs`) and says why; a failing read or stop is reported and the next
 * pass tries again. Agents that never come up hold the pool's launches back (failed-boots.ts):
 * a broken image does not keep the whole fleet billed while work waits.
 */
import { backoffDelayMs } from "../engine/backoff.ts";
import type { Clock } from "../ports/clock.ts";
import {
  type BootRecord,
  describeFailedBoots,
  type FailedBoots,
  failedBootsOf,
  launchesAllowed,
  noFailedBoots,
  PROBE_AGENTS,
  recordAgentsUp,
  recordFailedBoots,
} from "./failed-boots.ts";
import type { BacklogPort, FleetPort, LaunchError, Placement } from "./ports.ts";
import {
  type Backlog,
  decideFleet,
  type FleetAgent,
  type FleetDecision,
  type FleetPolicy,
} from "./scaler.ts";

/** What one pass did for one pool. */
export interface PoolPass {
  pool: string;
  backlog: Backlog;
  agents: number;
  decision: FleetDecision;
  launched: string[];
  stopped: string[];
  errors: LaunchError[];
  /** Set while launches are held back after a shortfall: when the next may happen. */
  retryAt?: number | undefined;
  /** The pass failed before deciding (a read failed): the error. */
  failed?: string | undefined;
  /** Set while agents that never came up limit the pool's launches (see failed-boots.ts). */
  failedBoots?: FailedBoots | undefined;
  /** When the pass read the pool (absent for a pass that failed before). */
  at?: number | undefined;
  /** The pool's agents by what they do, as the pass read them (absent for a failed pass). */
  agentStates?: AgentStates | undefined;
  /** The launched agents' instance types and markets, when the provider says. */
  placed?: Placement[] | undefined;
  /** The agents the provider bills, as the pass read them (absent for a failed pass). */
  billed?: BilledAgent[] | undefined;
}

/** An agent the provider bills, and since when. */
export interface BilledAgent {
  instanceType: string;
  market: string;
  since: number;
}

/** The agents a provider bills (those that say since when). */
export function billedAgentsOf(agents: readonly FleetAgent[]): BilledAgent[] {
  const billed: BilledAgent[] = [];
  for (const a of agents)
    if (a.billedSince !== undefined)
      billed.push({
        instanceType: a.instanceType ?? "unknown",
        market: a.market ?? "on-demand",
        since: a.billedSince,
      });
  return billed;
}

/** A pool's agents by what they do. */
export interface AgentStates {
  /** Started, not yet taking work. */
  launching: number;
  /** Running at least one task. */
  busy: number;
  /** Running, with no task. */
  idle: number;
  /** Draining or terminating. */
  draining: number;
}

/** Counts agents by what they do. */
export function agentStatesOf(agents: readonly FleetAgent[]): AgentStates {
  const states: AgentStates = { launching: 0, busy: 0, idle: 0, draining: 0 };
  for (const a of agents) {
    if (a.state === "launching") states.launching++;
    else if (a.state === "stopping") states.draining++;
    else if (a.busy > 0) states.busy++;
    else states.idle++;
  }
  return states;
}

export interface FleetControllerOptions {
  fleet: FleetPort;
  backlog: BacklogPort;
  /** The policy of each pool the controller drives. */
  policies: Record<string, FleetPolicy>;
  clock: Clock;
  /** [0, 1) draws for the back-off jitter. @default Math.random */
  random?: () => number;
  /** First wait after a launch fell short, ms. @default 15_000 */
  retryBaseMs?: number;
  /** Longest wait between launch attempts of a pool that cannot be filled, ms. @default 300_000 */
  retryMaxMs?: number;
  /** Told about every pass of every pool. */
  onPass?: (pass: PoolPass) => void;
}

interface PoolState {
  /** Agents launched lately, by id: counted as launching until the provider lists them. */
  launched: Map<string, number>;
  lastLaunchAt?: number | undefined;
  lastWorkAt?: number | undefined;
  shortfalls: number;
  retryAt?: number | undefined;
  boot: BootRecord;
  /** Agents already counted as never up (a failed stop must not count them twice). */
  countedNeverUp: Set<string>;
}

/** Drives the pools' fleets from their backlogs. */
export class FleetController {
  readonly #o: FleetControllerOptions;
  readonly #state = new Map<string, PoolState>();
  #wake = new AbortController();

  constructor(options: FleetControllerOptions) {
    this.#o = options;
    for (const pool of Object.keys(options.policies))
      this.#state.set(pool, {
        shortfalls: 0,
        launched: new Map(),
        boot: noFailedBoots(),
        countedNeverUp: new Set(),
      });
  }

  /**
   * Each pool's failed boots. A fresh controller (a new Lambda container, another one) knows
   * none, so the scaler carries them from one invocation to the next (in its lock item).
   */
  failedBoots(): Record<string, BootRecord> {
    return Object.fromEntries([...this.#state].map(([pool, s]) => [pool, { ...s.boot }]));
  }

  /** Takes over failed boots a previous controller recorded; pools it does not drive are ignored. */
  restoreFailedBoots(records: Record<string, BootRecord>): void {
    for (const [pool, record] of Object.entries(records)) {
      const state = this.#state.get(pool);
      if (state) state.boot = { ...record };
    }
  }

  /** Cuts the wait of a running `run` short: the next pass starts now (work just arrived). */
  wake(): void {
    this.#wake.abort();
  }

  /** One pass over every pool (in parallel). */
  tick(): Promise<PoolPass[]> {
    return Promise.all(Object.keys(this.#o.policies).map((pool) => this.#pass(pool)));
  }

  /**
   * Passes every `everyMs` until `signal` aborts or `deadline` (epoch ms) comes, or — with
   * `untilIdle` — a pass finds no work and no agent in any pool.
   */
  async run(options: { everyMs: number; signal?: AbortSignal; deadline?: number; untilIdle?: boolean }) {
    const passes: PoolPass[][] = [];
    const combine = () =>
      options.signal ? AbortSignal.any([options.signal, this.#wake.signal]) : this.#wake.signal;
    let either = combine();
    for (;;) {
      const pass = await this.tick();
      passes.push(pass);
      const idle = pass.every(
        (p) => p.failed === undefined && p.agents === 0 && p.backlog.queued + p.backlog.inFlight === 0,
      );
      if (options.untilIdle && idle) break;
      const next = this.#o.clock.now() + options.everyMs;
      if (options.deadline !== undefined && next >= options.deadline) break;
      if (options.signal?.aborted) break;
      try {
        await this.#o.clock.sleep(options.everyMs, either);
      } catch {
        if (options.signal?.aborted) break; // stopped; otherwise woken: pass now
      }
      if (this.#wake.signal.aborted) {
        this.#wake = new AbortController();
        either = combine();
      }
    }
    return passes;
  }

  async #pass(pool: string): Promise<PoolPass> {
    const policy = this.#o.policies[pool]!;
    const state = this.#state.get(pool)!;
    let backlog: Backlog;
    let agents: FleetAgent[];
    try {
      [backlog, agents] = await Promise.all([this.#o.backlog.backlog(pool), this.#o.fleet.list(pool)]);
    } catch (error) {
      const pass = failedPass(pool, `reading the pool failed: ${(error as Error).message}`);
      this.#o.onPass?.(pass);
      return pass;
    }
    const now = this.#o.clock.now();
    // Instances launched lately that the provider does not list yet (its reads lag its writes).
    const listed = new Set(agents.map((a) => a.id));
    agents = [...agents]; // the port's list is not ours to change
    for (const [id, at] of state.launched) {
      if (listed.has(id) || now - at > LISTING_LAG_MS) state.launched.delete(id);
      else agents.push({ id, state: "launching", launchedAt: at, busy: 0 });
    }
    // Tickets of running tasks may already be settled: the agents' own counts are a floor.
    const busy = agents.reduce((n, a) => n + a.busy, 0);
    if (busy > backlog.inFlight) backlog = { ...backlog, inFlight: busy };
    if (backlog.queued + backlog.inFlight > 0 || agents.some((a) => a.busy > 0)) state.lastWorkAt = now;
    const lastWorkAt = backlog.lastWorkAt ?? state.lastWorkAt ?? latest(agents.map((a) => a.idleSince));
    const lastLaunchAt = state.lastLaunchAt ?? latest(agents.map((a) => a.launchedAt));
    // Tasks per agent: what the running agents say they run (the instance type the attributes
    // picked decides it), else the policy's.
    const slots = agents.map((a) => a.slots).filter((n): n is number => n !== undefined && n > 0);
    const concurrency =
      slots.length > 0
        ? Math.max(1, Math.round(slots.reduce((a, b) => a + b, 0) / slots.length))
        : policy.concurrency;
    let decision = decideFleet(
      { ...policy, concurrency },
      { ...backlog, lastWorkAt },
      agents,
      now,
      lastLaunchAt,
    );
    const launching = this.#watchBoots(state, policy, agents, listed, decision, now);
    const allowed = launchesAllowed(state.boot, policy, decision.launch, launching, now);
    if (allowed < decision.launch) {
      const why =
        allowed === 0 ? "launches held: agents never came up" : `probing with ${PROBE_AGENTS} agent`;
      decision = { ...decision, launch: allowed, reason: `${decision.reason}; ${why}` };
    }

    const pass: PoolPass = {
      pool,
      backlog,
      agents: agents.length,
      decision,
      launched: [],
      stopped: [],
      errors: [],
      at: now,
      agentStates: agentStatesOf(agents),
      billed: billedAgentsOf(agents),
    };
    if (decision.launch > 0 && (state.retryAt === undefined || now >= state.retryAt)) {
      try {
        const report = await this.#o.fleet.launch(pool, decision.launch);
        pass.launched = report.launched;
        pass.errors = report.errors;
        pass.placed = report.placed;
      } catch (error) {
        pass.errors = [{ code: "LaunchFailed", message: (error as Error).message, retryable: true }];
      }
      if (pass.launched.length > 0) state.lastLaunchAt = now;
      for (const id of pass.launched) state.launched.set(id, now);
      if (pass.launched.length < decision.launch) {
        state.shortfalls++;
        const ceiling = Math.min(
          this.#o.retryMaxMs ?? 300_000,
          (this.#o.retryBaseMs ?? 15_000) * 2 ** (state.shortfalls - 1),
        );
        // Equal jitter: at least half the ceiling, so a failing pool is never hammered.
        const random = (this.#o.random ?? Math.random)();
        state.retryAt = now + ceiling / 2 + backoffDelayMs(1, ceiling / 2, ceiling / 2, random);
      } else {
        state.shortfalls = 0;
        state.retryAt = undefined;
      }
    }
    pass.retryAt = state.retryAt;
    pass.failedBoots = failedBootsOf(state.boot, policy, now);
    if (decision.stop.length > 0) {
      try {
        await this.#o.fleet.stop(pool, decision.stop);
        pass.stopped = decision.stop;
      } catch (error) {
        pass.failed = `stopping ${decision.stop.join(", ")} failed: ${(error as Error).message}`;
      }
    }
    this.#o.onPass?.(pass);
    return pass;
  }

  /**
   * Records the pool's agents that came up or never did (the latter once each, when they are
   * first decided stopped). Returns how many agents are launching and not given up on.
   */
  #watchBoots(
    state: PoolState,
    policy: FleetPolicy,
    agents: readonly FleetAgent[],
    listed: ReadonlySet<string>,
    decision: FleetDecision,
    now: number,
  ): number {
    for (const id of state.countedNeverUp) if (!listed.has(id)) state.countedNeverUp.delete(id);
    const neverUp = new Set(decision.neverCameUp);
    const failed = agents.filter((a) => neverUp.has(a.id) && !state.countedNeverUp.has(a.id));
    for (const a of failed) state.countedNeverUp.add(a.id);
    state.boot = recordFailedBoots(
      recordAgentsUp(state.boot, agents),
      failed.map((a) => a.launchedAt),
      now,
      policy,
    );
    return agents.filter((a) => a.state === "launching" && !neverUp.has(a.id)).length;
  }
}

/** How long a launched agent is assumed to exist before the provider lists it. */
const LISTING_LAG_MS = 120_000;

function latest(times: Array<number | undefined>): number | undefined {
  let out: number | undefined;
  for (const t of times) if (t !== undefined && (out === undefined || t > out)) out = t;
  return out;
}

function failedPass(pool: string, failed: string): PoolPass {
  return {
    pool,
    backlog: { queued: 0, inFlight: 0, oldestAgeMs: 0 },
    agents: 0,
    decision: { launch: 0, stop: [], target: 0, neverCameUp: [], reason: "pass failed" },
    launched: [],
    stopped: [],
    errors: [],
    failed,
  };
}

/** One line for a log or a terminal: what a pass decided and did. */
export function describePass(p: PoolPass): string {
  if (p.failed && p.decision.reason === "pass failed") return `${p.pool}: ${p.failed}`;
  const parts = [
    `${p.pool}: ${p.backlog.queued} queued, ${p.backlog.inFlight} running, ${p.agents} agent(s), target ${p.decision.target}`,
  ];
  if (p.launched.length > 0) parts.push(`launched ${p.launched.length}`);
  if (p.stopped.length > 0) parts.push(`stopping ${p.stopped.length}`);
  if (p.errors.length > 0) {
    const codes = [...new Set(p.errors.map((e) => e.code))].join(", ");
    parts.push(`short by ${p.decision.launch - p.launched.length} (${codes})`);
  }
  if (p.retryAt !== undefined) parts.push(`next launch attempt at ${new Date(p.retryAt).toISOString()}`);
  if (p.failedBoots) parts.push(describeFailedBoots(p.failedBoots));
  if (p.failed) parts.push(p.failed);
  return parts.join("; ");
}
