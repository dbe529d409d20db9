/**
 * The fleet simulation: a fake EC2 (capacity pools of market × zone × instance type that run
 * out, slow launches, boot time, spot interruptions with their two-minute notice, throttled
 * requests), agents that run tasks with a fixed concurrency, and a seeded workload of sessions
 * arriving over time. The real `FleetController`, `decideFleet` and `CapacityLauncher` drive it
 * in virtual time, so a run of hours takes well under a second and is the same for a seed.
 *
 * Used by the simulation test (properties over seeds) and by `npm run bench:fleet` (figures).
 */
import {
  type CapacityApi,
  CapacityLauncher,
  type CapacityRequest,
  type CapacityResponse,
} from "../fleet/capacity.ts";
import { FleetController, type PoolPass } from "../fleet/controller.ts";
import { FleetStatusBoard, priceFleetUsage } from "../fleet/fleet-status.ts";
import type { BacklogPort, FleetPort, LaunchReport } from "../fleet/ports.ts";
import { type Backlog, DEFAULT_FLEET_POLICY, type FleetAgent, type FleetPolicy } from "../fleet/scaler.ts";
import { AWS_LIST_PRICES, type PriceTable } from "../metering/prices.ts";
import type { Clock } from "../ports/clock.ts";
import { seededRandom } from "./random.ts";

/** An instance type of the fake cloud. */
export interface SimInstanceType {
  name: string;
  /** On-demand $/hour; spot costs `spotDiscount` of it. */
  onDemandHourly: number;
}

/** A session of the workload. */
export interface SimSession {
  /** Arrival, ms from the start. */
  at: number;
  tasks: number;
  /** Task durations are drawn uniformly from [minMs, maxMs]. */
  minMs: number;
  maxMs: number;
}

export interface FleetSimOptions {
  seed: number;
  sessions: SimSession[];
  policy: FleetPolicy;
  zones: string[];
  instanceTypes: SimInstanceType[];
  /** Instances each capacity pool (`market|zone|type`) can give; `default` for unlisted ones. */
  capacity: { default: { spot: number; "on-demand": number }; pools?: Record<string, number> };
  spot: boolean;
  /** Spot price as a fraction of on-demand. @default 0.35 */
  spotDiscount?: number;
  /** Chance per hour that a running spot instance is interrupted. @default 0 */
  spotInterruptionsPerHour?: number;
  /** Request to running: uniform in [min, max] ms, and `slowFraction` of launches take `slowMs`. */
  launch: { minMs: number; maxMs: number; slowFraction: number; slowMs: number };
  /** Running to taking work (user data, install), ms. Billed. */
  bootMs: number;
  /** Fraction of provider requests throttled (RequestLimitExceeded). @default 0 */
  throttleRate?: number;
  /** Scaler pass interval, ms. @default 10_000 */
  tickMs?: number;
  /** Simulation resolution, ms. @default 250 */
  stepMs?: number;
  /** Give up after this much virtual time, ms. @default 6 h */
  maxMs?: number;
  /** First cooling period of a failed capacity pool, ms. @default 60_000 */
  coolMs?: number;
  /** A session's arrival wakes the scaler (false: it waits for its next pass). @default true */
  wakeOnSubmit?: boolean;
}

/** One provider request as the fake cloud saw it. */
export interface SimRequest {
  at: number;
  market: "spot" | "on-demand";
  /** Capacity pools (`zone|type`) the request allowed. */
  allowed: string[];
  throttled: boolean;
  /** Capacity pools (`zone|type`) that failed. */
  failed: string[];
  launched: number;
}

