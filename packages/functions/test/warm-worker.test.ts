/**
 * The warm-worker Lambda function (src/warm-worker.ts): the worker handler over a pool of real
 * Python processes (`python3 -m tessera.worker`, examples/python_pricing.py and
 * fixtures/warm_tasks.py), invoked with SQS events from real tickets on DynamoDB Local and
 * fauxqs, as the container-image function runs it.
 */
import { delimiter } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { warmWorkerOptions, warmWorkerSettings } from "../src/warm-worker.ts";
import { type Harness, harness } from "./harness.ts";

const path = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// The image sets PYTHONPATH to where it copied the `tessera` package; here, its source.
process.env.PYTHONPATH = [path("../../python/src"), process.env.PYTHONPATH].filter(Boolean).join(delimiter);
const COMMAND = `python3 -m tessera.worker ${path("../../../examples/python_pricing.py")} ${path("./fixtures/warm_tasks.py")}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("warm-worker function", () => {
  let h: Harness;
  beforeAll(async () => {
    // One process: which process runs a task is then known, so its reuse can be seen.
    h = await harness(
      [],
      warmWorkerOptions({ TESSERA_WORKER_COMMAND: COMMAND, TESSERA_WORKER_CONCURRENCY: "1" }),
    );
  });
  afterAll(() => h.close());

  const session = async (sessionId: string, handler: string, payloads: unknown[], config = {}) => {
    await h.call("POST", "/sessions", {
      body: { sessionId, config: { chunkMaxTasks: 1, maxAttempts: 1, ...config } },
    });
    const tasks = payloads.map((p, index) => ({ index, payload: JSON.stringify(p) }));
    expect((await h.call("POST", `/sessions/${sessionId}/tasks`, { body: { handler, tasks } })).status).toBe(
      200,
    );
  };
  const status = async (sessionId: string, taskId = 0) =>
    (await h.call("GET", `/sessions/${sessionId}/tasks/${taskId}`)).body;

  it("runs a Python task on a warm process and stores its result", async () => {
    await session("price", "price-py", [
      { spot: 100, strike: 105, rate: 0.03, volatility: 0.2, maturity: 1 },
    ]);
    const { event, response } = await h.deliver();
    expect(event.Records).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([]);
    const task = await status("price");
    expect(task).toMatchObject({ status: "SUCCEEDED", attempt: 1 });
    expect(JSON.parse(task.result).price).toBeCloseTo(7.128064669261739, 10);
  });

  it("keeps its processes warm from one invocation to the next", async () => {
    await session("warm-1", "whoami", [null]);
    await h.deliver();
    await session("warm-2", "whoami", [null]);
    await h.deliver();
    const first = JSON.parse((await status("warm-1")).result);
    const second = JSON.parse((await status("warm-2")).result);
    // The same interpreter ran both: it was not started again for the second invocation.
    expect(second.pid).toBe(first.pid);
    expect(second.served).toBe(first.served + 1);
  });

  it("fails a task whose process dies under it WORKER_CRASHED, and restarts the process", async () => {
    await session("before-crash", "whoami", [null]);
    await h.deliver();
    const before = JSON.parse((await status("before-crash")).result);
    await session("crash", "crash", [null]);
    const { response } = await h.deliver();
    expect(response.batchItemFailures).toEqual([]);
    const crashed = await status("crash");
    expect(crashed).toMatchObject({ status: "FAILED", attempt: 1, error: { code: "WORKER_CRASHED" } });
    expect(crashed.error.message).toContain("exited with code 3");
    expect(crashed.error.message).toContain("segfault in the pricing library");
    // A fresh process serves the next task.
    await session("after-crash", "whoami", [null]);
    for (let i = 0; i < 20 && (await status("after-crash")).status !== "SUCCEEDED"; i++) {
      await h.deliver();
      await sleep(100);
    }
    const after = JSON.parse((await status("after-crash")).result);
    expect(after.pid).not.toBe(before.pid);
    expect(after.served).toBe(1);
  });

  it("stops a task that ignores its cancel before the function's timeout, and leaves it to a retry", async () => {
    await session("deadline", "hang", [null], { maxAttempts: 3, priority: "low" });
    const started = Date.now();
    const { event, response } = await h.deliver("default-low", { timeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    expect(await status("deadline")).toMatchObject({ status: "QUEUED", attempt: 1 });
  });

  it("refuses a task its workers do not serve, naming what they do", async () => {
    await session("unknown", "price-rust", [null]);
    await h.deliver();
    expect((await status("unknown")).error.message).toMatch(
      /unknown task "price-rust" \(this worker knows: .*price-py/,
    );
  });
});

describe("warm-worker function whose processes cannot start", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(
      [],
      warmWorkerOptions({
        TESSERA_WORKER_COMMAND: "python3 -m tessera.worker no_such_module",
        TESSERA_WORKER_CONCURRENCY: "1",
      }),
    );
  });
  afterAll(() => h.close());

  it("fails the invocation before claiming a ticket: no attempt is charged", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "broken", config: { chunkMaxTasks: 1 } } });
    await h.call("POST", "/sessions/broken/tasks", {
      body: { handler: "x", tasks: [{ index: 0, payload: "1" }] },
    });
    const event = await h.receive();
    await expect(h.work(event)).rejects.toThrow(
      /^TESSERA_WORKER_COMMAND: the worker processes could not start: /,
    );
    expect((await h.call("GET", "/sessions/broken/tasks/0")).body).toMatchObject({
      status: "QUEUED",
      attempt: 0,
    });
  });
});

describe("warm-worker settings", () => {
  it("name the variable that is wrong", () => {
    expect(warmWorkerSettings({ TESSERA_WORKER_COMMAND: "python3 -m tessera.worker 'my tasks.py'" })).toEqual(
      {
        command: "python3",
        args: ["-m", "tessera.worker", "my tasks.py"],
        concurrency: 16,
      },
    );
    expect(() => warmWorkerSettings({})).toThrow(/^TESSERA_WORKER_COMMAND: give the command/);
    expect(() => warmWorkerSettings({ TESSERA_WORKER_COMMAND: "python3 'unclosed" })).toThrow(
      /^TESSERA_WORKER_COMMAND: /,
    );
    for (const bad of ["0", "two", "1.5"])
      expect(() =>
        warmWorkerSettings({ TESSERA_WORKER_COMMAND: "w", TESSERA_WORKER_CONCURRENCY: bad }),
      ).toThrow(/^TESSERA_WORKER_CONCURRENCY: must be a whole number of at least 1/);
  });
});
