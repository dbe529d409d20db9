/**
 * A grid knows its handlers: a submit naming a task type its session's pool does not run (or
 * none, where the pool has no default task) is a 400 naming `handler` that stores nothing,
 * instead of tasks that all fail after their retries. A pool whose catalogue is unknown (served
 * by code the grid cannot see) accepts any name, as before.
 */
import { defineTask } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { HandlerCatalogue } from "../src/handler-catalogue.ts";
import { ErrorSchema } from "../src/http/schemas.ts";
import { type Harness, harness } from "./harness.ts";

const echo = defineTask("echo", z.unknown(), (x) => x);
const price = defineTask("price", z.unknown(), () => 1);
const tasks = [0, 1, 2].map((index) => ({ index, payload: "{}" }));

describe("submits checked against the pool's handlers", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness([echo, price]);
  });
  afterAll(() => h.close());

  const withCatalogue = (handlers: HandlerCatalogue | undefined) => {
    h.runtime.handlers = handlers;
  };
  const session = async (sessionId: string) => {
    expect((await h.call("POST", "/sessions", { body: { sessionId } })).status).toBe(201);
  };
  const total = async (sessionId: string) =>
    (await h.call("GET", `/sessions/${sessionId}`)).body.counts.total as number;

  it("refuses a handler the pool does not run, naming the field, the pool and what it runs; stores nothing", async () => {
    withCatalogue({ default: { handlers: ["echo", "price"], default: "echo" } });
    await session("typo");
    const before = await h.scan();
    const refused = await h.call("POST", "/sessions/typo/tasks", { body: { handler: "prcie", tasks } });
    expect(refused.status).toBe(400);
    expect(ErrorSchema.parse(refused.body).error).toMatchObject({
      code: "VALIDATION",
      field: "handler",
      message: 'handler: unknown task "prcie" for pool default (it runs: echo, price)',
    });
    expect(await h.scan()).toEqual(before);
    expect(await total("typo")).toBe(0);
    // The same batch with a handler the pool runs is taken.
    const taken = await h.call("POST", "/sessions/typo/tasks", { body: { handler: "price", tasks } });
    expect(taken).toMatchObject({ status: 200, body: { created: 3 } });
  });

  it("requires a handler where the pool has no default task, and runs the default where it has one", async () => {
    withCatalogue({ default: { handlers: ["echo", "price"], default: null } });
    await session("nameless");
    const before = await h.scan();
    const refused = await h.call("POST", "/sessions/nameless/tasks", { body: { tasks } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe("handler");
    expect(refused.body.error.message).toBe(
      "handler: required: pool default has no default task (it runs: echo, price)",
    );
    expect(await h.scan()).toEqual(before);
    expect(await total("nameless")).toBe(0);

    withCatalogue({ default: { handlers: ["echo", "price"], default: "echo" } });
    const taken = await h.call("POST", "/sessions/nameless/tasks", { body: { tasks } });
    expect(taken).toMatchObject({ status: 200, body: { created: 3 } });
  });

  it("accepts any handler on a pool whose catalogue is unknown", async () => {
    // Another pool is known, this one is not (e.g. served by `--command` agents).
    withCatalogue({ gpu: { handlers: ["render"], default: null } });
    await session("open-ended");
    const taken = await h.call("POST", "/sessions/open-ended/tasks", {
      body: { handler: "price-py", tasks },
    });
    expect(taken).toMatchObject({ status: 200, body: { created: 3 } });
    withCatalogue(undefined);
    const alsoTaken = await h.call("POST", "/sessions/open-ended/tasks", {
      body: { tasks: [{ index: 3, payload: "{}" }] },
    });
    expect(alsoTaken).toMatchObject({ status: 200, body: { created: 1 } });
  });
});
