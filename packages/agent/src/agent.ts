/**
 * The agent: a long-running worker for EC2 and EKS. It serves one or more pools with batched
 * receives (10 tickets a call, long polling when idle), runs up to `concurrency` tasks at once
 * through the dispatch core (batched heartbeats, fenced commits, batched acknowledgements), and
 * on stop drains: it receives nothing more, lets running tasks finish within the grace period,
 * and releases the rest so other workers run them at once.
 */
import { randomUUID } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import {
  Dispatcher,
  type GridPorts,
  type HeldLease,
  keys,
  PRIORITY_ORDER,
  runPollLoop,
  type SessionUsage,
  type TaskRun,
  type TaskRunner,
} from "@tessera/core";
import { AgentTime } from "@tessera/core/metering";

/** How long a ticket an agent received stays hidden before its claim re-times it. */
const RECEIVE_VISIBILITY_SECONDS = 25;

/** Lifecycle of an agent. */
export type AgentState = "starting" | "running" | "draining" | "stopped";

/** Settings of an agent. */
export interface AgentOptions {
  ports: GridPorts;
  runner: TaskRunner;
  /** Tasks the runner would start at once (see DispatcherOptions.runnerCapacity). */
  runnerCapacity?: () => number;
  /** Pools served; each pool's queues are served by weight, highest priority first. @default ["default"] */
  pools?: string[];
  /** Tasks run at once. @default the number of CPUs */
  concurrency?: number;
  /** Chunks held at once (a chunk holds up to 64 short tasks). @default concurrency, at least 2 */
  maxLeases?: number;
  /** On stop, how long running tasks may take to finish before they are released. @default 30000 */
  graceMs?: number;
  /** Long-poll wait when idle, in seconds. @default 10 */
  idleWaitSeconds?: number;
  /** Heartbeat pass interval. @default 1000 */
  heartbeatEveryMs?: number;
  /** Lease owner id. @default `agent:{host}:{pid}:{random}` */
  owner?: string;
  /**
   * Per-session usage: the agent adds its instance time, apportioned by the tasks it runs, and
   * writes it (with the requests its clients made) every `usageEveryMs` and when it stops.
   */
  usage?: SessionUsage | undefined;
  /** What the agent runs on, to price its time. @default { type: "local", market: "local" } */
  instance?: { type: string; market: string } | undefined;
  /** @default 30000 */
  usageEveryMs?: number;
}

/** Counters an agent reports on its health endpoint. */
export interface AgentStats {
  state: AgentState;
  owner: string;
  pools: string[];
  concurrency: number;
  heldLeases: number;
  runningTasks: number;
  tasksStarted: number;
  tasksSucceeded: number;
  tasksFailed: number;
  tasksReleased: number;
  leasesLost: number;
  startedAt: string;
  /** Since when it has run no task; absent while it runs some (the fleet scaler reads it). */
  idleSince?: string | undefined;
}

/** A running agent. */
export class Agent {
  readonly #options: Required<
    Omit<AgentOptions, "ports" | "runner" | "runnerCapacity" | "usage" | "instance">
  >;
  readonly #usage: SessionUsage | undefined;
  readonly #time: AgentTime;
  readonly #ports: GridPorts;
  readonly #dispatcher: Dispatcher;
  readonly #stop = new AbortController();
  readonly #startedAt = new Date();
  #state: AgentState = "starting";
  #running = 0;
  /** When the agent last ran no task (epoch ms); undefined while it runs some. */
  #idleSince: number | undefined = Date.now();
  /** The grace of the stop under way, when shorter than the configured one. */
  #stopGraceMs: number | undefined;
  #loop: Promise<void> | undefined;
  readonly #counts = { started: 0, succeeded: 0, failed: 0, released: 0, lost: 0 };

