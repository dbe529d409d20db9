import { decodeTicket } from "@tessera/core";
import { defineTask } from "@tessera/task";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createObservability } from "../src/observability.ts";
import { createWorkerHandler } from "../src/worker.ts";
import { type Harness, harness, lambdaContext } from "./harness.ts";

const runs = new Map<string, number>();
const count = (key: string) => runs.set(key, (runs.get(key) ?? 0) + 1);
let sawAbort: unknown;

const flaky = defineTask("flaky", z.object({ fail: z.boolean() }), ({ fail }, ctx) => {
  count(`${ctx.sessionId}/${ctx.taskId}`);
  if (fail) throw new Error(`boom on attempt ${ctx.attempt}`);
  return "fine";
});

const waitForCancel = defineTask("wait-for-cancel", z.unknown(), (_input, { signal }) => {
  return new Promise((_resolve, reject) => {
    signal.addEventListener("abort", () => {
      sawAbort = signal.reason;
      reject(new Error("stopped"));
    });
  });
});

const slowEcho = defineTask("slow-echo", z.number(), async (x, ctx) => {
  count(`${ctx.sessionId}/${ctx.taskId}`);
  await new Promise((r) => setTimeout(r, 300));
  return x;
});

const logged = defineTask("logged", z.object({ x: z.number() }), ({ x }, ctx) => {
  ctx.logger.debug("dropped at the default level");
  ctx.logger.info("squaring", { x });
  return x * x;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("worker function", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness([flaky, waitForCancel, slowEcho, logged]);
  });
  afterAll(() => h.close());

  const session = async (
    sessionId: string,
    config: Record<string, unknown>,
    handler: string,
    payloads: unknown[],
  ) => {
    await h.call("POST", "/sessions", { body: { sessionId, config: { chunkMaxTasks: 1, ...config } } });
    const tasks = payloads.map((p, index) => ({ index, payload: JSON.stringify(p) }));
    const submitted = await h.call("POST", `/sessions/${sessionId}/tasks`, { body: { handler, tasks } });
    expect(submitted.status).toBe(200);
  };
  const status = async (sessionId: string, taskId: number) =>
    (await h.call("GET", `/sessions/${sessionId}/tasks/${taskId}`)).body;

  it("reports only the tickets it did not finish as batch item failures", async () => {
    await session("partial", { backoffBaseMs: 60_000 }, "flaky", [
      { fail: false },
      { fail: true },
      { fail: false },
    ]);
    const { event, response } = await h.deliver();
    expect(event.Records).toHaveLength(3);
    const failing = event.Records.find((r) => decodeTicket(r.body)?.start === 1)!;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: failing.messageId }]);
    expect((await status("partial", 0)).status).toBe("SUCCEEDED");
    expect(await status("partial", 1)).toMatchObject({ status: "QUEUED", attempt: 1 });
  });

  it("retries a failing task up to maxAttempts and records it as FAILED with the error", async () => {
    await session("retry", { maxAttempts: 2, backoffBaseMs: 0, backoffMaxMs: 0 }, "flaky", [{ fail: true }]);
    for (let i = 0; i < 10 && (await status("retry", 0)).status !== "FAILED"; i++) await h.deliver();
    expect(await status("retry", 0)).toMatchObject({
      status: "FAILED",
      attempt: 2,
      error: { code: "HANDLER_ERROR", message: "boom on attempt 2" },
    });
    expect(runs.get("retry/0")).toBe(2);
    // Started, retried and failed are counted as EMF metrics, with each run's duration.
    expect(h.workerMetrics.get("TasksRetried")).toBeGreaterThanOrEqual(1);
    expect(h.workerMetrics.get("TasksFailed")).toBeGreaterThanOrEqual(1);
    expect(h.workerMetrics.get("TasksStarted")).toBeGreaterThanOrEqual(4);
    expect(h.workerMetrics.get("TaskDurationMs")).toBeGreaterThanOrEqual(0);
    expect(h.workerMetrics.get("TasksSucceeded")).toBeGreaterThanOrEqual(2);
    const results = await h.call("GET", "/sessions/retry/results");
    expect(results.body.results).toEqual([
      {
        taskId: "0",
        status: "FAILED",
        attempt: 2,
        error: { code: "HANDLER_ERROR", message: "boom on attempt 2" },
      },
    ]);
  });

  it("fails a task whose input does not match its schema, naming the field", async () => {
    await session("schema", { maxAttempts: 1 }, "flaky", [{ fail: "yes" }]);
    await h.deliver();
    expect((await status("schema", 0)).error.message).toMatch(/^input\.fail: /);
  });

  it("aborts a running handler when its task is cancelled", async () => {
    sawAbort = undefined;
    await session("cancel", { leaseMs: 1_500 }, "wait-for-cancel", [null]);
    const delivery = h.deliver();
    for (let i = 0; i < 100 && (await status("cancel", 0)).status !== "LEASED"; i++) await sleep(50);
    const cancelled = await h.call("POST", "/sessions/cancel/tasks/0/cancel");
    expect(cancelled.body).toMatchObject({ status: "LEASED", cancelRequested: true });
    const { response } = await delivery;
    expect(sawAbort).toBe("cancelled");
    expect(response.batchItemFailures).toEqual([]);
    expect(await status("cancel", 0)).toMatchObject({ status: "CANCELLED", error: { code: "CANCELLED" } });
  });

  it("stops before the function's timeout and leaves the unfinished task to a retry", async () => {
    // Its own queue class, so tickets that earlier tests left to retry do not mix in.
    await session("deadline", { priority: "low" }, "wait-for-cancel", [null]);
    const started = Date.now();
    const { response, event } = await h.deliver("default-low", { timeoutMs: 4_000 });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    expect(await status("deadline", 0)).toMatchObject({ status: "QUEUED", attempt: 1 });
  });

  it("finishes a task once when its ticket is delivered twice at the same time", async () => {
    // Its own queue class, so tickets that earlier tests left to retry do not mix in.
    await session("dup", { priority: "high" }, "slow-echo", [7]);
    // SQS delivers at least once: two containers get the same ticket at the same time.
    const event = await h.receive("default-high");
    expect(event.Records).toHaveLength(1);
    const copy: SQSEvent = {
      Records: event.Records.map((r) => ({ ...r, messageId: `${r.messageId}-copy` })),
    };
    const second = createWorkerHandler(
      () => h.runtime,
      { tasks: new Map([[slowEcho.name, slowEcho]]) },
      createObservability("second-container"),
    );
    const [a, b] = await Promise.all([h.work(event), second(copy, lambdaContext())]);
    expect(runs.get("dup/0")).toBe(1);
    expect(await status("dup", 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1, result: "7" });
    const results = await h.call("GET", "/sessions/dup/results");
    expect(results.body.results).toHaveLength(1);
    // The container that lost the claim keeps its copy while the winner's lease is live (in case
    // the winner dies); delivered again after the commit, the copy is acknowledged.
    expect(a.batchItemFailures.length + b.batchItemFailures.length).toBeLessThanOrEqual(1);
    expect((await second(copy, lambdaContext())).batchItemFailures).toEqual([]);
    expect(runs.get("dup/0")).toBe(1);
  });

  it("writes each line a task logs as one JSON line on stdout, with the task's ids", async () => {
    await session("logged", { maxAttempts: 1 }, "logged", [{ x: 3 }]);
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk, ...rest) => {
      lines.push(String(chunk));
      return write(chunk as string, ...(rest as []));
    });
    try {
      await h.deliver();
    } finally {
      spy.mockRestore();
    }
    expect((await status("logged", 0)).status).toBe("SUCCEEDED");
    const entries = lines
      .filter((l) => l.endsWith("\n") && l.includes('"session":"logged"'))
      .map((l) => JSON.parse(l));
    expect(entries).toEqual([
      expect.objectContaining({
        level: "info",
        message: "squaring",
        x: 3,
        session: "logged",
        index: 0,
        attempt: 1,
        handler: "logged",
        taskId: "0",
      }),
    ]);
  });
});
