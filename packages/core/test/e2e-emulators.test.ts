/**
 * The dispatch engine end to end on DynamoDB Local + fauxqs: submit → workers → results,
 * including a worker killed mid-task whose tasks another worker finishes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Dispatcher, type TaskRunner } from "../src/dispatch/dispatcher.ts";
import type { GridPorts } from "../src/dispatch/grid-ports.ts";
import { reap } from "../src/dispatch/reaper.ts";
import { ResultsReader } from "../src/dispatch/results-reader.ts";
import { createSession } from "../src/dispatch/sessions.ts";
import { submitTasks } from "../src/dispatch/submitter.ts";
import { getTask } from "../src/dispatch/tasks.ts";
import { runPollLoop } from "../src/dispatch/worker-loop.ts";
import type { TaskOutcome } from "../src/model/records.ts";
import { type AwsTestGrid, awsTestGrid } from "./aws-fixture.ts";

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "e2e" };
const opened: AwsTestGrid[] = [];
const loops: AbortController[] = [];

afterEach(async () => {
  for (const l of loops.splice(0)) l.abort();
  for (const g of opened.splice(0)) g.close();
});

async function grid(timing?: { leaseGraceMs?: number; ticketGraceMs?: number }): Promise<GridPorts> {
  const g = await awsTestGrid({ timing });
  opened.push(g);
  return g.ports;
}

function startWorker(
  ports: GridPorts,
  owner: string,
  runner: TaskRunner,
  visibilitySeconds = 60,
): Dispatcher {
  const dispatcher = new Dispatcher(ports, { owner, runner, concurrency: 16 });
  const stop = new AbortController();
  loops.push(stop);
  void runPollLoop(
    ports,
    dispatcher,
    { queues: [QUEUE], visibilitySeconds, idleWaitSeconds: 1, heartbeatEveryMs: 200 },
    stop.signal,
  );
  return dispatcher;
}

async function collect(
  ports: GridPorts,
  expected: number,
  timeoutMs = 30_000,
): Promise<Map<number, TaskOutcome>> {
  const reader = new ResultsReader(ports, key);
  const seen = new Map<number, TaskOutcome>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < expected && Date.now() < deadline) {
    for (const o of await reader.poll()) {
      expect(seen.has(o.index), `task ${o.index} delivered twice`).toBe(false);
      seen.set(o.index, o);
    }
    if (seen.size < expected) await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

const echo: TaskRunner = async (t) => `done:${t.payload}`;

describe("end to end on DynamoDB Local + fauxqs", () => {
  it("runs a session through two workers and streams every result back once", async () => {
    const ports = await grid();
    await createSession(ports, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 32 } });
    const tasks = Array.from({ length: 600 }, (_, i) => ({ index: i, payload: `p${i}` }));
    await submitTasks(ports, key, { tasks: tasks.slice(0, 300) });
    await submitTasks(ports, key, { tasks: tasks.slice(300) });
    startWorker(ports, "w1", echo);
    startWorker(ports, "w2", echo);
    const results = await collect(ports, 600);
    expect(results.size).toBe(600);
    for (const [i, o] of results)
      expect(o).toMatchObject({ status: "SUCCEEDED", result: `done:p${i}`, attempt: 1 });
    expect(await getTask(ports, key, 123)).toMatchObject({
      status: "SUCCEEDED",
      result: "done:p123",
      attempt: 1,
    });
  });

  it("finishes the tasks of a worker killed mid-task on another worker", async () => {
    const ports = await grid();
    await createSession(ports, key.tenant, {
      sessionId: key.sessionId,
      config: { chunkMaxTasks: 8, leaseMs: 1_000 },
    });
    await submitTasks(ports, key, {
      tasks: Array.from({ length: 8 }, (_, i) => ({ index: i, payload: `p${i}` })),
    });
    const startedOnA: number[] = [];
    const hang: TaskRunner = async (t) => {
      startedOnA.push(t.index);
      await new Promise((_, reject) =>
        t.signal.addEventListener("abort", () => reject(new Error("aborted"))),
      );
      return "never";
    };
    const a = startWorker(ports, "a", hang, 1);
    while (startedOnA.length < 8) await new Promise((r) => setTimeout(r, 20));
    a.crash(); // the process "dies": no commit, no ack; its lease expires, its ticket reappears
    startWorker(ports, "b", echo, 1);
    const results = await collect(ports, 8);
    expect(results.size).toBe(8);
    // The killed worker's runs were never committed: they cost no attempt (issue 17).
    for (const [i, o] of results)
      expect(o).toMatchObject({ status: "SUCCEEDED", result: `done:p${i}`, attempt: 1 });
    const view = await getTask(ports, key, 0);
    expect(view).toMatchObject({ status: "SUCCEEDED", attempt: 1 });
  });

  it("re-drives a chunk whose ticket was lost, through the reaper", async () => {
    const ports = await grid({ ticketGraceMs: 300 });
    await createSession(ports, key.tenant, { sessionId: key.sessionId });
    await submitTasks(ports, key, { tasks: [{ index: 0, payload: "lost" }] });
    const [ticket] = await ports.queue.receive(QUEUE, { max: 10, waitSeconds: 1, visibilitySeconds: 60 });
    await ports.queue.ack(QUEUE, [ticket!.receipt]); // SQS "loses" the ticket
    await new Promise((r) => setTimeout(r, 400));
    const report = await reap(ports);
    expect(report.redriven).toBe(1);
    startWorker(ports, "w", echo);
    const results = await collect(ports, 1);
    expect(results.get(0)).toMatchObject({ status: "SUCCEEDED", result: "done:lost" });
  });
});
