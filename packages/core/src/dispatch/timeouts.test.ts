import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { ErrorCode } from "../errors.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { Dispatcher, type TaskRunner } from "./dispatcher.ts";
import { createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { getTask } from "./tasks.ts";

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "to" };
const flush = () => new Promise((r) => setImmediate(r));

/** Runs the queue's tasks on one worker, a second of its life at a time, for `seconds`. */
async function run(
  runner: (clock: FakeClock) => TaskRunner,
  seconds: number,
  batch: Record<string, unknown> = {},
) {
  const grid = memoryGrid();
  const clock = grid.clock as FakeClock;
  await createSession(grid, key.tenant, {
    sessionId: key.sessionId,
    config: { taskTimeoutMs: 10_000, maxAttempts: 2, backoffBaseMs: 0, backoffMaxMs: 0 },
  });
  await submitTasks(grid, key, { tasks: [{ index: 0 }], ...batch });
  const d = new Dispatcher(grid, { owner: "w", runner: runner(clock) });
  for (let s = 0; s < seconds; s++) {
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await flush();
    clock.advance(1_000);
    await flush();
    await d.heartbeat();
    await flush();
  }
  return { grid, d };
}

describe("task timeouts", () => {
  it("stops a run past its timeout: the attempt fails with TIMEOUT and is retried, then FAILED", async () => {
    const slow =
      (clock: FakeClock): TaskRunner =>
      async (t) => {
        await clock.sleep(60_000, t.signal);
        return "late";
      };
    const { grid } = await run(slow, 30);
    const task = await getTask(grid, key, 0);
    expect(task).toMatchObject({ status: "FAILED", attempt: 2, error: { code: "TIMEOUT" } });
    expect(task.error?.message).toMatch(/ran past its timeout of 10000 ms/);
  });

  it("ends a task that ignores its timeout too (abandoned), so its session goes on", async () => {
    const hung = (): TaskRunner => () => new Promise(() => {});
    const { grid } = await run(hung, 30);
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "FAILED", error: { code: "TIMEOUT" } });
  });

  it("takes a batch's own timeout over the session's, and a quick task is untouched", async () => {
    const twelve =
      (clock: FakeClock): TaskRunner =>
      async (t) => {
        await clock.sleep(12_000, t.signal);
        return "done";
      };
    const longer = await run(twelve, 20, { timeoutMs: 20_000 });
    expect(await getTask(longer.grid, key, 0)).toMatchObject({ status: "SUCCEEDED", result: "done" });
    const shorter = await run(twelve, 30);
    expect(await getTask(shorter.grid, key, 0)).toMatchObject({ error: { code: "TIMEOUT" } });
  });

  it("refuses a timeout out of bounds, naming the field", async () => {
    const grid = memoryGrid();
    await expect(
      createSession(grid, key.tenant, { sessionId: key.sessionId, config: { taskTimeoutMs: 10 } }),
    ).rejects.toMatchObject({ code: ErrorCode.VALIDATION, field: "config.taskTimeoutMs" });
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await expect(submitTasks(grid, key, { timeoutMs: 0, tasks: [{ index: 0 }] })).rejects.toMatchObject({
      code: ErrorCode.VALIDATION,
      field: "timeoutMs",
    });
  });
});
