/** Task logs: each line task code logs reaches the worker's sink as an entry with the task's ids. */
import type { TaskContext } from "@tessera/core";
import { describe, expect, it } from "vitest";
import { isolatedTaskRunner } from "../src/isolated-runner.ts";
import { collectTasks, taskRunner } from "../src/task-definition.ts";
import { formatLogEntry, type TaskLogEntry } from "../src/task-log.ts";
import * as fixtures from "./fixtures/stubborn-tasks.ts";

const modules = [new URL("./fixtures/stubborn-tasks.ts", import.meta.url).pathname];
const entry = new URL("./fixtures/task-entry.ts", import.meta.url).href;

const task = (handler: string, payload: unknown): TaskContext => ({
  tenant: "acme",
  sessionId: "3f2a9c1e-logs",
  taskId: "17",
  index: 17,
  attempt: 2,
  maxAttempts: 3,
  handler,
  payload: JSON.stringify(payload),
  signal: new AbortController().signal,
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What every entry of `chatty` at index 17, attempt 2 carries. */
const ids = {
  tenant: "acme",
  session: "3f2a9c1e-logs",
  index: 17,
  attempt: 2,
  handler: "chatty",
  taskId: "17",
};

describe("task logs", () => {
  it("in the task's thread: entries reach the sink with the task's ids, debug dropped", async () => {
    const entries: TaskLogEntry[] = [];
    const threads = isolatedTaskRunner(modules, { threads: 1, logSink: (e) => entries.push(e) });
    try {
      expect(await threads.run(task("chatty", { x: 3 }))).toBe("9");
      await until(() => entries.length === 2);
      expect(entries[0]).toMatchObject({ ...ids, level: "info", message: "squaring", x: 3 });
      expect(entries[1]).toMatchObject({ ...ids, level: "error", error: { name: "Error", message: "boom" } });
      expect(Date.parse(entries[0]!.time)).not.toBeNaN();
      expect(await threads.run(task("square", { x: 2 }))).toBe('{"y":4}');
      await new Promise((r) => setTimeout(r, 100));
      expect(entries).toHaveLength(2); // a task that logs nothing sends nothing
    } finally {
      await threads.close();
    }
  });

  it("in threads that load an entry module, at the level asked for", async () => {
    const entries: TaskLogEntry[] = [];
    const threads = isolatedTaskRunner(
      { entry, exportName: "taskThread" },
      { threads: 1, logSink: (e) => entries.push(e), logLevel: "debug" },
    );
    try {
      await threads.ready();
      expect(await threads.run(task("chatty", { x: 4 }))).toBe("16");
      await until(() => entries.length === 3);
      expect(entries.map((e) => e.level)).toEqual(["debug", "info", "error"]);
      expect(entries[1]).toMatchObject({ ...ids, message: "squaring", x: 4 });
    } finally {
      await threads.close();
    }
  });

  it("in process: the runner's sink, and a readable line for screens", async () => {
    const entries: TaskLogEntry[] = [];
    const run = taskRunner(collectTasks(fixtures), { logSink: (e) => entries.push(e), logLevel: "warn" });
    await run(task("chatty", { x: 5 }));
    expect(entries.map((e) => e.message)).toEqual(["odd input"]);
    expect(formatLogEntry({ ...entries[0]!, time: "2026-12-01T12:00:01.000Z" })).toBe(
      '12:00:01 error 3f2a9c1e #17 a2 chatty  odd input x=5 error="Error: boom"',
    );
  });
});
