import { defineTask } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { SessionDetailSchema, SessionListSchema, TaskSchema } from "../src/http/schemas.ts";
import { type Harness, harness } from "./harness.ts";

const square = defineTask("square", z.object({ x: z.number() }), ({ x }) => ({ y: x * x }));

describe("HTTP API on the emulators", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness([square]);
  });
  afterAll(() => h.close());

  it("runs a session end to end: create, submit, work, stream results, counts", async () => {
    const created = await h.call("POST", "/sessions", {
      body: { sessionId: "s1", tags: { desk: "rates" }, config: { chunkMaxTasks: 4 } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      created: true,
      session: { sessionId: "s1", state: "OPEN", tags: { desk: "rates" } },
    });
    const again = await h.call("POST", "/sessions", { body: { sessionId: "s1" } });
    expect(again.body).toMatchObject({ created: false, session: { tags: { desk: "rates" } } });
    // Asking an existing session for other settings is refused, naming the field.
    const other = await h.call("POST", "/sessions", {
      body: { sessionId: "s1", config: { chunkMaxTasks: 8 } },
    });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ error: { code: "CONFLICT", field: "config.chunkMaxTasks" } });

    const tasks = Array.from({ length: 20 }, (_, index) => ({
      index,
      payload: JSON.stringify({ x: index }),
    }));
    const submitted = await h.call("POST", "/sessions/s1/tasks", { body: { handler: "square", tasks } });
    expect(submitted).toMatchObject({ status: 200, body: { created: 20, existing: 0, chunks: 5 } });
    expect(submitted.body.createdSpans).toEqual([0, 4, 8, 12, 16].map((start) => ({ start, count: 4 })));
    const retried = await h.call("POST", "/sessions/s1/tasks", { body: { handler: "square", tasks } });
    expect(retried.body).toMatchObject({ created: 0, existing: 20, createdSpans: [] });

    const before = await h.call("GET", "/sessions/s1");
    expect(SessionDetailSchema.parse(before.body).counts).toEqual({
      total: 20,
      queued: 20,
      running: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    });

    const firstPage = await h.call("GET", "/sessions/s1/results");
    expect(firstPage.body.results).toEqual([]);
    // The retried submit re-sent the tickets of chunks not yet claimed: the duplicates are harmless.
    for (let i = 0; i < 5; i++) await h.deliver();

    const got = new Map<string, unknown>();
    let cursor: string = firstPage.body.cursor;
    for (let i = 0; i < 4; i++) {
      const page = await h.call("GET", "/sessions/s1/results", { query: { cursor, limit: "7" } });
      expect(page.status).toBe(200);
      // The limit is soft by at most one completion entry (a chunk of 4 here).
      expect(page.body.results.length).toBeLessThanOrEqual(7 + 3);
      for (const r of page.body.results) {
        expect(got.has(r.taskId)).toBe(false);
        got.set(r.taskId, JSON.parse(r.result));
      }
      cursor = page.body.cursor;
    }
    expect(got.size).toBe(20);
    expect(got.get("7")).toEqual({ y: 49 });

    const after = SessionDetailSchema.parse((await h.call("GET", "/sessions/s1")).body);
    expect(after).toMatchObject({ counts: { total: 20, succeeded: 20 }, progress: 1, settled: false });
    const closed = await h.call("POST", "/sessions/s1/close");
    expect(closed.body.state).toBe("CLOSED");
    expect((await h.call("GET", "/sessions/s1")).body.settled).toBe(true);

    const task = TaskSchema.parse((await h.call("GET", "/sessions/s1/tasks/3")).body);
    expect(task).toMatchObject({ taskId: "3", status: "SUCCEEDED", attempt: 1, handler: "square" });
    expect(JSON.parse(task.result!)).toEqual({ y: 9 });
    // A finished task keeps its result when cancelled.
    const cancelled = await h.call("POST", "/sessions/s1/tasks/3/cancel");
    expect(cancelled.body).toMatchObject({ status: "SUCCEEDED", result: task.result });
  });

  it("lists the caller's sessions only, newest first, page by page", async () => {
    for (const id of ["l1", "l2", "l3"])
      await h.call("POST", "/sessions", { as: "globex", body: { sessionId: id } });
    const first = SessionListSchema.parse(
      (await h.call("GET", "/sessions", { as: "globex", query: { limit: "2" } })).body,
    );
    expect(first.sessions.map((s) => s.sessionId)).toEqual(["l3", "l2"]);
    const second = await h.call("GET", "/sessions", {
      as: "globex",
      query: { limit: "2", after: first.next! },
    });
    expect(second.body.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual(["l1"]);
    const acme = await h.call("GET", "/sessions");
    expect(acme.body.sessions.map((s: { sessionId: string }) => s.sessionId)).not.toContain("l1");
  });

  it("cancels a session: queued tasks never start and are reported as results", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "c1" } });
    await h.call("POST", "/sessions/c1/tasks", {
      body: { handler: "square", tasks: [{ index: 0, payload: '{"x":1}' }] },
    });
    const cancelled = await h.call("POST", "/sessions/c1/cancel");
    expect(cancelled.body).toMatchObject({
      session: { state: "CANCELLED" },
      cancelledQueued: 1,
      complete: true,
    });
    const page = await h.call("GET", "/sessions/c1/results");
    expect(page.body.results).toMatchObject([{ taskId: "0", status: "CANCELLED" }]);
    await h.deliver(); // the ticket finds nothing to run
    expect((await h.call("GET", "/sessions/c1/tasks/0")).body.status).toBe("CANCELLED");
  });

  it("identifies IAM and JWT callers from API Gateway's authorizer context, never from the body", async () => {
    const iam = {
      iam: { accountId: "123456789012", userArn: "arn:aws:sts::123456789012:assumed-role/RiskTeam/alice" },
    };
    const made = await h.call("POST", "/sessions", {
      as: null,
      authorizer: iam,
      body: { sessionId: "iam1" },
    });
    expect(made.status).toBe(201);
    expect((await h.call("GET", "/sessions/iam1", { as: null, authorizer: iam })).status).toBe(200);
    expect((await h.call("GET", "/sessions/iam1")).status).toBe(404); // acme's view
    const jwt = { jwt: { claims: { sub: "u1", tenant: "acme" } } };
    expect((await h.call("GET", "/sessions/s1", { as: null, authorizer: jwt })).status).toBe(200);
    const noClaim = await h.call("GET", "/sessions/s1", {
      as: null,
      authorizer: { jwt: { claims: { sub: "u1" } } },
    });
    expect(noClaim.status).toBe(403);
  });

  it("serves its OpenAPI document without credentials", async () => {
    const doc = await h.call("GET", "/openapi.json", { as: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toContain("/sessions/{sessionId}/results");
  });

  it("answers a request that would outlive the function with the JSON error format, not a bare 500", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "slow" } });
    const store = h.runtime.ports.store;
    const getSession = store.getSession.bind(store);
    // A store slower than the function's time left (a throttled or overloaded table).
    store.getSession = async (key) => {
      await new Promise((r) => setTimeout(r, 2_500));
      return getSession(key);
    };
    try {
      const slow = await h.call("GET", "/sessions/slow", { timeoutMs: 1_500 });
      expect(slow.status).toBe(503);
      expect(slow.body.error).toMatchObject({ code: "TIMEOUT" });
      expect(slow.body.error.message).toMatch(/retry/);
    } finally {
      store.getSession = getSession;
    }
    expect((await h.call("GET", "/sessions/slow")).status).toBe(200);
  });

  it("serves a session whose tasks sit at the highest indexes with work that follows the data (defect: OOM)", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "big" } });
    const tasks = [999_999_999_999, 10_000_000, 5].map((index) => ({ index, payload: '{"x":2}' }));
    expect((await h.call("POST", "/sessions/big/tasks", { body: { handler: "square", tasks } })).status).toBe(
      200,
    );
    // Count the store calls each read makes: it must follow the 3 groups that exist, not the
    // 244 million group numbers below the highest index.
    const store = h.runtime.ports.store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const calls = { n: 0 };
    const originals = new Map<string, (...a: unknown[]) => Promise<unknown>>();
    for (const name of [
      "listChunks",
      "readCompletions",
      "listDueChunks",
      "getGroup",
      "listGroups",
      "getChunks",
    ]) {
      const original = store[name]!.bind(store);
      originals.set(name, original);
      store[name] = (...a: unknown[]) => {
        calls.n++;
        return original(...a);
      };
    }
    try {
      const status = await h.call("GET", "/sessions/big");
      expect(status.body.counts).toMatchObject({ total: 3, queued: 3 });
      expect(calls.n).toBeLessThan(5);
      calls.n = 0;
      const page = await h.call("POST", "/sessions/big/results", { body: {} });
      expect(page.status).toBe(200);
      expect(calls.n).toBeLessThan(15);
      calls.n = 0;
      await h.reap();
      expect(calls.n).toBeLessThan(60);
      const cancel = await h.call("POST", "/sessions/big/cancel");
      expect(cancel.body).toMatchObject({ cancelledQueued: 3 });
      const done = await h.call("GET", "/sessions/big");
      expect(done.body).toMatchObject({ settled: true, counts: { total: 3, cancelled: 3 } });
    } finally {
      for (const [name, original] of originals) store[name] = original;
    }
  });

  it("stops a submit that was answered as timed out before it writes a task", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "late" } });
    const store = h.runtime.ports.store;
    const getGroup = store.getGroup.bind(store);
    // The submit's reads outlast the function's time: middy answers 503 and aborts the handler.
    store.getGroup = async (...args) => {
      await new Promise((r) => setTimeout(r, 2_000));
      return getGroup(...args);
    };
    try {
      const slow = await h.call("POST", "/sessions/late/tasks", {
        body: { handler: "square", tasks: [{ index: 0, payload: '{"x":1}' }] },
        timeoutMs: 1_500,
      });
      expect(slow).toMatchObject({ status: 503, body: { error: { code: "TIMEOUT" } } });
      await new Promise((r) => setTimeout(r, 2_500)); // the handler's reads finish meanwhile
    } finally {
      store.getGroup = getGroup;
    }
    expect((await store.getCounters({ tenant: "acme", sessionId: "late" })).tasks).toBe(0);
    expect((await h.call("GET", "/sessions/late")).body.counts.total).toBe(0);
  });
});