/** What a run did. */
export interface FleetSimResult {
  tasks: number;
  /** Tasks that finished, and how many finished more than once (must be 0). */
  completed: number;
  completedTwice: number;
  /** The run ended with every task done and no instance left. */
  drained: boolean;
  simSeconds: number;
  secondsToFirstLaunch: number;
  secondsToFirstAgent: number;
  peakAgents: number;
  /** Billed instance-seconds (per second, 60 s minimum, from running to terminated). */
  agentSeconds: number;
  /** Sum of task durations ÷ tasks per agent. */
  idealAgentSeconds: number;
  agentSecondsRatio: number;
  /** Agent-seconds ready but running no task. */
  idleAgentSeconds: number;
  /** Longest stretch any agent stayed ready with nothing to run, s. */
  maxIdleSeconds: number;
  /** Billed agent-seconds spent booting. */
  bootAgentSeconds: number;
  /** From the last task finishing to the last instance terminated, s. */
  secondsToZero: number;
  /** From each session's arrival to its last task, s. */
  sessionSeconds: number[];
  instances: number;
  spotInstances: number;
  interruptions: number;
  tasksReleased: number;
  capacityErrors: number;
  throttledRequests: number;
  requests: SimRequest[];
  /** Capacity pools (`market|zone|type`) instances came from. */
  poolsUsed: string[];
  fleetDollars: number;
  /**
   * What the fleet status (fleet-status.ts, the dashboard's fleet page) counted from the
   * controller's passes: agent-seconds and dollars, priced with the fake cloud's prices.
   */
  statusAgentSeconds: number;
  statusDollars: number;
  /** Cooling periods violated: a request allowed a pool that had failed within `coolMs`. */
  retriedTooSoon: number;
  /** Passes in which the pool stayed short with errors (reported, not crashed). */
  shortPasses: number;
  passes: number;
}

interface SimTask {
  id: number;
  session: number;
  durationMs: number;
}

interface SimInstance {
  id: string;
  market: "spot" | "on-demand";
  zone: string;
  type: SimInstanceType;
  requestedAt: number;
  runningAt: number;
  readyAt: number;
  state: "pending" | "booting" | "ready" | "draining" | "terminated";
  terminateAt?: number;
  releaseAt?: number;
  terminatedAt?: number;
  slots: Array<{ task: SimTask; startAt: number; endAt: number }>;
  idleSince?: number;
}

const POOL = "default";

/** The fake cloud: EC2's capacity pools, launch and boot times, spot interruptions. */
class SimCloud implements CapacityApi {
  readonly instances: SimInstance[] = [];
  readonly requests: SimRequest[] = [];
  readonly used = new Map<string, number>();
  #seq = 0;
  readonly o: FleetSimOptions;
  readonly clock: { now: () => number };
  readonly random: () => number;
  constructor(o: FleetSimOptions, clock: { now: () => number }, random: () => number) {
    this.o = o;
    this.clock = clock;
    this.random = random;
  }

