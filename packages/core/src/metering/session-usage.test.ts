import { describe, expect, it } from "vitest";
import { encodeTicket } from "../model/ticket.ts";
import { AWS_LIST_PRICES } from "./prices.ts";
import { AgentTime, counterName, priceSessionUsage, SessionUsageRecorder } from "./session-usage.ts";

const A = { tenant: "acme", sessionId: "a" };
const B = { tenant: "acme", sessionId: "b" };
const pk = (s: typeof A, rest = "") => `T#${s.tenant}#S#${s.sessionId}${rest}`;
const ticket = (s: typeof A, start: number) => encodeTicket({ ...s, start, count: 1 });
const usageOf = (r: SessionUsageRecorder) =>
  Object.fromEntries(r.drain().map(({ session, counters }) => [session.sessionId, counters]));

describe("session usage: attribution by the counting middleware", () => {
  it("gives a call to the session its keys name, and splits a call over the sessions of its items", () => {
    const r = new SessionUsageRecorder();
    r.record({
      service: "DynamoDB",
      operation: "UpdateItem",
      input: { Key: { pk: { S: pk(A, "#G#0") }, sk: { S: "C#000000000000" } } },
      output: { ConsumedCapacity: { CapacityUnits: 2 } },
    });
    r.record({
      service: "DynamoDB",
      operation: "BatchWriteItem",
      input: {
        RequestItems: {
          t: [
            { PutRequest: { Item: { pk: { S: pk(A, "#G#0") }, p: { S: "x" } } } },
            { PutRequest: { Item: { pk: { S: pk(B, "#G#0") }, p: { S: "y" } } } },
            { PutRequest: { Item: { pk: { S: pk(B, "#G#0") }, p: { S: "z" } } } },
            { PutRequest: { Item: { pk: { S: pk(B, "#G#0") }, p: { S: "w" } } } },
          ],
        },
      },
    });
    r.record({ service: "S3", operation: "PutObject", input: { Key: "t/acme/s/b/p/000000000000.json" } });
    const u = usageOf(r);
    expect(u.a).toMatchObject({
      [counterName.calls("DynamoDB", "UpdateItem")]: 1,
      [counterName.wru("DynamoDB", "UpdateItem")]: 2,
      [counterName.calls("DynamoDB", "BatchWriteItem")]: 0.25,
    });
    expect(u.b).toMatchObject({
      [counterName.calls("DynamoDB", "BatchWriteItem")]: 0.75,
      [counterName.calls("S3", "PutObject")]: 1,
    });
  });

  it("follows a ticket from its send through its receive to its acknowledgement", () => {
    const r = new SessionUsageRecorder();
    r.record({
      service: "SQS",
      operation: "SendMessageBatch",
      input: { Entries: [{ MessageBody: ticket(A, 0) }, { MessageBody: ticket(B, 0) }] },
    });
    r.record({
      service: "SQS",
      operation: "ReceiveMessage",
      input: {},
      output: {
        Messages: [
          { Body: ticket(A, 0), ReceiptHandle: "r-a" },
          { Body: ticket(B, 0), ReceiptHandle: "r-b" },
          { Body: ticket(B, 64), ReceiptHandle: "r-b2" },
        ],
      },
    });
    r.record({
      service: "SQS",
      operation: "DeleteMessageBatch",
      input: { Entries: [{ ReceiptHandle: "r-a" }, { ReceiptHandle: "r-b" }] },
    });
    r.record({ service: "SQS", operation: "ChangeMessageVisibility", input: { ReceiptHandle: "r-b2" } });
    const u = usageOf(r);
    const calls = (s: string, op: string) => u[s]![counterName.calls("SQS", op)];
    expect([calls("a", "SendMessageBatch"), calls("b", "SendMessageBatch")]).toEqual([0.5, 0.5]);
    expect(calls("a", "ReceiveMessage")).toBeCloseTo(1 / 3);
    expect(calls("b", "ReceiveMessage")).toBeCloseTo(2 / 3);
    expect([calls("a", "DeleteMessageBatch"), calls("b", "DeleteMessageBatch")]).toEqual([0.5, 0.5]);
    expect(calls("b", "ChangeMessageVisibility")).toBe(1);
  });

  it("gives the acknowledgements of tickets a Lambda event delivered to their sessions", () => {
    const r = new SessionUsageRecorder();
    r.noteReceived([{ body: ticket(B, 0), receipt: "evt-1" }]);
    r.record({
      service: "SQS",
      operation: "ChangeMessageVisibilityBatch",
      input: { Entries: [{ ReceiptHandle: "evt-1" }] },
    });
    expect(usageOf(r).b).toEqual(
      expect.objectContaining({ [counterName.calls("SQS", "ChangeMessageVisibilityBatch")]: 1 }),
    );
  });

  it("does not bill the writes of usage counters to their session (a flush would never end)", () => {
    const r = new SessionUsageRecorder();
    r.record({
      service: "DynamoDB",
      operation: "UpdateItem",
      input: { Key: { pk: { S: pk(A, "#U#3") }, sk: { S: "#USAGE" } } },
    });
    expect(r.drain()).toEqual([]);
    expect(r.unattributedCalls).toBe(1);
  });

  it("counts calls that name no session as the grid's own", () => {
    const r = new SessionUsageRecorder();
    r.record({ service: "SQS", operation: "ReceiveMessage", input: {}, output: {} }); // empty long poll
    r.record({
      service: "DynamoDB",
      operation: "Query",
      input: { ExpressionAttributeValues: { ":pk": "A#3" } },
    });
    expect(r.unattributedCalls).toBe(2);
    expect(r.drain()).toEqual([]);
  });

  it("puts counters back when a flush fails", () => {
    const r = new SessionUsageRecorder();
    r.add(A, { [counterName.apiRequests]: 2 });
    const drained = r.drain();
    r.restore(drained);
    r.add(A, { [counterName.apiRequests]: 1 });
    expect(usageOf(r).a).toEqual({ [counterName.apiRequests]: 3 });
  });
});

