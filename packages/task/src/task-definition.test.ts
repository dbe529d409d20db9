import type { TaskContext } from "@tessera/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { collectTasks, defineTask, taskRunner } from "./task-definition.ts";

const add = defineTask("add", z.object({ a: z.number(), b: z.number() }), ({ a, b }) => a + b);
const hello = defineTask("hello", z.string().optional(), (name = "world") => `hello ${name}`);

const context = (handler: string | undefined, payload: string | null): TaskContext => ({
  tenant: "t",
  sessionId: "s",
  taskId: "0",
  index: 0,
  attempt: 1,
  maxAttempts: 3,
  handler,
  payload,
  signal: new AbortController().signal,
});

describe("task definitions", () => {
  const run = taskRunner(collectTasks({ add, hello, notATask: 42 }), { defaultTask: "hello" });

  it("validates the input, runs the task and returns its output as JSON", async () => {
    await expect(run(context("add", '{"a":2,"b":3}'))).resolves.toBe("5");
    await expect(run(context(undefined, '"tessera"'))).resolves.toBe('"hello tessera"');
    await expect(run(context("hello", null))).resolves.toBe('"hello world"');
  });

  it("fails with the field named when the input does not match", async () => {
    await expect(run(context("add", '{"a":2,"b":"3"}'))).rejects.toThrow(/^input\.b: /);
    await expect(run(context("add", "{not json"))).rejects.toThrow("input: payload is not valid JSON");
  });

  it("fails a task naming a handler this worker does not have, listing the ones it has", async () => {
    await expect(run(context("mul", "{}"))).rejects.toThrow(
      'unknown task "mul" (this worker knows: add, hello)',
    );
    const strict = taskRunner(collectTasks([add]));
    await expect(strict(context(undefined, "{}"))).rejects.toThrow(/named no handler/);
  });

  it("rejects bad names and two tasks with one name", () => {
    expect(() => defineTask("no spaces", z.unknown(), () => 1)).toThrow(/task name/);
    const twin = defineTask("add", z.unknown(), () => 0);
    expect(() => collectTasks({ add }, { twin })).toThrow('two task definitions are named "add"');
  });
});
