import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { TransientError } from "../errors.ts";
import { Limits } from "../model/limits.ts";
import type { TaskOutcome } from "../model/records.ts";
import { type MemoryGrid, memoryGrid } from "../testing/memory-grid.ts";
import { FAILED_RUN_MESSAGE_CHARS } from "./commit.ts";
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
      if (t.index === 7) throw new Error(t.attempt === 1 ? "x".repeat(900) : "always");
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
    // Its runs, each with its error: an earlier run's message is cut to 200 characters.
    expect(view.attempts.map((a) => [a.attempt, a.error?.message])).toEqual([
      [1, `${"x".repeat(FAILED_RUN_MESSAGE_CHARS)}…`],
      [2, "always"],
      [3, "always"],
    ]);
    expect((await getTask(grid, key, 3)).attempts.map((a) => [a.attempt, a.error?.message])).toEqual([
      [1, "boom 1"],
      [2, "boom 2"],
      [3, undefined],
    ]);
  });

  it("keeps a task's failed runs when it is cancelled while waiting to be retried, without a run for the cancel", async () => {
    for (const failures of [1, 2]) {
      const grid = memoryGrid();
      const clock = grid.clock as FakeClock;
      await createSession(grid, key.tenant, {
        sessionId: key.sessionId,
        config: { maxAttempts: 5, backoffBaseMs: 100, backoffMaxMs: 100 },
      });
      await submitTasks(grid, key, { tasks: [{ index: 0 }] });
      let runs = 0;
      const d = new Dispatcher(grid, {
        owner: "w1",
        runner: async () => {
          runs++;
          throw new Error(`boom ${runs}`);
        },
      });
      while (runs < failures) {
        const tickets = await grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 });
        if (tickets.length === 0) clock.advance(1_000);
        else {
          await d.accept(QUEUE, tickets);
          await d.drain();
        }
      }
      await cancelTask(grid, key, 0);
      const view = await getTask(grid, key, 0);
      expect(view.status).toBe("CANCELLED");
      expect(view.attempts.map((a) => [a.attempt, a.error?.message])).toEqual(
        Array.from({ length: failures }, (_, i) => [i + 1, `boom ${i + 1}`]),
      );
    }
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

describe("a dead worker's tasks", () => {
  const receive = (grid: MemoryGrid, visibilitySeconds: number) =>
    grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds });

  it("run again just after its lease ends, though its ticket came back while the lease was live", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { leaseMs: 6_000 } });
    await submitTasks(grid, key, { tasks: [{ index: 0, payload: "a" }] });
    const dead = new Dispatcher(grid, { owner: "dead", runner: () => new Promise(() => {}) });
    await dead.accept(QUEUE, await receive(grid, 5));
    dead.crash();
    clock.advance(5_500); // the ticket is back; the dead worker's lease has 500 ms to go
    const next = new Dispatcher(grid, { owner: "next", runner: upper });
    await next.accept(QUEUE, await receive(grid, 60));
    await next.acker.flush();
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "LEASED", owner: "dead" });
    // Not deleted as a duplicate: re-timed to the lease's end (the reaper is not needed).
    expect(grid.queue.depth(QUEUE)).toBe(1);
    clock.advance(3_000);
    await next.accept(QUEUE, await receive(grid, 60));
    await next.drain();
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1, result: "A" });
  });

  it("run again just after its lease ends, though their tickets were received to stay hidden longer", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { leaseMs: 5_000 } });
    await submitTasks(grid, key, { tasks: [{ index: 0, payload: "b" }] });
    const dead = new Dispatcher(grid, { owner: "dead", runner: () => new Promise(() => {}) });
    // An agent receives with 60 s of visibility: the claim re-times the ticket to lease + 2 s.
    await dead.accept(QUEUE, await receive(grid, 60), { visibilitySeconds: 60 });
    await dead.acker.flush();
    dead.crash();
    clock.advance(10_500);
    const next = new Dispatcher(grid, { owner: "next", runner: upper });
    await next.accept(QUEUE, await receive(grid, 60));
    await next.drain();
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1, result: "B" });
  });
});

describe("a commit", () => {
  it("keeps trying through seconds of store errors while its lease lasts, and lands", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    let failing = false;
    const store = new Proxy(grid.store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (failing) return Promise.reject(new TransientError(`throttled: ${String(prop)}`));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const ports = { ...grid, store };
    await createSession(ports, key.tenant, {
      sessionId: key.sessionId,
      config: { leaseMs: 60_000, maxAttempts: 1 },
    });
    await submitTasks(ports, key, { tasks: [{ index: 0, payload: "c" }] });
    const runner: TaskRunner = async (t) => {
      await clock.sleep(1_000, t.signal);
      return "C";
    };
    const d = new Dispatcher(ports, { owner: "w", runner });
    await d.accept(QUEUE, await grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 }));
    failing = true; // throttled from before the run ends until 20 s later
    for (let t = 0; t < 20_000; t += 250) {
      clock.advance(250);
      await new Promise((r) => setImmediate(r));
    }
    failing = false;
    for (let t = 0; t < 5_000; t += 250) {
      clock.advance(250);
      await new Promise((r) => setImmediate(r));
    }
    await d.drain();
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1, result: "C" });
  });
});

describe("a claim whose answer is lost", () => {
  /**
   * The grid, with the next claim write landing but answering "error", and reads failing while
   * `blind` (set by that write when `blindAfterLoss`).
   */
  const lossy = () => {
    const grid = memoryGrid();
    const state = { loseNextWrite: true, blind: false, blindAfterLoss: false };
    const store = new Proxy(grid.store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "writeChunks")
          return async (writes: Parameters<typeof target.writeChunks>[0]) => {
            const results = await target.writeChunks(writes);
            if (!state.loseNextWrite) return results;
            state.loseNextWrite = false;
            state.blind = state.blindAfterLoss;
            return results.map(() => "error" as const); // landed, answer lost
          };
        if (prop === "getChunks")
          return (...args: Parameters<typeof target.getChunks>) =>
            state.blind ? Promise.reject(new TransientError("read failed")) : target.getChunks(...args);
        return value.bind(target);
      },
    });
    return { grid, ports: { ...grid, store }, state };
  };

  it("is read back at once: the lease is this worker's and its task runs, charged once", async () => {
    const { grid, ports } = lossy();
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { maxAttempts: 1 } });
    await submitTasks(grid, key, { tasks: [{ index: 0, payload: "x" }] });
    const d = new Dispatcher(ports, { owner: "w", runner: upper });
    await d.accept(QUEUE, await grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 }));
    await d.drain();
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1, result: "X" });
  });

  it("is read back at the next heartbeat when the read-back failed too, and runs then", async () => {
    const { grid, ports, state } = lossy();
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { maxAttempts: 1 } });
    await submitTasks(grid, key, { tasks: [{ index: 0, payload: "y" }] });
    const d = new Dispatcher(ports, { owner: "w", runner: upper });
    state.blindAfterLoss = true;
    await d.accept(QUEUE, await grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 }));
    expect(d.heldLeases).toBe(0);
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "LEASED", owner: "w" });
    state.blind = false;
    await d.heartbeat();
    await d.drain();
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1, result: "Y" });
  });
});
