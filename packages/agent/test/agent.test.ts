import {
  cancelTask,
  createSession,
  getTask,
  ResultsReader,
  submitTasks,
  type TaskRunner,
} from "@tessera/core";
import { type AwsTestGrid, provisionTestGrid } from "@tessera/core/testing/aws";
import { afterEach, describe, expect, inject, it } from "vitest";
import { Agent } from "../src/agent.ts";
import { startHealthServer } from "../src/health.ts";
import { drainOnSpotNotice } from "../src/spot-watch.ts";
import { startFakeImds } from "./fake-imds.ts";

const grids: AwsTestGrid[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  for (const g of grids.splice(0)) g.close();
});

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new Error(String(signal.reason)));
    });
  });

async function grid(sessionId: string, config: Record<string, unknown>, tasks: number) {
  const g = await provisionTestGrid(inject("emulators"));
  grids.push(g);
  const key = { tenant: "acme", sessionId };
  await createSession(g.ports, "acme", { sessionId, config: { chunkMaxTasks: 1, ...config } });
  await submitTasks(g.ports, key, {
    tasks: Array.from({ length: tasks }, (_, index) => ({ index, payload: String(index) })),
  });
  return { ports: g.ports, key };
}

function start(
  ports: AwsTestGrid["ports"],
  runner: TaskRunner,
  options: Partial<ConstructorParameters<typeof Agent>[0]> = {},
) {
  const agent = new Agent({
    ports,
    runner,
    concurrency: 2,
    idleWaitSeconds: 1,
    heartbeatEveryMs: 200,
    ...options,
  });
  agents.push(agent);
  void agent.run();
  return agent;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(50);
  }
}

