import { describe, expect, it } from "vitest";
import { CallMeter } from "./call-meter.ts";

const KIB = 1024;
const putCapacity = {
  TableName: "tasks",
  CapacityUnits: 3,
  Table: { CapacityUnits: 2 },
  GlobalSecondaryIndexes: { due: { CapacityUnits: 1 } },
};

/** A small run: 1,000 tasks, a few observed calls and the API Gateway and Lambda requests behind them. */
function sampleMeter(): CallMeter {
  const meter = new CallMeter();
  for (const sk of ["c0", "c1"]) {
    meter.record({
      service: "DynamoDB",
      operation: "PutItem",
      input: { TableName: "tasks", Item: { pk: "s1", sk, dpk: "due#3" } },
      output: { ConsumedCapacity: putCapacity },
    });
  }
  meter.record({
    service: "DynamoDB",
    operation: "Query",
    input: { TableName: "tasks" },
    output: { ConsumedCapacity: { TableName: "tasks", CapacityUnits: 0.5 } },
  });
  const Entries = Array.from({ length: 10 }, (_, i) => ({ Id: `${i}`, MessageBody: "x".repeat(KIB) }));
  meter.record({ service: "SQS", operation: "SendMessageBatch", input: { Entries }, output: {} });
  meter.record({ service: "SQS", operation: "ReceiveMessage", input: {}, output: {} });
  meter.record({ service: "SQS", operation: "ReceiveMessage", input: {}, error: new Error("throttled") });
  meter.record({ service: "S3", operation: "PutObject", input: {}, output: {} });
  meter.addModelled({ service: "APIGateway", operation: "HTTP request", requests: 10, bytes: 600 * KIB });
  meter.addModelled({ service: "Lambda", operation: "Invoke", requests: 10, gbSeconds: 1 });
  return meter;
}