  #capacity(market: string, zone: string, type: string): number {
    return this.o.capacity.pools?.[`${market}|${zone}|${type}`] ?? this.o.capacity.default[market as "spot"];
  }

  #price(market: string, type: SimInstanceType): number {
    return market === "spot" ? type.onDemandHourly * (this.o.spotDiscount ?? 0.35) : type.onDemandHourly;
  }

  async request(r: CapacityRequest): Promise<CapacityResponse> {
    const now = this.clock.now();
    const allowed: string[] = [];
    for (const zone of r.zones)
      for (const t of this.o.instanceTypes)
        if (!r.excludedTypes[zone]?.includes(t.name)) allowed.push(`${zone}|${t.name}`);
    const log: SimRequest = { at: now, market: r.market, allowed, throttled: false, failed: [], launched: 0 };
    this.requests.push(log);
    if (this.random() < (this.o.throttleRate ?? 0)) {
      log.throttled = true;
      throw Object.assign(new Error("Request limit exceeded."), { name: "RequestLimitExceeded" });
    }
    // Lowest price first (price-capacity-optimized, simplified): fill from each pool until it runs out.
    const pools = allowed
      .map((p) => {
        const [zone, name] = p.split("|") as [string, string];
        const type = this.o.instanceTypes.find((t) => t.name === name)!;
        return { zone, type, price: this.#price(r.market, type) };
      })
      .sort((a, b) => a.price - b.price || a.zone.localeCompare(b.zone));
    const response: CapacityResponse = { instances: [], errors: [] };
    let remaining = r.count;
    for (const p of pools) {
      if (remaining === 0) break;
      const key = `${r.market}|${p.zone}|${p.type.name}`;
      const free = this.#capacity(r.market, p.zone, p.type.name) - (this.used.get(key) ?? 0);
      if (free <= 0) {
        log.failed.push(`${p.zone}|${p.type.name}`);
        response.errors.push({
          code: "InsufficientInstanceCapacity",
          message: `There is no ${r.market} capacity for ${p.type.name} in ${p.zone}.`,
          zone: p.zone,
          instanceType: p.type.name,
        });
        continue;
      }
      const n = Math.min(free, remaining);
      this.used.set(key, (this.used.get(key) ?? 0) + n);
      remaining -= n;
      for (let i = 0; i < n; i++) {
        const l = this.o.launch;
        const pending =
          this.random() < l.slowFraction ? l.slowMs : l.minMs + this.random() * (l.maxMs - l.minMs);
        const instance: SimInstance = {
          id: `i-${(++this.#seq).toString(16).padStart(8, "0")}`,
          market: r.market,
          zone: p.zone,
          type: p.type,
          requestedAt: now,
          runningAt: now + pending,
          readyAt: now + pending + this.o.bootMs,
          state: "pending",
          slots: [],
        };
        this.instances.push(instance);
        response.instances.push({ id: instance.id, zone: p.zone, instanceType: p.type.name });
      }
    }
    log.launched = response.instances.length;
    return response;
  }

  terminate(i: SimInstance, at: number): void {
    i.state = "terminated";
    i.terminatedAt = at;
    const key = `${i.market}|${i.zone}|${i.type.name}`;
    this.used.set(key, (this.used.get(key) ?? 1) - 1);
  }

  price(i: SimInstance): number {
    return this.#price(i.market, i.type);
  }
}

