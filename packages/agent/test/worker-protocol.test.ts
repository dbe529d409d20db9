/**
 * Warm workers (@tessera/task's worker-pool.ts, docs/worker-protocol.md) with a real Python worker
 * (`python3 -m tessera.worker`, fixtures/py_worker_tasks.py) under an agent on DynamoDB Local
 * and fauxqs: failures, hangs, CPU spins, prints and crashes each end the right task the right
 * way, a killed or crashed process is replaced, and the grid's accounting stays whole. The tests
 * run at once, each on a pool of its own of one grid (they wait on processes, not on a CPU).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cancelTask, createSession, getTask, ResultsReader, submitTasks } from "@tessera/core";
import { type AwsTestGrid, provisionTestGrid } from "@tessera/core/testing/aws";
import { type TaskLogEntry, type WorkerPool, type WorkerPoolOptions, workerPool } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Agent } from "../src/agent.ts";

const PYTHON_SRC = new URL("../../python/src", import.meta.url).pathname;
const TASKS = new URL("./fixtures/py_worker_tasks.py", import.meta.url).pathname;
const CLI = new URL("../src/cli.ts", import.meta.url).pathname;

const POOLS = ["raise", "print", "hang", "spin", "coop", "crash", "crash-last", "logs"];
let grid: AwsTestGrid;
const agents: Agent[] = [];
const pools: WorkerPool[] = [];
beforeAll(async () => {
  grid = await provisionTestGrid(inject("emulators"), { pools: POOLS });
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(pools.map((p) => p.close()));
  grid?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(50);
  }
}

function pool(options: Partial<WorkerPoolOptions> = {}): WorkerPool {
  const p = workerPool({
    command: "python3",
    args: ["-m", "tessera.worker", TASKS],
    env: { PYTHONPATH: PYTHON_SRC },
    processes: 2,
    cancelGraceMs: 300,
    ...options,
  });
  pools.push(p);
  return p;
}

/** A session of `tasks` (payloads by index) for `handler`, in the pool named `sessionId`, served by an agent on `p`. */
async function serve(
  sessionId: string,
  p: WorkerPool,
  handler: string,
  payloads: unknown[],
  config: Record<string, unknown> = {},
) {
  const g = grid;
  const key = { tenant: "acme", sessionId };
  await createSession(g.ports, "acme", {
    sessionId,
    config: { pool: sessionId, chunkMaxTasks: 1, backoffBaseMs: 0, ...config },
  });
  await submitTasks(g.ports, key, {
    handler,
    tasks: payloads.map((payload, index) => ({ index, payload: JSON.stringify(payload) })),
  });
  await p.ready();
  const agent = new Agent({
    ports: g.ports,
    runner: p.run,
    runnerCapacity: p.capacity,
    pools: [sessionId],
    concurrency: 2,
    idleWaitSeconds: 1,
    heartbeatEveryMs: 200,
  });
  agents.push(agent);
  void agent.run();
  return { ports: g.ports, key };
}

