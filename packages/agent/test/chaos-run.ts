/**
 * A chaos run: real agent processes (`tessera-agent`, as operators start them) run thousands of
 * short tasks against DynamoDB Local and fauxqs while one of them, picked at random among those
 * running a task, is SIGKILLed every `killEveryMs` (up to `maxKills`) and started again at once
 * (as systemd or a Deployment would). A reaper
 * pass runs on its schedule and a client reads the results stream throughout. The report says
 * what the grid's promises need: every task ended; none FAILED without having run maxAttempts
 * times; none lost; none delivered twice; and how long the tasks a kill interrupted took to run
 * again. Used by agent/test/chaos.test.ts (small) and `npm run chaos` (large).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  closeSession,
  createSession,
  getTask,
  readResultsPage,
  reap,
  type SessionWalk,
  submitTasks,
} from "@tessera/core";
import { type EmulatorEndpoints, provisionTestGrid } from "@tessera/core/testing/aws";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const TASKS = new URL("./fixtures/tasks.ts", import.meta.url).pathname;

/** Settings of a chaos run. */
export interface ChaosOptions {
  endpoints: EmulatorEndpoints;
  tasks: number;
  agents: number;
  /** Tasks each agent runs at once. */
  concurrency: number;
  killEveryMs: number;
  /** Kills no more than this many agents (each strands its chunks for a lease). @default no limit */
  maxKills?: number;
  /** Each task sleeps between these (ms). */
  taskMs: [number, number];
  leaseMs: number;
  maxAttempts: number;
  chunkMaxTasks: number;
  /** The reaper's schedule. */
  reapEveryMs: number;
  /** The run gives up (and reports what it saw) after this long. */
  capMs: number;
}

