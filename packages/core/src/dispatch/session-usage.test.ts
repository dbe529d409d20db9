import { afterEach, describe, expect, inject, it } from "vitest";
import { attachCallMeter, CallMeter } from "../metering/call-meter.ts";
import { type AwsTestGrid, provisionTestGrid } from "../testing/aws-test-grid.ts";
import { SessionUsage } from "./session-usage.ts";

const grids: AwsTestGrid[] = [];
afterEach(() => {
  for (const g of grids.splice(0)) g.close();
});

describe("session usage flush (DynamoDB Local)", () => {
  it("writes what was recorded once, and a flush with nothing new writes nothing", async () => {
    const g = await provisionTestGrid(inject("emulators"));
    grids.push(g);
    const usage = new SessionUsage(g.ports.store, { shard: 5 });
    const meter = new CallMeter();
    for (const c of [g.clients.dynamo, g.clients.sqs, g.clients.s3]) {
      attachCallMeter(c, usage.recorder);
      attachCallMeter(c, meter);
    }
    const key = { tenant: "acme", sessionId: "s1" };
    usage.add(key, { "api|req": 2 });
    await usage.flush();
    await usage.flush();
    await usage.flush();
    const updates = meter.operations().find((o) => o.operation === "UpdateItem")?.calls;
    expect(updates).toBe(1);
    expect(await g.ports.store.getUsage(key)).toEqual({ "api|req": 2 });
  });

  it("keeps the counters of a failed flush for the next one", async () => {
    const g = await provisionTestGrid(inject("emulators"));
    grids.push(g);
    let fail = true;
    const store = Object.create(g.ports.store) as typeof g.ports.store;
    store.addUsage = async (...args) => {
      if (fail) throw new Error("throttled");
      return g.ports.store.addUsage(...args);
    };
    const usage = new SessionUsage(store);
    const key = { tenant: "acme", sessionId: "s2" };
    usage.add(key, { "lambda|gbs": 1.5 });
    await usage.flush(); // does not throw
    expect(usage.failures).toBe(1);
    fail = false;
    await usage.flush();
    expect(await g.ports.store.getUsage(key)).toEqual({ "lambda|gbs": 1.5 });
  });
});
