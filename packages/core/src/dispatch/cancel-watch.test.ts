import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { ABANDON_GRACE_MS, Dispatcher, type TaskRunner } from "./dispatcher.ts";
import { getSessionProgress } from "./progress.ts";
import { Semaphore } from "./semaphore.ts";
import { cancelSession, createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { cancelTask, getTask } from "./tasks.ts";
import { processBatch } from "./worker-loop.ts";

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "cw" };
const flush = () => new Promise((r) => setImmediate(r));

/** Two running tasks (one chunk of two) under the default 60 s lease. */
async function running(runner: (clock: FakeClock) => TaskRunner) {
  const grid = memoryGrid();
  const clock = grid.clock as FakeClock;
  await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 2 } });
  await submitTasks(grid, key, { tasks: [{ index: 0 }, { index: 1 }] });
  const reads = { sessions: 0 };
  const getSession = grid.store.getSession.bind(grid.store);
  grid.store.getSession = (k) => {
    reads.sessions++;
    return getSession(k);
  };
  const d = new Dispatcher(grid, { owner: "w", runner: runner(clock) });
  await d.accept(QUEUE, await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }));
  await flush();
  clock.advance(5_000); // well into the run, far from the heartbeat at a third of the lease
  await flush();
  /** A second of the worker's life: the clock moves and its heartbeat pass runs. */
  const second = async () => {
    clock.advance(1_000);
    await flush();
    await d.heartbeat();
    await flush();
  };
  return { grid, clock, d, reads, second };
}

const cooperative =
  (ms: number) =>
  (clock: FakeClock): TaskRunner =>
  async (t) => {
    await clock.sleep(ms, t.signal);
    return "ok";
  };

describe("cancel watch", () => {
  it("stops a running task within two seconds of its cancel, whatever the lease", async () => {
    const stopped: number[] = [];
    const runner =
      (clock: FakeClock): TaskRunner =>
      async (t) => {
        try {
          await clock.sleep(t.index === 1 ? 120_000 : 30_000, t.signal);
        } catch (error) {
          stopped.push(t.index);
          throw error;
        }
        return "ok";
      };
    const { grid, clock, d, second } = await running(runner);
    await cancelTask(grid, key, 1);
    await second();
    await second();
    expect(stopped).toEqual([1]); // aborted within two seconds; its sibling runs on
    // Committed at once, not when the chunk's last run ends.
    expect(await getTask(grid, key, 1)).toMatchObject({ status: "CANCELLED" });
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "LEASED" });
    clock.advance(30_000);
    await d.drain();
    expect(await getTask(grid, key, 1)).toMatchObject({ status: "CANCELLED" });
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "SUCCEEDED" });
  });

  it("stops every running task of a cancelled session within two seconds", async () => {
    const { grid, d, second } = await running(cooperative(120_000));
    await cancelSession(grid, key);
    await second();
    await second();
    await d.drain();
    const p = await getSessionProgress(grid, key);
    expect(p.counts).toMatchObject({ total: 2, cancelled: 2 });
    expect(p.settled).toBe(true);
  });

  it("abandons a task that ignores its cancel, so its session settles", async () => {
    const hung = () => (): Promise<string> => new Promise(() => {}); // never settles, never listens
    const { grid, clock, d, second } = await running(hung);
    await cancelSession(grid, key);
    await second(); // the watch aborts both runs: they ignore it
    await second(); // the sweep sees them still running
    clock.advance(ABANDON_GRACE_MS);
    await d.heartbeat(); // … and gives up on them
    await d.drain();
    const p = await getSessionProgress(grid, key);
    expect(p.counts).toMatchObject({ cancelled: 2 });
    expect(p.settled).toBe(true);
  });

  it("costs one session read a second while nothing is cancelled, and no chunk re-read", async () => {
    const { grid, d, reads, second } = await running(cooperative(120_000));
    const getChunks = grid.store.getChunks.bind(grid.store);
    let chunkReads = 0;
    grid.store.getChunks = (keys) => {
      chunkReads++;
      return getChunks(keys);
    };
    reads.sessions = 0;
    for (let s = 0; s < 10; s++) await second();
    expect(reads.sessions).toBe(10);
    expect(chunkReads).toBe(0);
    expect(d.heldLeases).toBe(1);
  });
});

describe("stopping, past the review", () => {
  it("returns a Lambda batch in time though a task ignores its deadline abort", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 0 }] });
    const d = new Dispatcher(grid, { owner: "l", runner: () => new Promise(() => {}), ackMode: "report" });
    const tickets = await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    let returned = false;
    const batch = processBatch(grid, d, QUEUE, tickets, { deadline: clock.now() + 5_000 }).then((r) => {
      returned = true;
      return r;
    });
    for (let s = 0; s < 40 && !returned; s++) {
      clock.advance(250);
      await flush();
      await flush();
    }
    expect(returned).toBe(true);
    expect((await batch).failedReceipts).toHaveLength(1); // not acknowledged: it runs again later
  });

  it("bumps the cancel epoch on a retried cancel whose first bump failed", async () => {
    const { grid, second } = await running(cooperative(120_000));
    const writeSession = grid.store.writeSession.bind(grid.store);
    let failed = false;
    grid.store.writeSession = async (...args) => {
      if (!failed) {
        failed = true;
        throw new Error("throttled");
      }
      return writeSession(...args);
    };
    await expect(cancelTask(grid, key, 1)).rejects.toThrow("throttled");
    await cancelTask(grid, key, 1); // the client retries
    await second();
    expect(await getTask(grid, key, 1)).toMatchObject({ status: "CANCELLED" });
  });

  it("stops a cancelled run's wait for a slot", async () => {
    const slots = new Semaphore(1);
    expect(await slots.acquire()).toBe(true);
    const cancel = new AbortController();
    const waiting = slots.acquire(cancel.signal);
    cancel.abort();
    expect(await waiting).toBe(false);
    slots.release();
    expect(await slots.acquire()).toBe(true); // the aborted waiter took no permit
  });
});