describe("session cost", () => {
  it("prices requests, Lambda and agent time from the price table, and says which prices", () => {
    const cost = priceSessionUsage({
      [counterName.calls("DynamoDB", "UpdateItem")]: 10,
      [counterName.wru("DynamoDB", "UpdateItem")]: 20,
      [counterName.calls("SQS", "SendMessageBatch")]: 1,
      [counterName.billed("SQS", "SendMessageBatch")]: 1,
      [counterName.apiRequests]: 4,
      [counterName.lambdaInvocations]: 2,
      [counterName.lambdaGbSeconds]: 3,
      [counterName.agentSeconds("c7g.xlarge", "spot")]: 3_600,
      [counterName.agentSeconds("local", "local")]: 60,
    });
    const p = AWS_LIST_PRICES;
    const expected =
      20 * p.dynamodb.writeRequestUnit +
      p.sqs.standardRequest +
      4 * p.apiGateway.httpRequest +
      2 * p.lambda.request +
      3 * p.lambda.arm64GbSecond +
      0.145 * p.ec2.spotFraction;
    expect(cost.dollars).toBeCloseTo(expected, 9);
    expect(cost).toMatchObject({ requests: 15, lambdaGbSeconds: 3, agentSeconds: 3_660, currency: "USD" });
    expect(cost.prices).toEqual({ region: p.region, takenOn: p.takenOn, source: p.source });
    expect(cost.lines.find((l) => l.service === "local agent")).toMatchObject({
      item: "process time",
      unit: "instance-seconds",
      priced: false,
      dollars: 0,
      quantity: 60,
    });
  });
});

describe("agent time", () => {
  it("charges the time it had tasks running, split by the sessions' task time", () => {
    let now = 0;
    const t = new AgentTime({ instanceType: "c7g.xlarge", market: "spot", now: () => now });
    const name = counterName.agentSeconds("c7g.xlarge", "spot");
    // Window 1 (0-30 s): A runs 10 s of tasks, B 30 s, at once: 30 s busy.
    const endA = t.start(A);
    const endB = t.start(B);
    now = 10_000;
    endA();
    now = 30_000;
    endB();
    expect(t.window().map((x) => [x.session.sessionId, x.counters[name]])).toEqual([
      ["a", 7.5],
      ["b", 22.5],
    ]);
    // Four tasks of B at once for 10 s cost 10 instance-seconds, not 40.
    now = 40_000;
    const ends = [t.start(B), t.start(B), t.start(B), t.start(B)];
    now = 50_000;
    for (const end of ends) end();
    expect(t.window().map((x) => [x.session.sessionId, x.counters[name]])).toEqual([["b", 10]]);
  });

  it("charges no session for the agent's idle time, before, between or after its tasks", () => {
    let now = 0;
    const t = new AgentTime({ instanceType: "local", market: "local", now: () => now });
    const name = counterName.agentSeconds("local", "local");
    // An agent idle for 90 s, then one 20 ms task of A, then idle again until its last window.
    now = 90_000;
    expect(t.window()).toEqual([]);
    const end = t.start(A);
    now = 90_020;
    end();
    now = 120_000;
    expect(t.window().map((x) => [x.session.sessionId, x.counters[name]])).toEqual([["a", 0.02]]);
    now = 150_000;
    expect(t.window(true)).toEqual([]);
  });

  it("counts a task still running at a window's end in that window", () => {
    let now = 0;
    const t = new AgentTime({ instanceType: "local", market: "local", now: () => now });
    t.start(A);
    now = 5_000;
    expect(t.window()[0]!.counters).toEqual({ [counterName.agentSeconds("local", "local")]: 5 });
  });
});
