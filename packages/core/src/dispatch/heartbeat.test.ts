import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import type { ChunkWrite } from "../ports/task-store.ts";
import type { VisibilityChange } from "../ports/ticket-queue.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { Dispatcher, type TaskRunner } from "./dispatcher.ts";
import { ResultsReader } from "./results-reader.ts";
import { createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { cancelTask, getTask } from "./tasks.ts";

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "hb" };

/** A memory grid whose chunk writes and visibility calls are recorded per call. */
async function setup(leaseMs: number, chunks: number) {
  const grid = memoryGrid();
  const writeCalls: ChunkWrite[][] = [];
  const visibilityCalls: VisibilityChange[][] = [];
  const writeChunks = grid.store.writeChunks.bind(grid.store);
  grid.store.writeChunks = (writes) => {
    writeCalls.push([...writes]);
    return writeChunks(writes);
  };
  const setVisibility = grid.queue.setVisibility.bind(grid.queue);
  grid.queue.setVisibility = (queue, changes) => {
    visibilityCalls.push([...changes]);
    return setVisibility(queue, changes);
  };
  await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { leaseMs, chunkMaxTasks: 2 } });
  await submitTasks(grid, key, {
    tasks: Array.from({ length: chunks * 2 }, (_, i) => ({ index: i, payload: "p" })),
  });
  return { grid, clock: grid.clock as FakeClock, writeCalls, visibilityCalls };
}

const sleeper =
  (clock: FakeClock, ms: number): TaskRunner =>
  async (t) => {
    await clock.sleep(ms, t.signal);
    return "ok";
  };

const flush = () => new Promise((r) => setImmediate(r));

describe("heartbeats", () => {
  it("cost nothing for a task shorter than a third of its lease", async () => {
    const { grid, clock, writeCalls, visibilityCalls } = await setup(60_000, 3);
    const d = new Dispatcher(grid, { owner: "w", runner: sleeper(clock, 15_000) });
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await flush();
    const claims = writeCalls.length;
    for (let s = 0; s < 15; s++) {
      clock.advance(1_000);
      await flush();
      expect(await d.heartbeat()).toBe(0);
    }
    clock.advance(1_000);
    await d.drain();
    expect((await new ResultsReader(grid, key).poll()).filter((o) => o.status === "SUCCEEDED")).toHaveLength(
      6,
    );
    const heartbeatWrites = writeCalls
      .slice(claims)
      .filter((call) => call.some((w) => w.completion === undefined));
    expect(heartbeatWrites).toEqual([]);
    expect(visibilityCalls).toEqual([]);
  });

  it("extend long leases and ticket visibility in one batch each", async () => {
    const { grid, clock, writeCalls, visibilityCalls } = await setup(30_000, 3);
    const d = new Dispatcher(grid, { owner: "w", runner: sleeper(clock, 100_000) });
    // Received hidden for the lease and its margin: the claim has no visibility to re-time.
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 32 }),
      { visibilitySeconds: 32 },
    );
    const before = writeCalls.length;
    clock.advance(10_001);
    await flush();
    expect(await d.heartbeat()).toBe(3);
    expect(writeCalls.length).toBe(before + 1);
    expect(writeCalls.at(-1)).toHaveLength(3);
    await d.acker.flush();
    expect(visibilityCalls).toHaveLength(1);
    expect(visibilityCalls[0]).toHaveLength(3);
    const view = await getTask(grid, key, 0);
    expect(view.leaseExpiresAt).toBe(clock.now() + 30_000);
    expect(await d.heartbeat()).toBe(0); // just extended: nothing due
  });

  it("abort a running task whose cancellation was requested, at the next heartbeat", async () => {
    const { grid, clock } = await setup(30_000, 1);
    let aborted: unknown;
    const runner: TaskRunner = async (t) => {
      try {
        await clock.sleep(100_000, t.signal);
      } catch (e) {
        aborted = t.signal.reason;
        throw e;
      }
      return "finished";
    };
    const d = new Dispatcher(grid, { owner: "w", runner });
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await flush();
    await cancelTask(grid, key, 0);
    expect((await getTask(grid, key, 0)).cancelRequested).toBe(true);
    expect(aborted).toBeUndefined();
    clock.advance(10_000);
    await flush();
    await d.heartbeat();
    await flush();
    expect(aborted).toBe("cancelled");
    clock.advance(100_000); // task 1 of the chunk finishes normally
    await d.drain();
    const outcomes = await new ResultsReader(grid, key).poll();
    expect(outcomes.find((o) => o.index === 0)).toMatchObject({ status: "CANCELLED" });
    expect(outcomes.find((o) => o.index === 1)).toMatchObject({ status: "SUCCEEDED", result: "finished" });
  });

  it("give up a lease taken over by another worker: its late results are discarded", async () => {
    const { grid, clock } = await setup(6_000, 1);
    const slow = new Dispatcher(grid, { owner: "slow", runner: sleeper(clock, 20_000) });
    await slow.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 7 }),
    );
    clock.advance(8_000); // no heartbeat: the lease expires and the ticket reappears
    await flush();
    const fast = new Dispatcher(grid, { owner: "fast", runner: async () => "fast" });
    await fast.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await fast.drain();
    clock.advance(20_000);
    await slow.drain();
    const view = await getTask(grid, key, 0);
    // The slow worker's run was never committed: only the fast one's is charged.
    expect(view).toMatchObject({ status: "SUCCEEDED", result: "fast", attempt: 1 });
  });
});

describe("runs waiting for a slot", () => {
  it("never start once their cancellation reached the worker", async () => {
    const { grid, clock } = await setup(30_000, 1);
    const invoked: number[] = [];
    const runner: TaskRunner = async (t) => {
      invoked.push(t.index);
      await clock.sleep(20_000, t.signal);
      return "ran";
    };
    const d = new Dispatcher(grid, { owner: "w", runner, concurrency: 1 });
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await flush();
    expect(invoked).toEqual([0]); // task 1 waits for the only slot
    await cancelTask(grid, key, 1);
    clock.advance(10_000);
    await flush();
    await d.heartbeat();
    clock.advance(10_000);
    await d.drain();
    expect(invoked).toEqual([0]);
    const outcomes = await new ResultsReader(grid, key).poll();
    expect(outcomes.find((o) => o.index === 1)).toMatchObject({ status: "CANCELLED" });
    expect(outcomes.find((o) => o.index === 0)).toMatchObject({ status: "SUCCEEDED" });
  });
});