describe("agent", () => {
  it("never runs more tasks at once than its concurrency", async () => {
    const { ports, key } = await grid("conc", {}, 8);
    let running = 0;
    let peak = 0;
    const agent = start(ports, async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(150);
      running--;
      return "ok";
    });
    const reader = new ResultsReader(ports, key);
    let done = 0;
    await until(async () => {
      done += (await reader.poll()).length;
      return done >= 8;
    });
    expect(peak).toBe(2);
    // A result is readable as soon as its commit is written, a moment before the
    // agent's commit hook counts it.
    await until(() => agent.stats().tasksSucceeded >= 8);
    expect(agent.stats()).toMatchObject({ tasksStarted: 8, tasksSucceeded: 8, concurrency: 2 });
  });

  it("keeps a task that outlives its lease alive with heartbeats: it runs once", async () => {
    // A lease of 4 s (heartbeats every 400 ms extend it) and a task of 9 s: more than two leases.
    // (A 2 s lease was lost to a stall of the test process on a loaded machine.)
    const { ports, key } = await grid("long", { leaseMs: 4_000 }, 1);
    let runs = 0;
    start(ports, async () => {
      runs++;
      await sleep(9_000);
      return "done";
    });
    start(ports, async () => {
      runs++;
      return "stolen";
    });
    await until(async () => (await getTask(ports, key, 0)).status === "SUCCEEDED", 30_000);
    expect(await getTask(ports, key, 0)).toMatchObject({ attempt: 1, result: "done" });
    expect(runs).toBe(1);
  });

  it("drains on stop: a running task finishes within the grace period", async () => {
    const { ports, key } = await grid("drain", {}, 1);
    const agent = start(ports, async () => {
      await sleep(500);
      return "finished";
    });
    await until(() => agent.stats().runningTasks === 1);
    await agent.stop();
    expect(agent.state).toBe("stopped");
    expect(await getTask(ports, key, 0)).toMatchObject({ status: "SUCCEEDED", result: "finished" });
  });

  it("releases what outlives the grace period: another agent runs it at once, on the same attempt", async () => {
    const { ports, key } = await grid("release", {}, 1);
    const first = start(
      ports,
      async (t) => {
        await sleep(60_000, t.signal);
        return "never";
      },
      { graceMs: 200 },
    );
    await until(() => first.stats().runningTasks === 1);
    const stopped = Date.now();
    await first.stop();
    expect(first.stats().tasksReleased).toBe(1);
    expect(await getTask(ports, key, 0)).toMatchObject({ status: "QUEUED", attempt: 0 });
    start(ports, async () => "second");
    await until(async () => (await getTask(ports, key, 0)).status === "SUCCEEDED", 15_000);
    expect(await getTask(ports, key, 0)).toMatchObject({ attempt: 1, result: "second" });
    expect(Date.now() - stopped).toBeLessThan(10_000); // not after a 60 s lease expiry
  });

  it("on a spot notice, drains within the notice: a long task is released at once, not after its grace", async () => {
    const { ports, key } = await grid("spot", {}, 1);
    const imds = await startFakeImds();
    try {
      const agent = start(
        ports,
        async (t) => {
          await sleep(60_000, t.signal);
          return "never";
        },
        { graceMs: 30_000 },
      );
      await until(() => agent.stats().runningTasks === 1);
      // EC2 acts in 120 s; with a 119.8 s margin the task has 0.2 s, not its 30 s grace.
      const end = drainOnSpotNotice(agent, { endpoint: imds.endpoint, everyMs: 20, marginMs: 119_800 });
      const noticed = Date.now();
      imds.spotNotice = JSON.stringify({
        action: "terminate",
        time: new Date(noticed + 120_000).toISOString(),
      });
      await until(() => agent.state === "stopped", 15_000);
      end();
      expect(Date.now() - noticed).toBeLessThan(10_000);
      expect(agent.stats().tasksReleased).toBe(1);
      expect(await getTask(ports, key, 0)).toMatchObject({ status: "QUEUED", attempt: 0 });
    } finally {
      await imds.close();
    }
  });

  it("releases tasks that have not started as soon as a stop begins, and lets the running one finish", async () => {
    const { ports, key } = await grid("queued", { chunkMaxTasks: 3 }, 3);
    const ran: number[] = [];
    const agent = start(
      ports,
      async (t) => {
        ran.push(t.index);
        await sleep(800);
        return "done";
      },
      { concurrency: 1 },
    );
    await until(() => agent.stats().runningTasks === 1);
    await agent.stop();
    expect(ran).toHaveLength(1);
    const views = await Promise.all([0, 1, 2].map((i) => getTask(ports, key, i)));
    expect(views.map((v) => v.status).sort()).toEqual(["QUEUED", "QUEUED", "SUCCEEDED"]);
    for (const v of views) if (v.status === "QUEUED") expect(v.attempt).toBe(0);
  });

  it("releases a task that ignores its abort, with its finished sibling's result, then stops", async () => {
    const { ports, key } = await grid("stuck", { chunkMaxTasks: 2 }, 2);
    const agent = start(
      ports,
      async (t) => {
        if (t.index === 0) return "quick";
        await sleep(60_000); // never looks at its signal
        return "never";
      },
      { graceMs: 100 },
    );
    await until(
      async () => (await getTask(ports, key, 1)).status === "LEASED" && agent.stats().runningTasks === 1,
    );
    await agent.stop();
    expect(await getTask(ports, key, 0)).toMatchObject({ status: "SUCCEEDED", result: "quick" });
    expect(await getTask(ports, key, 1)).toMatchObject({ status: "QUEUED", attempt: 0 });
  });

  it("reports health: 200 while running, 503 once stopped", async () => {
    const { ports } = await grid("health", {}, 0 + 1);
    const agent = start(ports, async () => "ok");
    const health = await startHealthServer(agent);
    try {
      expect((await fetch(`${health.url}/health`)).status).toBe(200);
      expect(await (await fetch(`${health.url}/metrics`)).json()).toMatchObject({
        state: "running",
        concurrency: 2,
      });
      await agent.stop();
      expect((await fetch(`${health.url}/health`)).status).toBe(503);
    } finally {
      await health.close();
    }
  });

  it("ends a hung task on its cancel (the default 60 s lease), while its other tasks keep committing", async () => {
    const { ports, key } = await grid("hung", {}, 6);
    const agent = start(
      ports,
      async (t) => {
        if (t.index === 0) return new Promise<string>(() => {}); // hung: never settles, ignores its signal
        await sleep(100, t.signal);
        return "ok";
      },
      { heartbeatEveryMs: 1_000 },
    );
    await until(async () => (await getTask(ports, key, 0)).status === "LEASED");
    await cancelTask(ports, key, 0);
    await until(async () => (await getTask(ports, key, 0)).status === "CANCELLED", 15_000);
    await until(async () => {
      const done = await Promise.all([1, 2, 3, 4, 5].map((i) => getTask(ports, key, i)));
      return done.every((t) => t.status === "SUCCEEDED");
    });
    expect(agent.stats().runningTasks).toBe(0);
  });

  it("stops a task past its timeout and retries it", async () => {
    const { ports, key } = await grid(
      "timeout",
      { taskTimeoutMs: 1_000, maxAttempts: 2, backoffBaseMs: 0 },
      1,
    );
    start(ports, async (t) => {
      await sleep(30_000, t.signal);
      return "late";
    });
    await until(async () => (await getTask(ports, key, 0)).status === "FAILED", 20_000);
    expect(await getTask(ports, key, 0)).toMatchObject({ attempt: 2, error: { code: "TIMEOUT" } });
  });
});
