/**
 * The dashboard's task reads (failures by code, task lists by status, slowest first) on both
 * task stores: the memory one and DynamoDB Local, driven by the same fake clock.
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import { FakeClock } from "../adapters/memory/clocks.ts";
import { Limits } from "../model/limits.ts";
import { type AwsTestGrid, provisionTestGrid } from "../testing/aws-test-grid.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { Dispatcher } from "./dispatcher.ts";
import { summarizeFailures } from "./failures.ts";
import type { GridPorts } from "./grid-ports.ts";
import { cancelSession, createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { listTasks } from "./task-list.ts";
import { getTask } from "./tasks.ts";

const QUEUE = "default-normal";
const aws: AwsTestGrid[] = [];
afterAll(() => {
  for (const g of aws.splice(0)) g.close();
});

const grids: [string, (clock: FakeClock) => Promise<GridPorts>][] = [
  ["memory", async (clock) => memoryGrid({ clock })],
  [
    "DynamoDB Local",
    async (clock) => {
      const g = await provisionTestGrid(inject("emulators"), { clock });
      aws.push(g);
      return g.ports;
    },
  ],
];

/**
 * A session of 10 one-task chunks: task i runs i×100 ms (fake clock); tasks 1, 5 and 9 fail with
 * HANDLER_ERROR, task 7 with RESULT_TOO_LARGE; task 2 fails its first attempt only. Tasks run
 * one at a time, so each run's duration is exact.
 */
async function ranSession(make: (clock: FakeClock) => Promise<GridPorts>) {
  const clock = new FakeClock();
  const ports = await make(clock);
  const key = { tenant: "acme", sessionId: "reads" };
  await createSession(ports, key.tenant, {
    sessionId: key.sessionId,
    config: { chunkMaxTasks: 1, maxAttempts: 2, backoffBaseMs: 0, backoffMaxMs: 0 },
  });
  await submitTasks(ports, key, {
    handler: "h",
    tasks: Array.from({ length: 10 }, (_, index) => ({ index })),
  });
  const d = new Dispatcher(ports, {
    owner: "w",
    runner: async ({ index, attempt }) => {
      clock.advance(index * 100);
      if (index === 7) return "x".repeat(Limits.MAX_TASK_BYTES + 1);
      if (index % 4 === 1) throw new Error(`boom ${index}`);
      if (index === 2 && attempt === 1) throw new Error("flaky");
      return "ok";
    },
  });
  // Retries come back at once (no backoff), on the emulator after its own short delay.
  for (let turn = 0; turn < 100; turn++) {
    const c = await ports.store.getCounters(key);
    if (c.succeeded + c.failed + c.cancelled === 10) break;
    const tickets = await ports.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 });
    if (tickets.length === 0) {
      clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    await d.accept(QUEUE, tickets);
    await d.drain();
  }
  return { ports, key, clock };
}

