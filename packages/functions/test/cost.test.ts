import { AWS_LIST_PRICES, attachCallMeter, CallMeter } from "@tessera/core/metering";
import { defineTask } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Harness, harness } from "./harness.ts";

const square = defineTask("square", z.object({ x: z.number() }), ({ x }) => ({ y: x * x }));

describe("per-session cost (GET /sessions/{id})", () => {
  let h: Harness;
  const meter = new CallMeter();
  beforeAll(async () => {
    h = await harness([square]);
    for (const c of [h.grid.clients.dynamo, h.grid.clients.sqs, h.grid.clients.s3]) attachCallMeter(c, meter);
  });
  afterAll(() => h.close());

  const run = async (sessionId: string, tasks: number) => {
    await h.call("POST", "/sessions", { body: { sessionId, config: { chunkMaxTasks: 1 } } });
    const submitted = await h.call("POST", `/sessions/${sessionId}/tasks`, {
      body: {
        handler: "square",
        tasks: Array.from({ length: tasks }, (_, index) => ({ index, payload: '{"x":3}' })),
      },
    });
    expect(submitted.status).toBe(200);
    await h.call("POST", `/sessions/${sessionId}/close`);
  };

  it("reports each session's requests and Lambda time, priced from the dated table, and they add up to the grid's calls", async () => {
    await run("big", 12);
    await run("small", 3);
    for (let i = 0; i < 20; i++) {
      const { event } = await h.deliver("default-normal", { max: 10 });
      if (event.Records.length === 0) break;
    }
    const big = await h.call("GET", "/sessions/big");
    expect(big.body.counts).toMatchObject({ total: 12, succeeded: 12 });
    const small = await h.call("GET", "/sessions/small");
    const c = big.body.cost;
    expect(c.prices).toEqual({
      region: AWS_LIST_PRICES.region,
      takenOn: AWS_LIST_PRICES.takenOn,
      source: AWS_LIST_PRICES.source,
    });
    expect(c.currency).toBe("USD");
    expect(c.dollars).toBeGreaterThan(0);
    expect(c.lambdaGbSeconds).toBeGreaterThan(0);
    const services = new Set(c.lines.map((l: { service: string }) => l.service));
    for (const s of ["DynamoDB", "SQS", "Lambda", "APIGateway"]) expect(services).toContain(s);
    // Four times the tasks: more requests than the small session (not four times: fixed costs).
    expect(c.requests).toBeGreaterThan(small.body.cost.requests);
    expect(c.dollars).toBeCloseTo(
      c.lines.reduce((n: number, l: { dollars: number }) => n + l.dollars, 0),
      9,
    );

    // Every call the grid's clients made is a session's or the grid's own: nothing is lost.
    const usage = h.runtime.usage!;
    await usage.flush();
    const callsSoFar = meter.operations().reduce((n, o) => n + o.calls, 0);
    const unattributed = usage.recorder.unattributedCalls; // before the reads below
    const pending = usage.recorder
      .drain()
      .reduce(
        (n, d) => n + Object.entries(d.counters).reduce((m, [k, v]) => (k.endsWith("|calls") ? m + v : m), 0),
        0,
      );
    const stored = async (sessionId: string) =>
      Object.entries(await h.grid.ports.store.getUsage({ tenant: "acme", sessionId })).reduce(
        (n, [k, v]) => (k.endsWith("|calls") ? n + v : n),
        0,
      );
    const attributed = (await stored("big")) + (await stored("small")) + pending;
    expect(attributed + unattributed).toBeCloseTo(callsSoFar, 6);
  });

  it("writes nothing for a rejected request", async () => {
    const before = await h.scan();
    expect((await h.call("POST", "/sessions/big/tasks", { body: { tasks: "nope" } })).status).toBe(400);
    expect(await h.scan()).toEqual(before);
  });
});
