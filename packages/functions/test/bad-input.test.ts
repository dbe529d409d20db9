/**
 * Every client mistake gets the right 4xx with a JSON error naming the field, and changes
 * nothing: the table is scanned before and after the whole suite of bad requests.
 */
import { encodeCursor, Limits } from "@tessera/core";
import { defineTask } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_BODY_BYTES } from "../src/http/route.ts";
import { ErrorSchema } from "../src/http/schemas.ts";
import { type CallOptions, type Harness, harness } from "./harness.ts";

const echo = defineTask("echo", z.unknown(), (x) => x);
const DAY = 24 * 60 * 60_000;

interface Case {
  name: string;
  method: string;
  path: string;
  options?: CallOptions;
  status: number;
  field?: string;
  code?: string;
}

const task = (index: number) => ({ index, payload: "{}" });

const CASES: Case[] = [
  // Authentication
  {
    name: "no credentials",
    method: "GET",
    path: "/sessions",
    options: { as: null },
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "unknown token",
    method: "GET",
    path: "/sessions",
    options: { authorization: "Bearer nope" },
    status: 401,
  },
  {
    name: "not a bearer header",
    method: "GET",
    path: "/sessions",
    options: { authorization: "Basic dXNlcjpwYXNz" },
    status: 401,
  },
  // Create session: body shape
  {
    name: "missing sessionId",
    method: "POST",
    path: "/sessions",
    options: { body: {} },
    status: 400,
    field: "sessionId",
  },
  {
    name: "sessionId of the wrong type",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: 42 } },
    status: 400,
    field: "sessionId",
  },
  {
    name: "sessionId with a key separator",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: "a#b" } },
    status: 400,
    field: "sessionId",
  },
  {
    name: "maxAttempts as a string",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: "x", config: { maxAttempts: "3" } } },
    status: 400,
    field: "config.maxAttempts",
  },
  {
    name: "maxAttempts out of range",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: "x", config: { maxAttempts: 1000 } } },
    status: 400,
    field: "config.maxAttempts",
  },
  {
    name: "unknown pool",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: "x", config: { pool: "gpu" } } },
    status: 400,
    field: "config.pool",
  },
  {
    name: "unknown top-level field",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: "x", tenant: "globex" } },
    status: 400,
    field: "body",
  },
  {
    name: "a tag value that is not a string",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: "x", tags: { a: 1 } } },
    status: 400,
    field: "tags.a",
  },
  // Body encoding
  {
    name: "invalid JSON",
    method: "POST",
    path: "/sessions",
    options: { body: '{"sessionId": ' },
    status: 400,
    field: "body",
  },
  {
    name: "empty body",
    method: "POST",
    path: "/sessions",
    options: { body: "" },
    status: 400,
    field: "body",
  },
  {
    name: "JSON that is not an object",
    method: "POST",
    path: "/sessions",
    options: { body: "[1,2]" },
    status: 400,
    field: "body",
  },
  {
    name: "wrong content type",
    method: "POST",
    path: "/sessions",
    options: { body: "sessionId=x", contentType: "application/x-www-form-urlencoded" },
    status: 415,
  },
  {
    name: "no content type",
    method: "POST",
    path: "/sessions",
    options: { body: { sessionId: "x" }, contentType: null },
    status: 415,
  },
  {
    name: "oversized body",
    method: "POST",
    path: "/sessions",
    options: { body: JSON.stringify({ sessionId: "x", pad: "x".repeat(MAX_BODY_BYTES) }) },
    status: 413,
    field: "body",
  },
  // Submit
  {
    name: "no tasks",
    method: "POST",
    path: "/sessions/open/tasks",
    options: { body: { tasks: [] } },
    status: 400,
    field: "tasks",
  },
  {
    name: "a negative index",
    method: "POST",
    path: "/sessions/open/tasks",
    options: { body: { tasks: [task(0), { index: -1 }] } },
    status: 400,
    field: "tasks[1].index",
  },
  {
    name: "a payload that is not a string",
    method: "POST",
    path: "/sessions/open/tasks",
    options: { body: { tasks: [{ index: 0, payload: { a: 1 } }] } },
    status: 400,
    field: "tasks[0].payload",
  },
  {
    name: "too many tasks in a batch",
    method: "POST",
    path: "/sessions/open/tasks",
    options: {
      body: { tasks: Array.from({ length: Limits.MAX_BATCH_TASKS + 1 }, (_, i) => ({ index: i })) },
    },
    status: 400,
    field: "tasks",
  },
  {
    name: "a task already stored with another payload",
    method: "POST",
    path: "/sessions/open/tasks",
    options: { body: { tasks: [task(2), task(3), { index: 1, payload: '{"other":1}' }] } },
    status: 409,
    field: "tasks[2]",
    code: "CONFLICT",
  },
  {
    name: "a task already stored with another handler",
    method: "POST",
    path: "/sessions/open/tasks",
    options: { body: { handler: "echo", tasks: [task(0)] } },
    status: 409,
    field: "tasks[0]",
    code: "CONFLICT",
  },
  {
    name: "submit to a closed session",
    method: "POST",
    path: "/sessions/closed/tasks",
    options: { body: { tasks: [task(5)] } },
    status: 409,
    code: "SESSION_NOT_OPEN",
  },
  // Unknown and other tenants' ids
  { name: "unknown session", method: "GET", path: "/sessions/nope", status: 404 },
  {
    name: "another tenant's session",
    method: "GET",
    path: "/sessions/open",
    options: { as: "globex" },
    status: 404,
  },
  {
    name: "submit to another tenant's session",
    method: "POST",
    path: "/sessions/open/tasks",
    options: { as: "globex", body: { tasks: [task(9)] } },
    status: 404,
  },
  {
    name: "cancel another tenant's session",
    method: "POST",
    path: "/sessions/open/cancel",
    options: { as: "globex" },
    status: 404,
  },
  {
    name: "close another tenant's session",
    method: "POST",
    path: "/sessions/open/close",
    options: { as: "globex" },
    status: 404,
  },
  {
    name: "another tenant's task",
    method: "GET",
    path: "/sessions/open/tasks/0",
    options: { as: "globex" },
    status: 404,
  },
  {
    name: "cancel another tenant's task",
    method: "POST",
    path: "/sessions/open/tasks/0/cancel",
    options: { as: "globex" },
    status: 404,
  },
  {
    name: "another tenant's results",
    method: "GET",
    path: "/sessions/open/results",
    options: { as: "globex" },
    status: 404,
  },
  { name: "unknown task", method: "GET", path: "/sessions/open/tasks/77", status: 404 },
  {
    name: "a task id that is not a number",
    method: "GET",
    path: "/sessions/open/tasks/abc",
    status: 400,
    field: "path.taskId",
  },
  {
    name: "a malformed session id in the path",
    method: "GET",
    path: "/sessions/a%23b",
    status: 400,
    field: "path.sessionId",
  },
  // Query strings and cursors
  {
    name: "a limit that is not a number",
    method: "GET",
    path: "/sessions",
    options: { query: { limit: "ten" } },
    status: 400,
    field: "query.limit",
  },
  {
    name: "a limit out of range",
    method: "GET",
    path: "/sessions/open/results",
    options: { query: { limit: "0" } },
    status: 400,
    field: "query.limit",
  },
  {
    name: "an unknown query parameter",
    method: "GET",
    path: "/sessions/open/results",
    options: { query: { from: "1" } },
    status: 400,
    field: "query",
  },
  {
    name: "a malformed cursor",
    method: "GET",
    path: "/sessions/open/results",
    options: { query: { cursor: "bm90LWEtY3Vyc29y" } },
    status: 400,
    field: "cursor",
  },
  // Task logs
  {
    name: "a logs task that is not an index",
    method: "GET",
    path: "/sessions/open/logs",
    options: { query: { task: "1e3" } },
    status: 400,
    field: "query.task",
  },
  {
    name: "a logs limit out of range",
    method: "GET",
    path: "/sessions/open/logs",
    options: { query: { limit: "5000" } },
    status: 400,
    field: "query.limit",
  },
  {
    name: "the logs of another tenant's session",
    method: "GET",
    path: "/sessions/open/logs",
    options: { as: "globex" },
    status: 404,
    code: "NOT_FOUND",
  },
  {
    name: "the logs of a grid that keeps none the API can read",
    method: "GET",
    path: "/sessions/open/logs",
    status: 404,
    code: "NOT_FOUND",
  },
  // Routes
  { name: "an unknown route", method: "GET", path: "/jobs", status: 404, code: "ROUTE_NOT_FOUND" },
  { name: "a method a route does not have", method: "DELETE", path: "/sessions/open", status: 404 },
];

