/**
 * The local grid's fleet: agent processes (the real agent CLI) started and stopped by the same
 * fleet controller that drives EC2, so `npm start` shows agents appearing when a session
 * arrives on an agent pool and going to zero when it ends. An agent's busy or idle state comes
 * from its health endpoint (`/metrics`); a stop is SIGTERM, so the agent drains.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { FleetAgent, FleetPort, LaunchReport } from "@tessera/core";
import type { TaskLogSink } from "@tessera/task";
import { taskLogEntryOf } from "./task-logs.ts";

export interface LocalFleetOptions {
  /** Path of the agent CLI. */
  agentCli: string;
  tasks: string[];
  /** Environment pointing the agents at the grid. */
  env: Record<string, string>;
  logDir: string;
  concurrency: number;
  graceSeconds: number;
  log?: (line: string) => void;
  /** Takes the task log entries the agents print (see task-logs.ts). */
  onTaskLog?: TaskLogSink;
}

interface LocalAgent {
  id: string;
  pool: string;
  child: ChildProcess;
  launchedAt: number;
  healthUrl?: string;
  stopping: boolean;
  exited: Promise<void>;
}

/** Agent processes per pool. */
export class LocalFleet implements FleetPort {
  readonly #o: LocalFleetOptions;
  readonly #agents = new Map<string, LocalAgent>();
  #seq = 0;
  /** Per pool, agents that exited without being stopped, since the last launch. */
  readonly #crashes = new Map<string, string[]>();

  constructor(options: LocalFleetOptions) {
    this.#o = options;
  }

  /** Processes still running (any pool). */
  get running(): number {
    return [...this.#agents.values()].filter((a) => a.child.exitCode === null && a.child.signalCode === null)
      .length;
  }

  async list(pool: string): Promise<FleetAgent[]> {
    const mine = [...this.#agents.values()].filter((a) => a.pool === pool);
    return Promise.all(mine.map((a) => this.#view(a)));
  }

  async launch(pool: string, count: number): Promise<LaunchReport> {
    // Agents of this pool that died since the last launch: starting more would only crash-loop,
    // so this launch starts none and says why (the controller backs off and retries later).
    const crashes = this.#crashes.get(pool) ?? [];
    this.#crashes.delete(pool);
    if (crashes.length > 0) {
      return {
        launched: [],
        errors: crashes.map((message) => ({ code: "AgentExited", message, retryable: true })),
      };
    }
    const launched: string[] = [];
    for (let i = 0; i < count; i++) launched.push(this.#spawn(pool).id);
    return { launched, errors: [] };
  }

  async stop(_pool: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const a = this.#agents.get(id);
      if (!a || a.stopping) continue;
      a.stopping = true;
      a.child.kill("SIGTERM");
    }
  }

  /** Drains every agent (SIGTERM), killing any still up after `killAfterMs`. */
  async stopAll(killAfterMs = 25_000): Promise<void> {
    await Promise.all(
      [...this.#agents.values()].map(async (a) => {
        if (a.child.exitCode !== null || a.child.signalCode !== null) return;
        if (!a.stopping) a.child.kill("SIGTERM");
        a.stopping = true;
        const timer = setTimeout(() => a.child.kill("SIGKILL"), killAfterMs);
        await a.exited;
        clearTimeout(timer);
      }),
    );
  }

  #spawn(pool: string): LocalAgent {
    const id = `${pool}-agent-${++this.#seq}`;
    const logFile = createWriteStream(join(this.#o.logDir, `${id}.log`), { flags: "a" });
    const child = spawn(
      process.execPath,
      [
        this.#o.agentCli,
        "--tasks",
        ...this.#o.tasks,
        "--pools",
        pool,
        "--concurrency",
        String(this.#o.concurrency),
        "--grace",
        String(this.#o.graceSeconds),
        "--health-port",
        "0",
      ],
      {
        env: { ...process.env, ...this.#o.env, TESSERA_AGENT_STOP_ON_STDIN_EOF: "1" },
        stdio: ["pipe", "pipe", "pipe"],
        // Its own process group: a Ctrl-C reaches the grid, which drains the agents once.
        detached: true,
      },
    );
    const agent: LocalAgent = {
      id,
      pool,
      child,
      launchedAt: Date.now(),
      stopping: false,
      exited: new Promise((resolve) => child.once("exit", () => resolve())),
    };
    // Its log goes to a file; its first line says where its health endpoint listens.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logFile.write(`${line}\n`);
      const entry = this.#o.onTaskLog && taskLogEntryOf(line);
      if (entry) this.#o.onTaskLog!(entry);
      if (agent.healthUrl === undefined && line.includes('"health"')) {
        try {
          agent.healthUrl = (JSON.parse(line) as { health?: string }).health;
        } catch {}
      }
    });
    let lastError = "";
    createInterface({ input: child.stderr! }).on("line", (line) => {
      logFile.write(`${line}\n`);
      if (line.trim()) lastError = line.trim();
    });
    child.on("error", (error) => this.#o.log?.(`${id}: ${error.message}`));
    void agent.exited.then(() => {
      logFile.end();
      this.#agents.delete(id);
      if (!agent.stopping) {
        const message = `${id} exited (${child.exitCode ?? child.signalCode})${lastError ? `: ${lastError}` : ""}`;
        this.#o.log?.(message);
        this.#crashes.set(pool, [...(this.#crashes.get(pool) ?? []), message]);
      }
    });
    this.#agents.set(id, agent);
    return agent;
  }

  async #view(a: LocalAgent): Promise<FleetAgent> {
    // A process on this machine: its time is counted (the fleet view's "process time"), not priced.
    const base = {
      id: a.id,
      launchedAt: a.launchedAt,
      instanceType: "local",
      market: "local" as const,
      billedSince: a.launchedAt,
    };
    if (a.stopping) return { ...base, state: "stopping", busy: 0 };
    if (!a.healthUrl) return { ...base, state: "launching", busy: 0 };
    try {
      const response = await fetch(`${a.healthUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
      const m = (await response.json()) as {
        state: string;
        runningTasks: number;
        heldLeases: number;
        concurrency: number;
        idleSince?: string;
      };
      if (m.state !== "running") return { ...base, state: "stopping", busy: 0 };
      const busy = Math.max(m.runningTasks, m.heldLeases);
      return {
        ...base,
        state: "running",
        busy,
        idleSince: busy === 0 && m.idleSince ? Date.parse(m.idleSince) : undefined,
        slots: m.concurrency,
      };
    } catch {
      return { ...base, state: "launching", busy: 0 }; // not answering yet
    }
  }
}