  constructor(options: AgentOptions) {
    const concurrency = options.concurrency ?? availableParallelism();
    this.#options = {
      pools: options.pools ?? ["default"],
      concurrency,
      maxLeases: options.maxLeases ?? Math.max(2, concurrency),
      graceMs: options.graceMs ?? 30_000,
      idleWaitSeconds: options.idleWaitSeconds ?? 10,
      heartbeatEveryMs: options.heartbeatEveryMs ?? 1_000,
      owner: options.owner ?? `agent:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      usageEveryMs: options.usageEveryMs ?? 30_000,
    };
    this.#usage = options.usage;
    this.#time = new AgentTime({
      instanceType: options.instance?.type ?? "local",
      market: options.instance?.market ?? "local",
    });
    for (const pool of this.#options.pools) {
      if (!options.ports.grid.pools.includes(pool)) {
        throw new Error(`unknown pool "${pool}"; this grid has: ${options.ports.grid.pools.join(", ")}`);
      }
    }
    this.#ports = options.ports;
    const counts = this.#counts;
    // Running tasks and their time are counted from the dispatcher's start and end of each run:
    // a task abandoned after ignoring its abort no longer counts, though its promise lingers.
    const ends = new WeakMap<object, () => void>();
    const taskStarted = (lease: HeldLease, run: TaskRun) => {
      this.#running++;
      this.#idleSince = undefined;
      ends.set(run, this.#time.start(lease.chunk));
    };
    const taskEnded = (_lease: HeldLease, run: TaskRun) => {
      ends.get(run)?.();
      ends.delete(run);
      if (--this.#running === 0) this.#idleSince = Date.now();
    };
    this.#dispatcher = new Dispatcher(options.ports, {
      owner: this.#options.owner,
      runner: options.runner,
      runnerCapacity: options.runnerCapacity,
      concurrency,
      hooks: {
        onTaskStart: (lease, run) => {
          counts.started++;
          taskStarted(lease, run);
        },
        onTaskEnd: taskEnded,
        onCommit: (lease, entry) => {
          for (const o of entry?.outcomes ?? []) {
            if (o.status === "SUCCEEDED") counts.succeeded++;
            else counts.failed++;
          }
          for (const run of lease.runs.values())
            if (run.result && !run.result.ok && run.result.released) counts.released++;
        },
        onLeaseLost: () => counts.lost++,
      },
    });
  }

  /** Current state. */
  get state(): AgentState {
    return this.#state;
  }

  /** Starts serving; resolves once the agent has stopped and drained. */
  run(): Promise<void> {
    if (this.#loop) return this.#loop;
    const queues = this.#options.pools.flatMap((pool) =>
      PRIORITY_ORDER.map((p) => keys.queueNameOf(pool, p)),
    );
    this.#state = "running";
    const usage = this.#usage;
    const flusher = usage
      ? setInterval(() => {
          usage.addAgentWindow(this.#time);
          void usage.flush();
        }, this.#options.usageEveryMs)
      : undefined;
    this.#loop = runPollLoop(
      this.#ports,
      this.#dispatcher,
      {
        queues,
        // Received tickets stay hidden only until claimed (a claim re-times its ticket to the
        // lease): an agent that dies in between leaves them hidden for 25 s, not a minute.
        visibilitySeconds: RECEIVE_VISIBILITY_SECONDS,
        maxLeases: this.#options.maxLeases,
        idleWaitSeconds: this.#options.idleWaitSeconds,
        heartbeatEveryMs: this.#options.heartbeatEveryMs,
        graceMs: () => Math.min(this.#options.graceMs, this.#stopGraceMs ?? Number.POSITIVE_INFINITY),
      },
      this.#stop.signal,
    ).finally(async () => {
      clearInterval(flusher);
      if (usage) {
        usage.addAgentWindow(this.#time, true);
        await usage.flush();
      }
      this.#state = "stopped";
    });
    return this.#loop;
  }

  /**
   * Stops receiving and drains (see the class comment); resolves once stopped. `graceMs`
   * shortens the configured grace for this stop (a spot notice leaves two minutes in all).
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    if (options.graceMs !== undefined)
      this.#stopGraceMs = Math.max(
        0,
        Math.min(options.graceMs, this.#stopGraceMs ?? Number.POSITIVE_INFINITY),
      );
    if (this.#state === "running") this.#state = "draining";
    this.#stop.abort();
    await this.#loop;
    this.#state = "stopped";
  }

  /** Counters for the health endpoint. */
  stats(): AgentStats {
    return {
      state: this.#state,
      owner: this.#options.owner,
      pools: this.#options.pools,
      concurrency: this.#options.concurrency,
      heldLeases: this.#dispatcher.heldLeases,
      runningTasks: this.#running,
      tasksStarted: this.#counts.started,
      tasksSucceeded: this.#counts.succeeded,
      tasksFailed: this.#counts.failed,
      tasksReleased: this.#counts.released,
      leasesLost: this.#counts.lost,
      startedAt: this.#startedAt.toISOString(),
      idleSince: this.#idleSince === undefined ? undefined : new Date(this.#idleSince).toISOString(),
    };
  }
}