describe.concurrent("warm workers: a Python worker under an agent", () => {
  it("fails a task whose handler raises, with its message, after maxAttempts", async ({ expect }) => {
    const { ports, key } = await serve("raise", pool(), "fail", [{}], { maxAttempts: 2 });
    await until(async () => (await getTask(ports, key, 0)).status === "FAILED");
    expect(await getTask(ports, key, 0)).toMatchObject({
      attempt: 2,
      error: { code: "HANDLER_ERROR", message: "ValueError: strike: must be positive" },
    });
  });

  it("keeps the result intact whatever the task prints on stdout", async ({ expect }) => {
    const value = { text: 'line\n{"type":"result"}', n: [1, 2] };
    const { ports, key } = await serve("print", pool(), "echo", [value]);
    await until(async () => (await getTask(ports, key, 0)).status === "SUCCEEDED");
    expect(JSON.parse((await getTask(ports, key, 0)).result!)).toEqual(value);
  });

  it("times out a task that hangs, kills its process after the grace and starts a fresh one", async ({
    expect,
  }) => {
    const p = pool({ processes: 1 });
    const { ports, key } = await serve("hang", p, "hang", [{}], { taskTimeoutMs: 1_000, maxAttempts: 1 });
    const before = p.pids();
    await until(async () => (await getTask(ports, key, 0)).status === "FAILED");
    expect(await getTask(ports, key, 0)).toMatchObject({ error: { code: "TIMEOUT" } });
    await until(() => p.capacity() === 1);
    expect(p.pids()).toHaveLength(1);
    expect(p.pids()).not.toEqual(before);
  });

  it("ends a task that spins the CPU at its cancel (process killed, replaced) and runs the next on a fresh one", async ({
    expect,
  }) => {
    const p = pool({ processes: 1 });
    const { ports, key } = await serve("spin", p, "spin", [{}]);
    const spinning = p.pids()[0];
    await until(async () => (await getTask(ports, key, 0)).status === "LEASED");
    await cancelTask(ports, key, 0);
    await until(async () => (await getTask(ports, key, 0)).status === "CANCELLED");
    await submitTasks(ports, key, { handler: "pid", tasks: [{ index: 1 }] });
    await until(async () => (await getTask(ports, key, 1)).status === "SUCCEEDED");
    expect(Number((await getTask(ports, key, 1)).result)).not.toBe(spinning);
    expect(() => process.kill(spinning!, 0)).toThrow(); // the spinning process is gone
  });

  it("lets a cooperative task end at its cancel, keeping its process", async ({ expect }) => {
    const p = pool({ processes: 1 });
    const { ports, key } = await serve("coop", p, "cooperative", [{}]);
    const pid = p.pids()[0];
    await until(async () => (await getTask(ports, key, 0)).status === "LEASED");
    await cancelTask(ports, key, 0);
    await until(async () => (await getTask(ports, key, 0)).status === "CANCELLED");
    await submitTasks(ports, key, { handler: "pid", tasks: [{ index: 1 }] });
    await until(async () => (await getTask(ports, key, 1)).status === "SUCCEEDED");
    expect(Number((await getTask(ports, key, 1)).result)).toBe(pid);
  });

  it("fails only the task whose process crashed (WORKER_CRASHED), retries it, restarts the process, and loses or repeats nothing", async ({
    expect,
  }) => {
    const lines: string[] = [];
    const p = pool({ log: (message, fields) => lines.push(`${message} ${JSON.stringify(fields)}`) });
    const payloads = Array.from({ length: 20 }, (_, i) => ({ crash: i % 5 === 0 }));
    const { ports, key } = await serve("crash", p, "crash-first", payloads, { maxAttempts: 2 });
    const reader = new ResultsReader(ports, key);
    const delivered = new Map<number, number>();
    await until(async () => {
      for (const o of await reader.poll()) delivered.set(o.index, (delivered.get(o.index) ?? 0) + 1);
      return delivered.size === payloads.length;
    });
    await sleep(500); // a second delivery would show up here
    for (const o of await reader.poll()) delivered.set(o.index, (delivered.get(o.index) ?? 0) + 1);
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    for (const [index, payload] of payloads.entries()) {
      const view = await getTask(ports, key, index);
      expect(view.status).toBe("SUCCEEDED");
      expect(JSON.parse(view.result!)).toEqual({ index, attempt: payload.crash ? 2 : 1 });
    }
    // The failed attempts were WORKER_CRASHED, with the end of the process' stderr, in the agent's log.
    expect(lines.some((l) => l.startsWith("the worker process exited with code 3; restarting it"))).toBe(
      true,
    );
    expect(lines.some((l) => l.includes("about to crash"))).toBe(true);
    await until(() => p.pids().length === 2);
  });

  it("records WORKER_CRASHED with the process' stderr once a crash used the last attempt; a broken frame counts as a crash", async ({
    expect,
  }) => {
    const p = pool();
    const { ports, key } = await serve("crash-last", p, "crash-first", [{ crash: true }], { maxAttempts: 1 });
    await submitTasks(ports, key, { handler: "garble", tasks: [{ index: 1 }] });
    await until(async () => (await getTask(ports, key, 0)).status === "FAILED");
    expect((await getTask(ports, key, 0)).error).toEqual({
      code: "WORKER_CRASHED",
      message: "python3: the worker process exited with code 3 while running the task: about to crash",
    });
    await until(async () => (await getTask(ports, key, 1)).status === "FAILED");
    expect((await getTask(ports, key, 1)).error).toMatchObject({
      code: "WORKER_CRASHED",
      message: expect.stringContaining("broke the protocol (not a JSON frame: this is not a frame)"),
    });
  });

  it("turns the worker's log lines into task log entries at the agent's level, and refuses unknown handlers", async ({
    expect,
  }) => {
    const entries: TaskLogEntry[] = [];
    const p = pool({ logSink: (e) => entries.push(e), logLevel: "info" });
    const { ports, key } = await serve("logs", p, "log", [{ strike: 105 }]);
    await submitTasks(ports, key, { handler: "nope", tasks: [{ index: 1 }] });
    await until(async () => (await getTask(ports, key, 0)).status === "SUCCEEDED");
    expect(entries).toEqual([
      expect.objectContaining({
        level: "info",
        message: "pricing",
        strike: 105,
        index: 0,
        attempt: 1,
        handler: "log",
      }),
    ]);
    await until(async () => (await getTask(ports, key, 1)).status === "FAILED");
    expect((await getTask(ports, key, 1)).error?.message).toMatch(
      /^unknown task "nope" \(this worker knows: .*echo/,
    );
  });
});

/** `tessera-agent` with these flags, run to its end: its exit code and output. */
async function agentCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, PYTHONPATH: PYTHON_SRC },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const [code] = await once(child, "exit");
  return { code: code as number | null, output: output.trim() };
}

describe("warm workers: starting", () => {
  it("tessera-agent --worker says in one line why its workers cannot start (exit 2)", async () => {
    // The workers' stderr lines are the agent's log lines (JSON); the error is the last line.
    const missing = await agentCli(["--worker", "python3 -m tessera.worker no_such_module"]);
    expect(missing.code).toBe(2);
    const lines = missing.output.split("\n");
    expect(lines.pop()).toBe(
      "tessera-agent: --worker: python3: exited with code 2: tessera.worker: cannot load no_such_module: ModuleNotFoundError: No module named 'no_such_module'",
    );
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ message: "worker stderr" });
    expect(await agentCli(["--worker", "python3 'unclosed"])).toEqual({
      code: 2,
      output: expect.stringMatching(/^tessera-agent: --worker: .*quot/i),
    });
  });

  it("says why a worker that never says ready, or exits at once, cannot start", async () => {
    await expect(pool({ command: "sleep", args: ["30"], readyTimeoutMs: 300 }).ready()).rejects.toThrow(
      "sleep: no ready message within 300 ms of its start",
    );
    await expect(pool({ args: ["-m", "tessera.worker", "no_such_module"] }).ready()).rejects.toThrow(
      /^python3: exited with code 2: tessera.worker: cannot load no_such_module: ModuleNotFoundError/,
    );
  });
});