/** Runs one simulation. */
export async function simulateFleet(options: FleetSimOptions): Promise<FleetSimResult> {
  const o = options;
  const random = seededRandom(o.seed);
  let now = 0;
  const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };
  const cloud = new SimCloud(o, clock, seededRandom(o.seed * 7919 + 1));
  const stepMs = o.stepMs ?? 250;
  const tickMs = o.tickMs ?? 10_000;
  const maxMs = o.maxMs ?? 6 * 3_600_000;
  const concurrency = o.policy.concurrency;

  // The workload.
  const arrivals = o.sessions
    .map((s, session) => {
      const tasks: SimTask[] = [];
      for (let k = 0; k < s.tasks; k++)
        tasks.push({ id: 0, session, durationMs: Math.round(s.minMs + random() * (s.maxMs - s.minMs)) });
      return { at: s.at, session, tasks };
    })
    .sort((a, b) => a.at - b.at);
  let nextId = 0;
  for (const a of arrivals) for (const t of a.tasks) t.id = nextId++;
  const total = nextId;
  const done = new Uint8Array(total);
  const queue: SimTask[] = [];
  let head = 0;
  const retries: SimTask[] = [];
  const queued = () => queue.length - head + retries.length;
  const take = (): SimTask | undefined => retries.pop() ?? (head < queue.length ? queue[head++] : undefined);
  let completed = 0;
  let completedTwice = 0;
  let lastCompletionAt = 0;
  const sessionEnd = o.sessions.map(() => 0);
  const sessionLeft = o.sessions.map((s) => s.tasks);
  let recentSum = 0;
  let recentCount = 0;
  let released = 0;
  let interruptions = 0;
  let idleMs = 0;
  let maxIdle = 0;
  let peak = 0;

  const live = () => cloud.instances.filter((i) => i.state !== "terminated");
  const becomeBusy = (i: SimInstance, at: number) => {
    if (i.idleSince === undefined) return;
    const stretch = at - i.idleSince;
    idleMs += stretch;
    maxIdle = Math.max(maxIdle, stretch);
    i.idleSince = undefined;
  };
  const endIdle = (i: SimInstance, at: number) => becomeBusy(i, at);

  const fleet: FleetPort = {
    list: async () =>
      live().map(
        (i): FleetAgent => ({
          id: i.id,
          state: i.state === "ready" ? "running" : i.state === "draining" ? "stopping" : "launching",
          launchedAt: i.state === "pending" ? i.requestedAt : i.runningAt,
          busy: i.slots.length,
          idleSince: i.idleSince,
          instanceType: i.type.name,
          market: i.market,
          billedSince: i.state === "pending" ? undefined : i.runningAt,
        }),
      ),
    launch: (_pool, count): Promise<LaunchReport> => launcher.launch(count),
    stop: async (_pool, ids) => {
      for (const id of ids) {
        const i = cloud.instances.find((x) => x.id === id);
        if (!i || i.state === "terminated" || i.state === "draining") continue;
        // SIGTERM: an idle agent has nothing to drain; shutdown takes a few seconds.
        endIdle(i, now);
        i.state = "draining";
        i.releaseAt = now;
        i.terminateAt = now + 5_000;
      }
    },
  };
  const backlog: BacklogPort = {
    backlog: async (): Promise<Backlog> => ({
      queued: queued(),
      inFlight: live().reduce((n, i) => n + i.slots.length, 0),
      oldestAgeMs: 0,
      meanTaskMs: recentCount > 0 ? recentSum / recentCount : undefined,
    }),
  };
  const launcher = new CapacityLauncher({
    api: cloud,
    zones: o.zones,
    spot: o.spot,
    now: () => now,
    coolMs: o.coolMs ?? 60_000,
  });
  let shortPasses = 0;
  let passes = 0;
  const board = new FleetStatusBoard();
  const controller = new FleetController({
    fleet,
    backlog,
    policies: { [POOL]: o.policy },
    clock,
    random: seededRandom(o.seed + 17),
    onPass: (p: PoolPass) => {
      board.record(p);
      passes++;
      if (p.errors.length > 0 && p.launched.length < p.decision.launch) shortPasses++;
    },
  });

  let ai = 0;
  // The scaler's passes are not in step with arrivals: a seeded phase.
  let nextTick = Math.floor(random() * tickMs);
  let endedAt: number | undefined;
  const startReady = (i: SimInstance, at: number) => {
    while (i.slots.length < concurrency && i.state === "ready") {
      const task = take();
      if (!task) break;
      becomeBusy(i, at);
      i.slots.push({ task, startAt: at, endAt: at + task.durationMs });
    }
    if (i.slots.length === 0 && i.idleSince === undefined && i.state === "ready") i.idleSince = at;
  };
  for (; now <= maxMs; now += stepMs) {
    while (ai < arrivals.length && arrivals[ai]!.at <= now) {
      for (const t of arrivals[ai]!.tasks) queue.push(t);
      ai++;
      // A submit to an agent pool wakes the scaler (as the API does on AWS).
      if (o.wakeOnSubmit ?? true) nextTick = now;
    }
    for (const i of cloud.instances) {
      if (i.state === "terminated") continue;
      if (i.state === "pending" && i.runningAt <= now) i.state = "booting";
      if (i.state === "booting" && i.readyAt <= now) {
        i.state = "ready";
        i.idleSince = i.readyAt;
      }
      // Spot: the two-minute notice; the agent drains, releasing what cannot finish in time.
      if (
        i.market === "spot" &&
        (i.state === "booting" || i.state === "ready") &&
        random() < ((o.spotInterruptionsPerHour ?? 0) * stepMs) / 3_600_000
      ) {
        interruptions++;
        if (i.state === "ready") endIdle(i, now);
        i.state = "draining";
        i.releaseAt = now + 100_000;
        i.terminateAt = now + 120_000;
      }
      // Work, at exact times: each finished slot takes the next task at its end.
      if (i.state === "ready" || i.state === "draining") {
        let progressed = true;
        while (progressed) {
          progressed = false;
          for (let s = 0; s < i.slots.length; s++) {
            const slot = i.slots[s]!;
            if (slot.endAt > now) continue;
            progressed = true;
            i.slots.splice(s, 1);
            s--;
            if (done[slot.task.id]) completedTwice++;
            else {
              done[slot.task.id] = 1;
              completed++;
              recentSum += slot.task.durationMs;
              recentCount++;
              if (--sessionLeft[slot.task.session]! === 0) sessionEnd[slot.task.session] = slot.endAt;
            }
            lastCompletionAt = Math.max(lastCompletionAt, slot.endAt);
            const next = i.state === "ready" ? take() : undefined;
            if (next) i.slots.push({ task: next, startAt: slot.endAt, endAt: slot.endAt + next.durationMs });
            else if (i.slots.length === 0 && i.state === "ready") i.idleSince = slot.endAt;
          }
        }
      }
      if (i.state === "ready") startReady(i, now);
      if (i.state === "draining" && i.releaseAt !== undefined && i.releaseAt <= now && i.slots.length > 0) {
        // Released leases: the tasks are retried at once elsewhere.
        for (const slot of i.slots.splice(0)) {
          retries.push(slot.task);
          released++;
        }
      }
      if (i.state === "draining" && i.terminateAt !== undefined && i.terminateAt <= now)
        cloud.terminate(i, now);
    }
    peak = Math.max(peak, live().length);
    if (now >= nextTick) {
      await controller.tick();
      nextTick = now + tickMs;
      for (const i of cloud.instances) if (i.state === "ready") startReady(i, now);
    }
    if (ai === arrivals.length && completed === total && live().length === 0) {
      endedAt = now;
      break;
    }
  }

  for (const i of live()) endIdle(i, now);
  const minimumMs = o.policy.minimumBilledMs;
  let agentMs = 0;
  let bootMs = 0;
  let dollars = 0;
  const poolsUsed = new Set<string>();
  for (const i of cloud.instances) {
    if (i.runningAt > now) continue; // never ran: not billed
    const end = i.terminatedAt ?? now;
    const billed = Math.max(minimumMs, Math.ceil((end - i.runningAt) / 1_000) * 1_000);
    agentMs += billed;
    bootMs += Math.min(end, i.readyAt) - i.runningAt;
    dollars += (billed / 3_600_000) * cloud.price(i);
    poolsUsed.add(`${i.market}|${i.zone}|${i.type.name}`);
  }
  const idealMs =
    arrivals.reduce((n, a) => n + a.tasks.reduce((m, t) => m + t.durationMs, 0), 0) / concurrency;
  const firstArrival = arrivals[0]?.at ?? 0;
  const firstLaunch = cloud.requests.find((r) => r.launched > 0)?.at ?? Number.NaN;
  const firstReady = Math.min(...cloud.instances.map((i) => i.readyAt));
  const lastTerminated = Math.max(0, ...cloud.instances.map((i) => i.terminatedAt ?? now));
  const coolMs = o.coolMs ?? 60_000;
  let retriedTooSoon = 0;
  for (const [k, r] of cloud.requests.entries()) {
    for (const failed of r.failed) {
      const again = cloud.requests
        .slice(k + 1)
        .find((later) => later.market === r.market && later.allowed.includes(failed));
      if (again && again.at - r.at < coolMs) retriedTooSoon++;
    }
  }
  return {
    tasks: total,
    completed,
    completedTwice,
    drained: endedAt !== undefined,
    simSeconds: round(now / 1_000, 1),
    secondsToFirstLaunch: round((firstLaunch - firstArrival) / 1_000, 1),
    secondsToFirstAgent: round((firstReady - firstArrival) / 1_000, 1),
    peakAgents: peak,
    agentSeconds: round(agentMs / 1_000, 0),
    idealAgentSeconds: round(idealMs / 1_000, 0),
    agentSecondsRatio: round(agentMs / idealMs, 3),
    idleAgentSeconds: round(idleMs / 1_000, 0),
    maxIdleSeconds: round(maxIdle / 1_000, 1),
    bootAgentSeconds: round(bootMs / 1_000, 0),
    secondsToZero: round((lastTerminated - lastCompletionAt) / 1_000, 1),
    sessionSeconds: sessionEnd.map((end, s) => round((end - o.sessions[s]!.at) / 1_000, 1)),
    instances: cloud.instances.length,
    spotInstances: cloud.instances.filter((i) => i.market === "spot").length,
    interruptions,
    tasksReleased: released,
    capacityErrors: cloud.requests.reduce((n, r) => n + r.failed.length, 0),
    throttledRequests: cloud.requests.filter((r) => r.throttled).length,
    requests: cloud.requests,
    poolsUsed: [...poolsUsed].sort(),
    fleetDollars: round(dollars, 4),
    ...statusCost(board, o),
    retriedTooSoon,
    shortPasses,
    passes,
  };
}

