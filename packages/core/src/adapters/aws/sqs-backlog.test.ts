import { afterEach, describe, expect, inject, it } from "vitest";
import { type AwsTestGrid, provisionTestGrid } from "../../testing/aws-test-grid.ts";
import { SqsBacklog } from "./sqs-backlog.ts";

const grids: AwsTestGrid[] = [];
afterEach(() => {
  for (const g of grids.splice(0)) g.close();
});

describe("SQS backlog (fauxqs)", () => {
  it("counts a pool's waiting and held tickets over its priority queues, and only that pool's", async () => {
    const g = await provisionTestGrid(inject("emulators"), { pools: ["default", "batch"] });
    grids.push(g);
    const backlog = new SqsBacklog(g.clients.sqs, g.grid, g.queueUrls);
    expect(await backlog.backlog("batch")).toEqual({
      queued: 0,
      inFlight: 0,
      oldestAgeMs: 0,
      queuedByPriority: { high: 0, normal: 0, low: 0 },
    });
    const tickets = (n: number, delaySeconds?: number) =>
      Array.from({ length: n }, (_, i) => ({ body: `t${i}`, delaySeconds }));
    await g.ports.queue.send("batch-normal", tickets(5));
    await g.ports.queue.send("batch-high", [...tickets(2), ...tickets(1, 60)]);
    await g.ports.queue.send("default-normal", tickets(4));
    await g.ports.queue.receive("batch-normal", { max: 3, waitSeconds: 0, visibilitySeconds: 60 });
    expect(await backlog.backlog("batch")).toEqual({
      queued: 5,
      inFlight: 3,
      oldestAgeMs: 0,
      queuedByPriority: { high: 3, normal: 2, low: 0 },
    });
    expect(await backlog.backlog("default")).toMatchObject({ queued: 4, inFlight: 0 });
    await expect(backlog.backlog("nope")).rejects.toThrow('unknown pool "nope"');
  });
});
