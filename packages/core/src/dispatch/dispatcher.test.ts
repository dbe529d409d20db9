import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { Limits } from "../model/limits.ts";
import type { TaskOutcome } from "../model/records.ts";
import { type MemoryGrid, memoryGrid } from "../testing/memory-grid.ts";
import { Dispatcher, type TaskRunner } from "./dispatcher.ts";
import { ResultsReader } from "./results-reader.ts";
import { cancelSession, createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { cancelTask, getTask } from "./tasks.ts";

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "s1" };

/** Receives and runs tickets until the queue is empty, advancing fake time past delays. */
async function pump(grid: MemoryGrid, dispatcher: Dispatcher, maxRounds = 200): Promise<void> {
  const clock = grid.clock as FakeClock;
  for (let round = 0; round < maxRounds && grid.queue.depth(QUEUE) > 0; round++) {
    const tickets = await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    if (tickets.length === 0) {
      clock.advance(1_000);
      continue;
    }
    await dispatcher.accept(QUEUE, tickets);
    await dispatcher.drain();
  }
}

async function readAll(grid: MemoryGrid): Promise<Map<number, TaskOutcome>> {
  const reader = new ResultsReader(grid, key);
  const byIndex = new Map<number, TaskOutcome>();
  for (const o of await reader.poll()) {
    expect(byIndex.has(o.index)).toBe(false);
    byIndex.set(o.index, o);
  }
  return byIndex;
}

const upper: TaskRunner = async (t) => (t.payload ?? "").toUpperCase();

describe("dispatcher over memory adapters", () => {
  it("runs a session end to end: every task succeeds once, results stream back", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 16 } });
    const tasks = Array.from({ length: 200 }, (_, i) => ({ index: i, payload: `task-${i}` }));
    const report = await submitTasks(grid, key, { tasks });
    expect(report).toMatchObject({ created: 200, existing: 0, chunks: 13, tickets: 13 });

    await pump(grid, new Dispatcher(grid, { owner: "w1", runner: upper }));
    const results = await readAll(grid);
    expect(results.size).toBe(200);
    for (const [i, o] of results)
      expect(o).toMatchObject({ status: "SUCCEEDED", attempt: 1, result: `TASK-${i}` });
    expect(grid.queue.depth(QUEUE)).toBe(0);
  });

  it("retries a failing task alone, without re-running its succeeded siblings", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, {
      sessionId: key.sessionId,
      config: { maxAttempts: 3, backoffBaseMs: 500 },
    });
    await submitTasks(grid, key, {
      tasks: Array.from({ length: 10 }, (_, i) => ({ index: i, payload: String(i) })),
    });
    const runs = new Map<number, number>();
    const runner: TaskRunner = async (t) => {
      runs.set(t.index, (runs.get(t.index) ?? 0) + 1);
      if (t.index === 3 && t.attempt < 3) throw new Error(`boom ${t.attempt}`);
      if (t.index === 7) throw new Error("always");
      return "ok";
    };
    await pump(grid, new Dispatcher(grid, { owner: "w1", runner }));
    const results = await readAll(grid);
    expect(results.get(3)).toMatchObject({ status: "SUCCEEDED", attempt: 3 });
    expect(results.get(7)).toMatchObject({
      status: "FAILED",
      attempt: 3,
      error: { code: "HANDLER_ERROR", message: "always" },
    });
    expect(runs.get(0)).toBe(1);
    expect(runs.get(3)).toBe(3);
    expect(runs.get(7)).toBe(3);
    const view = await getTask(grid, key, 7);
    expect(view).toMatchObject({ status: "FAILED", attempt: 3, error: { message: "always" } });
  });

  it("cancels queued tasks so they never start, and keeps finished results", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 4 } });
    await submitTasks(grid, key, {
      tasks: Array.from({ length: 8 }, (_, i) => ({ index: i, payload: "x" })),
    });
    const started: number[] = [];
    const runner: TaskRunner = async (t) => {
      started.push(t.index);
      return "done";
    };
    await cancelTask(grid, key, 5);
    await pump(grid, new Dispatcher(grid, { owner: "w1", runner }));
    expect(started).not.toContain(5);
    expect((await getTask(grid, key, 5)).status).toBe("CANCELLED");
    await cancelSession(grid, key);
    expect((await getTask(grid, key, 0)).status).toBe("SUCCEEDED");
  });

  it("submitting the same batch twice creates nothing twice", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const batch = { tasks: Array.from({ length: 100 }, (_, i) => ({ index: i, payload: "p" })) };
    expect((await submitTasks(grid, key, batch)).created).toBe(100);
    const again = await submitTasks(grid, key, batch);
    expect(again).toMatchObject({ created: 0, existing: 100 });
    await pump(grid, new Dispatcher(grid, { owner: "w1", runner: upper }));
    expect((await readAll(grid)).size).toBe(100);
  });

  it("stores large results alone and keeps each completion entry's results within budget", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 32 } });
    // Task 0 returns 300 KiB (over LARGE_RESULT_BYTES); tasks 1-20 return 100 KiB each (2 MB in
    // all, over ENTRY_RESULT_BYTES); tasks 21-31 return a few bytes.
    const size = (i: number) => (i === 0 ? 300 * 1024 : i <= 20 ? 100 * 1024 : 3);
    const tasks = Array.from({ length: 32 }, (_, i) => ({ index: i, payload: String(i) }));
    await submitTasks(grid, key, { tasks });
    await pump(grid, new Dispatcher(grid, { owner: "w1", runner: async (t) => "x".repeat(size(t.index)) }));
    const [entry] = (await grid.store.readCompletions(key, 0, undefined, 10)).entries;
    const moved = entry!.outcomes.filter((o) => o.resultRef !== undefined);
    expect(moved.map((o) => o.index)).toContain(0);
    const kept = entry!.outcomes.filter((o) => o.resultRef === undefined);
    const stillInline = kept.reduce((n, o) => n + size(o.index), 0);
    expect(stillInline).toBeLessThanOrEqual(Limits.ENTRY_RESULT_BYTES);
    expect(moved.length).toBeLessThan(21); // only as many as needed
    for (const o of moved) expect(await grid.blobs.get(o.resultRef!)).toHaveLength(size(o.index));
    const results = await readAll(grid);
    expect(results.size).toBe(32);
    expect(results.get(31)?.result).toBe("xxx");
    expect((await getTask(grid, key, 0)).resultRef).toBe(moved.find((o) => o.index === 0)?.resultRef);
  });
});
