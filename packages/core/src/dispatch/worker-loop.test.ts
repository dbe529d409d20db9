import { describe, expect, it } from "vitest";
import { realtimeMemoryGrid } from "../testing/memory-grid.ts";
import { Dispatcher, type TaskRunner } from "./dispatcher.ts";
import { createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { getTask } from "./tasks.ts";
import { runPollLoop, WeightedOrder } from "./worker-loop.ts";

describe("weighted order of priority queues", () => {
  it("leads with high 4, normal 2 and low 1 round of every 7, low at least once in any 7 in a row", () => {
    const order = new WeightedOrder(3);
    const leads = Array.from({ length: 700 }, () => order.next());
    for (const round of leads) expect([...round].sort()).toEqual([0, 1, 2]); // every queue asked
    const count = (q: number) => leads.filter((r) => r[0] === q).length;
    expect([count(0), count(1), count(2)]).toEqual([400, 200, 100]);
    for (let i = 0; i + 7 <= leads.length; i++)
      expect(leads.slice(i, i + 7).some((r) => r[0] === 2)).toBe(true);
    // After the lead, the others in priority order.
    expect(leads.find((r) => r[0] === 2)).toEqual([2, 0, 1]);
  });
});

describe("an agent's poll loop", () => {
  it("runs a low-priority task within a few rounds while a high-priority backlog lasts", async () => {
    const grid = realtimeMemoryGrid();
    await createSession(grid, "acme", { sessionId: "high", config: { priority: "high", chunkMaxTasks: 1 } });
    await createSession(grid, "acme", { sessionId: "low", config: { priority: "low", chunkMaxTasks: 1 } });
    await submitTasks(
      grid,
      { tenant: "acme", sessionId: "high" },
      {
        tasks: Array.from({ length: 300 }, (_, index) => ({ index })),
      },
    );
    await submitTasks(grid, { tenant: "acme", sessionId: "low" }, { tasks: [{ index: 0 }] });
    const ran: string[] = [];
    const runner: TaskRunner = async (t) => {
      ran.push(t.sessionId);
      await new Promise((r) => setTimeout(r, 1));
      return "ok";
    };
    const dispatcher = new Dispatcher(grid, { owner: "agent", runner, concurrency: 2 });
    const stop = new AbortController();
    const loop = runPollLoop(
      grid,
      dispatcher,
      { queues: ["default-high", "default-normal", "default-low"], idleWaitSeconds: 0 },
      stop.signal,
    );
    for (const end = Date.now() + 20_000; !ran.includes("low"); ) {
      if (Date.now() > end) throw new Error("the low task never ran");
      await new Promise((r) => setTimeout(r, 10));
    }
    stop.abort();
    await loop;
    // Strict priority would run it after all 300 high tasks; weighted service within 7 rounds
    // (each taking at most the 2 tasks the agent can start).
    expect(ran.indexOf("low")).toBeLessThan(20);
    expect((await getTask(grid, { tenant: "acme", sessionId: "low" }, 0)).status).toBe("SUCCEEDED");
  });
});