const round = (n: number, d = 2) => Number(n.toFixed(d));

/** The fleet status's count of the run's agent time, priced at the fake cloud's prices. */
function statusCost(board: FleetStatusBoard, o: FleetSimOptions) {
  const usage = board.pools()[0]?.usage;
  if (!usage) return { statusAgentSeconds: 0, statusDollars: 0 };
  const prices: PriceTable = {
    ...AWS_LIST_PRICES,
    ec2: {
      onDemandHourly: Object.fromEntries(o.instanceTypes.map((t) => [t.name, t.onDemandHourly])),
      spotFraction: o.spotDiscount ?? 0.35,
    },
  };
  return {
    statusAgentSeconds: round(
      usage.lines.reduce((n, l) => n + l.seconds, 0),
      0,
    ),
    statusDollars: round(priceFleetUsage(usage, prices).dollars, 4),
  };
}

/** Arm instance types with 4 vCPUs and their us-east-1 on-demand prices (2026-11). */
export const SIM_INSTANCE_TYPES: SimInstanceType[] = [
  { name: "c6g.xlarge", onDemandHourly: 0.136 },
  { name: "c7g.xlarge", onDemandHourly: 0.145 },
  { name: "m6g.xlarge", onDemandHourly: 0.154 },
  { name: "c8g.xlarge", onDemandHourly: 0.1595 },
  { name: "m7g.xlarge", onDemandHourly: 0.1632 },
  { name: "r7g.xlarge", onDemandHourly: 0.2142 },
];