describe("bad input", () => {
  let h: Harness;
  let before: Record<string, unknown>[];
  let cursors: { foreign: string; expired: string };

  beforeAll(async () => {
    h = await harness([echo]);
    await h.call("POST", "/sessions", { body: { sessionId: "open" } });
    await h.call("POST", "/sessions", { body: { sessionId: "closed" } });
    await h.call("POST", "/sessions/open/tasks", { body: { tasks: [task(0), task(1)] } });
    await h.call("POST", "/sessions/closed/close");
    const start = { issuedAt: 0, groups: new Map(), doneThrough: -1, done: new Set<number>(), resumeAt: -1 };
    cursors = {
      foreign: encodeCursor({ ...start, sessionId: "closed" }, Date.now()),
      expired: encodeCursor({ ...start, sessionId: "open" }, Date.now() - 8 * DAY),
    };
    before = await h.scan();
  });
  afterAll(() => h.close());

  it.each(CASES)("$name → $status", async (c) => {
    const response = await h.call(c.method, c.path, c.options);
    expect(response.status).toBe(c.status);
    const error = ErrorSchema.parse(response.body).error;
    if (c.field !== undefined) expect(error.field).toBe(c.field);
    if (c.code !== undefined) expect(error.code).toBe(c.code);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it("rejects another session's cursor (400) and an expired one (410)", async () => {
    const foreign = await h.call("GET", "/sessions/open/results", { query: { cursor: cursors.foreign } });
    expect(foreign).toMatchObject({ status: 400, body: { error: { field: "cursor" } } });
    const expired = await h.call("GET", "/sessions/open/results", { query: { cursor: cursors.expired } });
    expect(expired).toMatchObject({ status: 410, body: { error: { code: "CURSOR_EXPIRED" } } });
  });

  it("left the store exactly as it was", async () => {
    expect(await h.scan()).toEqual(before);
  });
});