describe.each(grids)("task reads (%s)", (_name, make) => {
  it("groups failures by code with their first message and ids, and counts retried tasks", async () => {
    const { ports, key } = await ranSession(make);
    const f = await summarizeFailures(ports, key, { maxGroups: 10 });
    expect(f).toEqual({
      groups: [
        { code: "HANDLER_ERROR", count: 3, firstMessage: "boom 1", taskIds: ["1", "5", "9"] },
        {
          code: "RESULT_TOO_LARGE",
          count: 1,
          firstMessage: `result exceeds ${Limits.MAX_TASK_BYTES} bytes`,
          taskIds: ["7"],
        },
      ],
      totalFailed: 4,
      // 1, 5, 7 and 9 used both attempts; 2 needed a second.
      retried: 5,
      complete: true,
    });
    expect((await summarizeFailures(ports, key, { maxGroups: 1 })).groups.map((g) => g.code)).toEqual([
      "HANDLER_ERROR",
    ]);
  });

  it("lists tasks by status in index order, page by page, with outcome details", async () => {
    const { ports, key } = await ranSession(make);
    const first = await listTasks(ports, key, { status: "SUCCEEDED", order: "index", limit: 3 });
    expect(first.tasks.map((t) => t.taskId)).toEqual(["0", "2", "3"]);
    expect(first.tasks[1]).toMatchObject({ status: "SUCCEEDED", attempt: 2, handler: "h", durationMs: 200 });
    expect(first.tasks[1]!.finishedAt).toEqual(expect.any(Number));
    const rest = await listTasks(ports, key, {
      status: "SUCCEEDED",
      order: "index",
      limit: 10,
      after: Number(first.next),
    });
    expect(rest.tasks.map((t) => t.taskId)).toEqual(["4", "6", "8"]);
    expect(rest.next).toBeUndefined();
    const failed = await listTasks(ports, key, { status: "FAILED", order: "index", limit: 10 });
    expect(failed.tasks[0]).toMatchObject({
      taskId: "1",
      error: { code: "HANDLER_ERROR", message: "boom 1" },
    });
  });

  it("shows a retried task's earlier failed runs, with their errors, worker and durations", async () => {
    const { ports, key } = await ranSession(make);
    const run = (attempt: number, error?: { code: string; message: string }) => ({
      attempt,
      startedAt: expect.any(Number),
      endedAt: expect.any(Number),
      durationMs: 200,
      worker: "w",
      error,
    });
    // Task 2 failed once, then succeeded; task 5 failed both runs; task 0 ran once.
    expect((await getTask(ports, key, 2)).attempts).toEqual([
      run(1, { code: "HANDLER_ERROR", message: "flaky" }),
      run(2),
    ]);
    const five = (await getTask(ports, key, 5)).attempts;
    expect(five.map((a) => [a.attempt, a.error?.message, a.durationMs])).toEqual([
      [1, "boom 5", 500],
      [2, "boom 5", 500],
    ]);
    expect(five[0]!.endedAt!).toBeLessThanOrEqual(five[1]!.startedAt!);
    expect((await getTask(ports, key, 0)).attempts.map((a) => a.attempt)).toEqual([1]);
  });

  it("ranks finished tasks slowest first by their last run's duration", async () => {
    const { ports, key } = await ranSession(make);
    const all = await listTasks(ports, key, { order: "slowest", limit: 3 });
    expect(all).toMatchObject({ complete: true });
    expect(all.tasks.map((t) => [t.taskId, t.durationMs])).toEqual([
      ["9", 900],
      ["8", 800],
      ["7", 700],
    ]);
    expect(all.tasks[0]).toMatchObject({ status: "FAILED", handler: "h" });
    const ok = await listTasks(ports, key, { status: "SUCCEEDED", order: "slowest", limit: 2 });
    expect(ok.tasks.map((t) => t.taskId)).toEqual(["8", "6"]);
    await expect(
      listTasks(ports, key, { status: "QUEUED", order: "slowest", limit: 2 }),
    ).rejects.toMatchObject({
      field: "order",
    });
  });

  it("lists queued and cancelled tasks, which carry no duration", async () => {
    const clock = new FakeClock();
    const ports = await make(clock);
    const key = { tenant: "acme", sessionId: "waiting" };
    await createSession(ports, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 2 } });
    await submitTasks(ports, key, { tasks: Array.from({ length: 5 }, (_, index) => ({ index })) });
    const queued = await listTasks(ports, key, { status: "QUEUED", order: "index", limit: 10 });
    expect(queued.tasks).toEqual(
      [0, 1, 2, 3, 4].map((i) => ({ taskId: String(i), status: "QUEUED", attempt: 0, handler: undefined })),
    );
    await cancelSession(ports, key);
    const cancelled = await listTasks(ports, key, { status: "CANCELLED", order: "index", limit: 10 });
    expect(cancelled.tasks).toHaveLength(5);
    expect(cancelled.tasks[0]).toMatchObject({ error: { code: "CANCELLED" }, durationMs: undefined });
    expect((await listTasks(ports, key, { order: "slowest", limit: 10 })).tasks).toEqual([]);
  });
});