/** What a chaos run saw. */
export interface ChaosReport {
  tasks: number;
  kills: number;
  seconds: number;
  settled: boolean;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** FAILED tasks that did not start maxAttempts times (an infrastructure event failed them). */
  failedWithoutMaxRuns: number;
  /** Tasks the results stream never delivered. */
  lost: number;
  deliveredTwice: number;
  /** Runs started (task code called), over all attempts and processes. */
  runs: number;
  /** Runs a kill cut short, and the time from the kill to the task's next start (ms). */
  interrupted: number;
  killToRerunMs: { p50: number; p90: number; max: number };
  /** Error codes of the FAILED tasks, with counts. */
  failures: Record<string, number>;
  /** Tasks not ended when the run stopped: their state, to say why. */
  unfinished: Array<Record<string, unknown>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Runs one chaos run and reports it; everything it started is stopped, also on failure. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const g = await provisionTestGrid(o.endpoints);
  const dir = mkdtempSync(join(tmpdir(), "tessera-chaos-"));
  const log = join(dir, "runs.log");
  const agents: ChildProcess[] = [];
  const kills: Array<{ pid: number; at: number }> = [];
  const stop = new AbortController();
  const anyUrl = Object.values(g.queueUrls)[0]!;
  const start = (i: number) => {
    const child = spawn(
      process.execPath,
      [CLI, "--tasks", TASKS, "--concurrency", String(o.concurrency), "--grace", "5"],
      {
        env: {
          ...process.env,
          TESSERA_PREFIX: g.grid.table.name.replace(/-tasks$/, ""),
          TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
          TESSERA_DYNAMODB_ENDPOINT: o.endpoints.dynamoEndpoint,
          TESSERA_QUEUE_ENDPOINT: o.endpoints.queueEndpoint,
          TESSERA_CHAOS_LOG: log,
        },
        stdio: "ignore",
      },
    );
    agents[i] = child;
  };
  const key = { tenant: "chaos", sessionId: "chaos" };
  const t0 = Date.now();
  try {
    await createSession(g.ports, key.tenant, {
      sessionId: key.sessionId,
      config: { chunkMaxTasks: o.chunkMaxTasks, leaseMs: o.leaseMs, maxAttempts: o.maxAttempts },
    });
    const all = Array.from({ length: o.tasks }, (_, index) => ({
      index,
      payload: JSON.stringify({ ms: o.taskMs[0] + ((index * 7919) % (o.taskMs[1] - o.taskMs[0] + 1)) }),
    }));
    for (let from = 0; from < all.length; from += 4_096)
      await submitTasks(g.ports, key, { handler: "chaos", tasks: all.slice(from, from + 4_096) });
    await closeSession(g.ports, key); // all submitted: the stream settles once every task ended
    for (let i = 0; i < o.agents; i++) start(i);

    // The killer: every killEveryMs, a random agent among those running a task (waiting up to
    // 2 s for one: on a loaded machine a restarted agent may still be starting), started again
    // at once.
    const killer = (async () => {
      while (!stop.signal.aborted && kills.length < (o.maxKills ?? Number.POSITIVE_INFINITY)) {
        await sleep(o.killEveryMs);
        if (stop.signal.aborted) break;
        let busy: number[] = [];
        for (let waited = 0; busy.length === 0 && waited < 2_000 && !stop.signal.aborted; waited += 100) {
          const running = pidsRunningATask(log);
          busy = agents.flatMap((a, i) => (a.pid !== undefined && running.has(a.pid) ? [i] : []));
          if (busy.length === 0) await sleep(100);
        }
        const i =
          busy.length > 0
            ? busy[Math.floor(Math.random() * busy.length)]!
            : Math.floor(Math.random() * o.agents);
        const victim = agents[i]!;
        if (victim.pid !== undefined && victim.exitCode === null) {
          kills.push({ pid: victim.pid, at: Date.now() });
          victim.kill("SIGKILL");
          await once(victim, "exit");
        }
        start(i);
      }
    })();
    const walks = new Map<string, SessionWalk>();
    const reaper = (async () => {
      while (!stop.signal.aborted) {
        await sleep(o.reapEveryMs);
        await reap(g.ports, { walks }).catch(() => {});
      }
    })();

    // A client reads the results stream throughout.
    const delivered = new Map<number, number>();
    const outcomes = new Map<number, string>();
    const failures: Record<string, number> = {};
    let cursor: string | undefined;
    let settled = false;
    while (!settled && Date.now() - t0 < o.capMs) {
      const page = await readResultsPage(g.ports, key, { cursor, limit: 1_000 }).catch(() => undefined);
      if (!page) {
        await sleep(200);
        continue;
      }
      cursor = page.cursor;
      for (const r of page.outcomes) {
        delivered.set(r.index, (delivered.get(r.index) ?? 0) + 1);
        outcomes.set(r.index, r.status);
        if (r.status === "FAILED") failures[r.error?.code ?? "?"] = (failures[r.error?.code ?? "?"] ?? 0) + 1;
      }
      settled = page.settled;
      if (!settled && page.outcomes.length === 0) await sleep(250);
    }
    stop.abort();
    await Promise.all([killer, reaper]);
    const seconds = (Date.now() - t0) / 1000;

    // What ran: starts and ends by task, attempt and process.
    const starts = new Map<number, Array<{ pid: number; at: number }>>();
    const ends = new Set<string>();
    let runs = 0;
    for (const line of readFileSync(log, "utf8").split("\n")) {
      const [what, id, , pid, at] = line.split(" ");
      if (what === "start") {
        runs++;
        const list = starts.get(Number(id)) ?? [];
        list.push({ pid: Number(pid), at: Number(at) });
        starts.set(Number(id), list);
      } else if (what === "end") ends.add(`${id}/${pid}/${at}`);
    }
    const endedAfter = (id: number, pid: number, at: number) =>
      [...ends].some((e) => {
        const [i, p, t] = e.split("/").map(Number);
        return i === id && p === pid && t! >= at;
      });
    const rerun: number[] = [];
    for (const kill of kills) {
      for (const [id, list] of starts) {
        const cut = list.find((s) => s.pid === kill.pid && s.at <= kill.at && !endedAfter(id, s.pid, s.at));
        if (!cut) continue;
        const next = list.find((s) => s.at > kill.at);
        if (next) rerun.push(next.at - kill.at);
      }
    }
    rerun.sort((a, b) => a - b);
    const unfinished: Array<Record<string, unknown>> = [];
    for (let i = 0; i < o.tasks && unfinished.length < 5; i++) {
      if (outcomes.has(i)) continue;
      const view = await getTask(g.ports, key, i).catch(() => undefined);
      unfinished.push({ ...view, runs: starts.get(i)?.length ?? 0, now: Date.now() });
    }
    const statuses = [...outcomes.values()];
    const failed = [...outcomes].filter(([, s]) => s === "FAILED").map(([i]) => i);
    return {
      tasks: o.tasks,
      kills: kills.length,
      seconds,
      settled,
      succeeded: statuses.filter((s) => s === "SUCCEEDED").length,
      failed: failed.length,
      cancelled: statuses.filter((s) => s === "CANCELLED").length,
      failedWithoutMaxRuns: failed.filter((i) => (starts.get(i)?.length ?? 0) < o.maxAttempts).length,
      lost: o.tasks - delivered.size,
      deliveredTwice: [...delivered.values()].filter((n) => n > 1).length,
      runs,
      interrupted: rerun.length,
      killToRerunMs: { p50: quantile(rerun, 0.5), p90: quantile(rerun, 0.9), max: rerun.at(-1) ?? 0 },
      failures,
      unfinished,
    };
  } finally {
    stop.abort();
    await Promise.all(
      agents.map(async (a) => {
        if (a.exitCode !== null || a.signalCode !== null) return;
        const exited = once(a, "exit");
        a.kill("SIGKILL");
        await exited;
      }),
    );
    g.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The agents (by pid) with a run started and not ended, from the chaos task's log. */
function pidsRunningATask(log: string): Set<number> {
  let text: string;
  try {
    text = readFileSync(log, "utf8");
  } catch {
    return new Set(); // no run yet
  }
  const open = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [what, id, , pid] = line.split(" ");
    if (what === "start") open.set(`${id}/${pid}`, Number(pid));
    else if (what === "end") open.delete(`${id}/${pid}`);
  }
  return new Set(open.values());
}