describe("CallMeter.report", () => {
  it("prices each operation at list price", () => {
    const rows = sampleMeter().report(1000).rows;
    const row = (service: string, operation: string) =>
      rows.find((r) => r.service === service && r.operation === operation)!;

    // 2 PutItems × 3 units (2 table + 1 index) = 6 WRU × $0.625/M = $3.75e-6.
    expect(row("DynamoDB", "PutItem")).toMatchObject({ calls: 2, wru: 6, rru: 0, callsPerTask: 0.002 });
    expect(row("DynamoDB", "PutItem").dollars).toBeCloseTo(3.75e-6, 12);
    // 0.5 RRU × $0.125/M.
    expect(row("DynamoDB", "Query").dollars).toBeCloseTo(6.25e-8, 14);
    // 10 KiB of bodies is one 64 KiB chunk; two receives (one failed) are one request each.
    expect(row("SQS", "SendMessageBatch")).toMatchObject({ calls: 1, billedRequests: 1 });
    expect(row("SQS", "ReceiveMessage")).toMatchObject({ calls: 2, errors: 1, billedRequests: 2 });
    expect(row("S3", "PutObject").dollars).toBeCloseTo(5e-6, 12);
    // 600 KiB per request = two 512 KiB chunks, × 10 requests = 20 billed × $1/M.
    expect(row("APIGateway", "HTTP request")).toMatchObject({
      modelled: true,
      calls: 10,
      billedRequests: 20,
    });
    expect(row("APIGateway", "HTTP request").dollars).toBeCloseTo(2e-5, 12);
    // 10 × $0.20/M + 1 GB-s × $0.0000133334.
    expect(row("Lambda", "Invoke").dollars).toBeCloseTo(2e-6 + 1.33334e-5, 12);
  });

  it("lists observed rows first, then modelled ones", () => {
    const order = sampleMeter()
      .report(1000)
      .rows.map((r) => `${r.modelled ? "m" : "o"}:${r.service}:${r.operation}`);
    expect(order).toEqual([
      "o:DynamoDB:PutItem",
      "o:DynamoDB:Query",
      "o:S3:PutObject",
      "o:SQS:ReceiveMessage",
      "o:SQS:SendMessageBatch",
      "m:APIGateway:HTTP request",
      "m:Lambda:Invoke",
    ]);
  });

  it("totals per task, per million tasks, and the hottest key", () => {
    const { totals } = sampleMeter().report(1000);
    // Dollars: 3.75 + 0.0625 (DynamoDB) + 1.2 (SQS, 3 billed) + 5 (S3) + 20 (API GW) + 15.3334 (Lambda) = 45.3459 µ$.
    expect(totals.dollars).toBeCloseTo(45.3459e-6, 12);
    expect(totals.dollarsPerMillionTasks).toBeCloseTo(0.0453459, 9);
    // Calls: 7 observed + 20 modelled, over 1,000 tasks.
    expect(totals).toMatchObject({ tasks: 1000, calls: 27, maxWritesPerKey: 2 });
    expect(totals.callsPerTask).toBeCloseTo(0.027, 12);
    expect(totals.observedCallsPerTask).toBeCloseTo(0.007, 12);
    expect(totals.wruPerTask).toBeCloseTo(0.006, 12);
    expect(totals.rruPerTask).toBeCloseTo(0.0005, 12);
    // "s1" and "index:due:due#3" both got 2 writes; the first one seen wins the tie.
    expect(totals.hottestKey).toBe("s1");
  });

  it("formats a fixed-width table that marks modelled rows and errors", () => {
    const table = sampleMeter().report(1000).formatTable();
    const lines = table.split("\n");
    expect(lines[0]).toMatch(
      /^service\s+operation\s+calls\s+calls\/task\s+WRU\s+RRU\s+billed\s+\$\s+\$\/M tasks/,
    );
    expect(lines.find((l) => l.startsWith("APIGateway"))).toMatch(/modelled$/);
    expect(lines.find((l) => l.startsWith("SQS") && l.includes("ReceiveMessage"))).toMatch(/1 errors$/);
    expect(lines.find((l) => l.startsWith("DynamoDB") && l.includes("PutItem"))).toMatch(/\s-\s/);
    expect(lines.at(-2)).toMatch(/^TOTAL\s+1000 tasks\s+27\s+0\.0270\s+6\.0\s+0\.5\s+0\.000045\s+0\.0453/);
    expect(lines.at(-1)).toBe("max writes per key: 2 (s1)");
    // Columns line up: every row's "calls/task" cell ends at the same offset as the header's.
    const end = lines[0]!.indexOf("calls/task") + "calls/task".length;
    for (const line of lines.slice(2, -3)) expect(line.slice(end - 6, end)).toMatch(/^\d\.\d{4}$/);
  });

  it("keeps capacity per table and per index", () => {
    expect(sampleMeter().capacityByTable()).toEqual([
      { table: "tasks", rru: 0.5, wru: 4 },
      { table: "tasks", index: "due", rru: 0, wru: 2 },
    ]);
  });

  it("counts index writes under the names given in the options", () => {
    const meter = new CallMeter({ partitionKey: "id", indexKeys: { gsi1pk: "byOwner" } });
    meter.record({
      service: "DynamoDB",
      operation: "PutItem",
      input: { Item: { id: { S: "x" }, gsi1pk: { S: "owner-1" }, dpk: { S: "ignored" } } },
      output: {},
    });
    expect([...meter.writesPerKey()]).toEqual([
      ["x", 1],
      ["index:byOwner:owner-1", 1],
    ]);
  });

  it("refuses a report for zero tasks and forgets everything on reset", () => {
    const meter = sampleMeter();
    expect(() => meter.report(0)).toThrow(RangeError);
    meter.reset();
    const { rows, totals } = meter.report(1);
    expect(rows).toEqual([]);
    expect(totals).toMatchObject({ calls: 0, dollars: 0, maxWritesPerKey: 0, hottestKey: null });
  });
});
