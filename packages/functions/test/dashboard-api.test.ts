/**
 * The routes the dashboard reads (filtered and summarized session lists, failures, history, task
 * lists, task detail), through the real API handler on the emulators: shapes, tenant isolation
 * and bad queries.
 */
import { FleetStatusBoard } from "@tessera/core";
import { AWS_LIST_PRICES } from "@tessera/core/metering";
import { defineTask } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  FailureSummarySchema,
  FleetSchema,
  HistorySchema,
  SessionListSchema,
  TaskListSchema,
  TaskSchema,
} from "../src/http/schemas.ts";
import { type Harness, harness } from "./harness.ts";

/** Fails for odd x, and once more for x = 4 when told to ("flaky"). */
const check = defineTask("check", z.object({ x: z.number() }), ({ x }) => {
  if (x % 2 === 1) throw new Error(`odd ${x}`);
  return { ok: x };
});

describe("the dashboard's API", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness([check]);
    await h.call("POST", "/sessions", { body: { sessionId: "d1", tags: { desk: "rates" } } });
    await h.call("POST", "/sessions", {
      body: { sessionId: "d2", tags: { desk: "fx" }, config: { chunkMaxTasks: 2, maxAttempts: 1 } },
    });
    const tasks = Array.from({ length: 6 }, (_, index) => ({ index, payload: JSON.stringify({ x: index }) }));
    await h.call("POST", "/sessions/d2/tasks", { body: { handler: "check", tasks } });
    await h.reap(); // the first history snapshot: everything queued
    for (let i = 0; i < 3; i++) await h.deliver();
    await h.call("POST", "/sessions/d1/close");
  }, 60_000);
  afterAll(() => h.close());

  it("lists sessions by state and tag, with summaries on request", async () => {
    const fx = await h.call("GET", "/sessions", { query: { tag: "desk:fx", include: "summary" } });
    expect(fx.status).toBe(200);
    const body = SessionListSchema.parse(fx.body);
    expect(body.sessions.map((s) => s.sessionId)).toEqual(["d2"]);
    expect(body.sessions[0]!.summary).toMatchObject({
      counts: { total: 6, succeeded: 3, failed: 3 },
      progress: 1,
      settled: false,
    });
    expect(body.sessions[0]!.summary!.throughputPerSec).toBeGreaterThan(0);
    const closed = await h.call("GET", "/sessions", { query: { state: "CLOSED" } });
    expect(closed.body.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual(["d1"]);
    expect(closed.body.sessions[0].summary).toBeUndefined();
    expect((await h.call("GET", "/sessions", { query: { tag: "desk:fx" }, as: "globex" })).body).toEqual({
      sessions: [],
    });
  });

  it("groups failures by code", async () => {
    const f = await h.call("GET", "/sessions/d2/failures");
    expect(f.status).toBe(200);
    expect(FailureSummarySchema.parse(f.body)).toEqual({
      groups: [{ code: "HANDLER_ERROR", count: 3, firstMessage: "odd 1", taskIds: ["1", "3", "5"] }],
      totalFailed: 3,
      retried: 0,
      complete: true,
    });
  });

  it("returns the counts over time, ending now", async () => {
    const r = await h.call("GET", "/sessions/d2/history");
    expect(r.status).toBe(200);
    const history = HistorySchema.parse(r.body);
    expect(history.points[0]).toMatchObject({ total: 6, queued: 6, succeeded: 0 });
    expect(history.points.at(-1)).toMatchObject({ total: 6, queued: 0, succeeded: 3, failed: 3 });
    expect(history.complete).toBe(true);
  });

  it("lists tasks by status and slowest first", async () => {
    const ok = await h.call("GET", "/sessions/d2/tasks", { query: { status: "SUCCEEDED", limit: "2" } });
    expect(ok.status).toBe(200);
    const page = TaskListSchema.parse(ok.body);
    expect(page.tasks.map((t) => t.taskId)).toEqual(["0", "2"]);
    expect(page.tasks[0]).toMatchObject({ status: "SUCCEEDED", attempt: 1, handler: "check" });
    expect(page.tasks[0]!.durationMs).toEqual(expect.any(Number));
    const rest = await h.call("GET", "/sessions/d2/tasks", {
      query: { status: "SUCCEEDED", after: page.next! },
    });
    expect(rest.body.tasks.map((t: { taskId: string }) => t.taskId)).toEqual(["4"]);
    const slow = await h.call("GET", "/sessions/d2/tasks", { query: { order: "slowest", status: "FAILED" } });
    expect(slow.body.complete).toBe(true);
    expect(slow.body.tasks.map((t: { taskId: string }) => t.taskId).sort()).toEqual(["1", "3", "5"]);
  });

  it("shows a task's finished run and a preview of its input", async () => {
    const r = await h.call("GET", "/sessions/d2/tasks/3");
    const task = TaskSchema.parse(r.body);
    expect(task).toMatchObject({ status: "FAILED", payloadPreview: '{"x":3}', payloadTruncated: false });
    expect(task.attempts).toEqual([
      expect.objectContaining({ attempt: 1, error: { code: "HANDLER_ERROR", message: "odd 3" } }),
    ]);
    expect(task.attempts[0]!.worker).toEqual(expect.any(String));
    expect(Date.parse(task.attempts[0]!.endedAt!)).toBeGreaterThanOrEqual(
      Date.parse(task.attempts[0]!.startedAt!),
    );
  });

  it("shows the agent pools as the fleet controller last saw them, and none without a fleet", async () => {
    expect((await h.call("GET", "/fleet")).body).toEqual({ pools: [] });
    const board = new FleetStatusBoard();
    board.record({
      pool: "gpu",
      backlog: { queued: 3, inFlight: 0, oldestAgeMs: 0, queuedByPriority: { high: 0, normal: 3, low: 0 } },
      agents: 1,
      decision: { launch: 1, stop: [], target: 1, neverCameUp: [], reason: "" },
      launched: ["a1"],
      placed: [{ id: "a1", instanceType: "c7g.xlarge", market: "spot", zone: "us-east-1a" }],
      stopped: [],
      errors: [],
      at: Date.parse("2026-12-01T10:00:00Z"),
      agentStates: { launching: 1, busy: 0, idle: 0, draining: 0 },
      // An agent billed for the hour before this first pass, one unknown to the price table.
      billed: [
        { instanceType: "c7g.xlarge", market: "on-demand", since: Date.parse("2026-12-01T09:00:00Z") },
        { instanceType: "x9z.huge", market: "spot", since: Date.parse("2026-12-01T09:30:00Z") },
      ],
    });
    h.runtime.fleet = board;
    try {
      const r = await h.call("GET", "/fleet");
      expect(FleetSchema.parse(r.body)).toEqual({
        pools: [
          {
            pool: "gpu",
            at: "2026-12-01T10:00:00.000Z",
            queued: { high: 0, normal: 3, low: 0 },
            agents: { launching: 1, busy: 0, idle: 0, draining: 0 },
            recentLaunches: [
              {
                at: "2026-12-01T10:00:00.000Z",
                count: 1,
                instanceTypes: [{ instanceType: "c7g.xlarge", market: "spot", count: 1 }],
              },
            ],
            shortfalls: [],
            costDollars: AWS_LIST_PRICES.ec2.onDemandHourly["c7g.xlarge"],
            cost: {
              since: "2026-12-01T09:00:00.000Z",
              to: "2026-12-01T10:00:00.000Z",
              dollars: AWS_LIST_PRICES.ec2.onDemandHourly["c7g.xlarge"],
              lines: [
                {
                  instanceType: "c7g.xlarge",
                  market: "on-demand",
                  instanceSeconds: 3_600,
                  dollars: AWS_LIST_PRICES.ec2.onDemandHourly["c7g.xlarge"],
                  priced: true,
                },
                {
                  instanceType: "x9z.huge",
                  market: "spot",
                  instanceSeconds: 1_800,
                  dollars: 0,
                  priced: false,
                },
              ],
              prices: {
                region: AWS_LIST_PRICES.region,
                takenOn: AWS_LIST_PRICES.takenOn,
                source: AWS_LIST_PRICES.source,
              },
            },
          },
        ],
      });
    } finally {
      h.runtime.fleet = undefined;
    }
  });

  it("hides another tenant's session on every route", async () => {
    for (const path of ["/sessions/d2/failures", "/sessions/d2/history", "/sessions/d2/tasks"]) {
      const r = await h.call("GET", path, { as: "globex" });
      expect(r.status, path).toBe(404);
    }
  });

  it.each<{ path: string; query: Record<string, string>; field: string | undefined }>([
    { path: "/sessions", query: { state: "DONE" }, field: "state" },
    { path: "/sessions", query: { tag: "nocolon" }, field: "tag" },
    { path: "/sessions", query: { include: "everything" }, field: "include" },
    { path: "/sessions/d2/failures", query: { limit: "0" }, field: "limit" },
    { path: "/sessions/d2/tasks", query: { status: "DONE" }, field: "status" },
    { path: "/sessions/d2/tasks", query: { order: "fastest" }, field: "order" },
    { path: "/sessions/d2/tasks", query: { after: "-1" }, field: "after" },
    { path: "/sessions/d2/tasks", query: { order: "slowest", status: "QUEUED" }, field: "order" },
    { path: "/sessions/d2/history", query: { points: "10" }, field: undefined },
  ])("answers 400 naming the field for $path $query", async ({ path, query, field }) => {
    const r = await h.call("GET", path, { query });
    expect(r.status).toBe(400);
    if (field !== undefined) expect(r.body.error.field).toBe(`query.${field}`);
  });
});