/** A bursty workload on a pool of 4-task agents: the shape `npm run bench:fleet` reports on. */
export function burstyFleetSim(
  seed: number,
  shape: { sessions: number; tasks: number; gapMs: number; maxAgents: number },
): FleetSimOptions {
  return {
    seed,
    sessions: Array.from({ length: shape.sessions }, (_, k) => ({
      at: 30_000 + k * shape.gapMs,
      tasks: shape.tasks,
      minMs: 1_000,
      maxMs: 30_000,
    })),
    policy: { ...DEFAULT_FLEET_POLICY, maxAgents: shape.maxAgents, concurrency: 4, bootMs: 60_000 },
    zones: ["us-east-1a", "us-east-1b", "us-east-1c"],
    instanceTypes: SIM_INSTANCE_TYPES,
    // Spot is scarce in the cheapest types and absent in one zone; on-demand is plentiful.
    capacity: {
      default: { spot: Math.ceil(shape.maxAgents / 12), "on-demand": shape.maxAgents },
      pools: {
        "spot|us-east-1a|c6g.xlarge": 2,
        "spot|us-east-1b|c6g.xlarge": 0,
        "spot|us-east-1c|c6g.xlarge": 0,
        "spot|us-east-1c|c7g.xlarge": 0,
        "spot|us-east-1c|m6g.xlarge": 0,
        "spot|us-east-1c|c8g.xlarge": 0,
        "spot|us-east-1c|m7g.xlarge": 0,
        "spot|us-east-1c|r7g.xlarge": 0,
      },
    },
    spot: true,
    spotInterruptionsPerHour: 0.2,
    launch: { minMs: 5_000, maxMs: 30_000, slowFraction: 0.1, slowMs: 180_000 },
    bootMs: 45_000,
    throttleRate: 0.05,
  };
}
