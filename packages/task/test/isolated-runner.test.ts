/** Task code in worker threads: stopped by its cancel or timeout, whatever it does. */
import { cancelTask, createSession, Dispatcher, getTask, submitTasks } from "@tessera/core";
import { realtimeMemoryGrid } from "@tessera/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { isolatedTaskRunner } from "../src/isolated-runner.ts";

const modules = [new URL("./fixtures/stubborn-tasks.ts", import.meta.url).pathname];
const isolated = isolatedTaskRunner(modules, { threads: 2 });
afterAll(() => isolated.close());

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "iso" };
const task = (handler: string, payload: unknown, signal = new AbortController().signal) => ({
  tenant: "acme",
  sessionId: "iso",
  taskId: "0",
  index: 0,
  attempt: 1,
  maxAttempts: 1,
  handler,
  payload: JSON.stringify(payload),
  signal,
});

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await check()); ) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("isolated task runner", () => {
  it("runs tasks in threads and passes their errors back", async () => {
    expect(await isolated.run(task("square", { x: 7 }))).toBe('{"y":49}');
    await expect(isolated.run(task("nope", {}))).rejects.toThrow(/unknown task "nope"/);
    await expect(isolated.run(task("square", { x: "7" }))).rejects.toThrow(/input\.x/);
  });

  it("stops a task that spins the CPU when its run is aborted, and goes on with others", async () => {
    const stop = new AbortController();
    const spinning = isolated.run(task("spin", {}, stop.signal));
    expect(await isolated.run(task("square", { x: 3 }))).toBe('{"y":9}'); // the other thread
    stop.abort(new Error("cancelled"));
    await expect(spinning).rejects.toThrow();
    expect(await isolated.run(task("square", { x: 4 }))).toBe('{"y":16}'); // a fresh thread
  });

  it("fires the task's own AbortSignal in its thread, so a task can stop cleanly", async () => {
    const stop = new AbortController();
    const tidy = isolated.run(task("tidy", {}, stop.signal));
    await new Promise((r) => setTimeout(r, 200)); // running in its thread
    stop.abort("cancelled");
    await expect(tidy).rejects.toThrow("stopped cleanly: cancelled");
    expect(await isolated.run(task("square", { x: 5 }))).toBe('{"y":25}');
  });

  it("on a worker, ends spinning and hung tasks at their cancel and timeout while the rest commit", async () => {
    const grid = realtimeMemoryGrid();
    await createSession(grid, key.tenant, {
      sessionId: key.sessionId,
      config: { chunkMaxTasks: 1, maxAttempts: 1 },
    });
    await submitTasks(grid, key, { handler: "spin", timeoutMs: 1_500, tasks: [{ index: 0 }] });
    await submitTasks(grid, key, { handler: "hang", tasks: [{ index: 1 }] });
    await submitTasks(grid, key, {
      handler: "square",
      tasks: [2, 3, 4].map((index) => ({ index, payload: JSON.stringify({ x: index }) })),
    });
    const worker = new Dispatcher(grid, { owner: "w", runner: isolated.run, concurrency: 2 });
    const stop = new AbortController();
    const loop = (async () => {
      while (!stop.signal.aborted) {
        const tickets = await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
        if (tickets.length > 0) await worker.accept(QUEUE, tickets);
        await new Promise((r) => setTimeout(r, 200));
        await worker.heartbeat();
      }
    })();
    try {
      await until(async () => (await getTask(grid, key, 1)).status === "LEASED");
      await cancelTask(grid, key, 1);
      await until(async () => (await getTask(grid, key, 0)).status === "FAILED");
      expect(await getTask(grid, key, 0)).toMatchObject({ error: { code: "TIMEOUT" } });
      await until(async () => (await getTask(grid, key, 1)).status === "CANCELLED");
      await until(async () => {
        const rest = await Promise.all([2, 3, 4].map((i) => getTask(grid, key, i)));
        return rest.every((t) => t.status === "SUCCEEDED");
      });
    } finally {
      stop.abort();
      await loop;
    }
  });
});

describe("task threads that load an entry module", () => {
  const entry = new URL("./fixtures/task-entry.ts", import.meta.url).href;

  it("hand back the task function there, and nothing in the main thread", async () => {
    const { taskThread } = (await import(/* @vite-ignore */ entry)) as { taskThread: unknown };
    expect(taskThread).toBe("main thread");
    const threads = isolatedTaskRunner({ entry, exportName: "taskThread" }, { threads: 1 });
    try {
      await threads.ready();
      expect(await threads.run(task("square", { x: 6 }))).toBe('{"y":36}');
      // The entry's options reach its threads: a batch naming no handler runs its default task.
      expect(await threads.run({ ...task("square", { x: 2 }), handler: undefined })).toBe('{"y":4}');
      const stop = new AbortController();
      const spinning = threads.run(task("spin", {}, stop.signal));
      await new Promise((r) => setTimeout(r, 200));
      stop.abort(new Error("cancelled"));
      await expect(spinning).rejects.toThrow();
      expect(await threads.run(task("square", { x: 3 }))).toBe('{"y":9}'); // a fresh thread
    } finally {
      await threads.close();
    }
  });
});
