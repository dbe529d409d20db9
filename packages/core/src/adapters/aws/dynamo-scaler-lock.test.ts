import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsTestGrid, awsTestGrid } from "../../../test/aws-fixture.ts";
import { ACTIVE_INDEX, DUE_INDEX, TENANT_INDEX } from "../../resources.ts";
import { DynamoScalerLock } from "./dynamo-scaler-lock.ts";

let grid: AwsTestGrid;
beforeAll(async () => {
  grid = await awsTestGrid();
});
afterAll(() => grid.close());

/** A lock on the test grid's table whose clock the test sets; each test names its own. */
function lockAt(name: string, clock: { now: number }) {
  return new DynamoScalerLock({
    doc: grid.clients.doc,
    table: grid.ports.grid.table.name,
    name,
    now: () => clock.now,
  });
}
const itemOf = async (name: string) =>
  (
    await grid.clients.doc.send(
      new GetCommand({ TableName: grid.ports.grid.table.name, Key: { pk: `LOCK#${name}`, sk: "LOCK" } }),
    )
  ).Item;

describe("DynamoDB scaler lock (DynamoDB Local)", () => {
  it("of two concurrent acquires exactly one wins, whatever the race", async () => {
    const clock = { now: 1_700_000_000_000 };
    for (let round = 0; round < 5; round++) {
      const name = `race-${round}`;
      const [a, b] = [lockAt(name, clock), lockAt(name, clock)];
      const grants = await Promise.all([
        a.acquire("a", clock.now + 90_000),
        b.acquire("b", clock.now + 90_000),
      ]);
      expect(grants.filter((g) => g !== undefined)).toHaveLength(1);
      const winner = grants[0] ? "a" : "b";
      expect((await itemOf(name))?.owner).toBe(winner);
    }
  });

  it("writes an expiry and a TTL a day ahead, in no index, under a key no task item uses", async () => {
    const clock = { now: 1_700_000_000_000 };
    expect(await lockAt("ttl", clock).acquire("a", clock.now + 95_000)).toEqual({ memory: undefined });
    const item = await itemOf("ttl");
    expect(item).toEqual({
      pk: "LOCK#ttl",
      sk: "LOCK",
      owner: "a",
      expires: clock.now + 95_000,
      expiresAt: 1_700_000_000 + 86_400,
    });
    const table = grid.ports.grid.table.name;
    for (const [index, key] of [
      [DUE_INDEX, "dpk"],
      [ACTIVE_INDEX, "apk"],
      [TENANT_INDEX, "tpk"],
    ] as const) {
      for (const value of ["LOCK#ttl", "LOCK"]) {
        const out = await grid.clients.doc.send(
          new QueryCommand({
            TableName: table,
            IndexName: index,
            KeyConditionExpression: "#k = :v",
            ExpressionAttributeNames: { "#k": key },
            ExpressionAttributeValues: { ":v": value },
          }),
        );
        expect(out.Items).toEqual([]);
      }
    }
  });

  it("is taken over once its holder's time is over (a scaler that died), not before", async () => {
    const clock = { now: 1_700_000_000_000 };
    const lock = lockAt("expired", clock);
    expect(await lock.acquire("dead", clock.now + 95_000)).toBeDefined();
    clock.now += 95_000; // its last millisecond
    expect(await lock.acquire("next", clock.now + 95_000)).toBeUndefined();
    clock.now += 1;
    expect(await lock.acquire("next", clock.now + 95_000)).toBeDefined();
    expect((await itemOf("expired"))?.owner).toBe("next");
    // The dead one comes back: it cannot free its successor's lock.
    await lock.release("dead", { stale: true });
    expect(await itemOf("expired")).toMatchObject({ owner: "next", expires: clock.now + 95_000 });
    expect((await itemOf("expired"))?.memory).toBeUndefined();
    expect(await lock.acquire("third", clock.now + 95_000)).toBeUndefined();
  });

  it("is free again once its holder releases it, and hands the holder's memory to the next", async () => {
    const clock = { now: 1_700_000_000_000 };
    const lock = lockAt("memory", clock);
    expect(await lock.acquire("a", clock.now + 95_000)).toEqual({ memory: undefined });
    await lock.release("a", { gpu: { failures: 2, holds: 1, heldUntil: 1_700_000_900_000 } });
    await lock.release("a", { overwritten: true }); // no longer its holder: nothing
    const grant = await lock.acquire("b", clock.now + 95_000);
    expect(grant).toEqual({ memory: { gpu: { failures: 2, holds: 1, heldUntil: 1_700_000_900_000 } } });
    // A holder that dies keeps the memory it found for the one after it.
    clock.now += 96_000;
    expect(await lock.acquire("c", clock.now + 95_000)).toEqual(grant);
  });

  it("lets a reader see the last holder's memory without taking the lock", async () => {
    const clock = { now: 1_700_000_000_000 };
    const lock = lockAt("peek", clock);
    expect(await lock.peek()).toBeUndefined();
    await lock.acquire("a", clock.now + 95_000);
    await lock.release("a", { status: [{ pool: "gpu" }] });
    expect(await lock.peek()).toEqual({ status: [{ pool: "gpu" }] });
    // Still free: peeking took nothing.
    expect(await lock.acquire("b", clock.now + 95_000)).toEqual({ memory: { status: [{ pool: "gpu" }] } });
  });

  it("refuses a bad owner or expiry with the field named, and changes nothing", async () => {
    const clock = { now: 1_700_000_000_000 };
    const lock = lockAt("bad", clock);
    await expect(lock.acquire("", clock.now + 1_000)).rejects.toThrow("ScalerLock owner");
    await expect(lock.acquire("a", clock.now)).rejects.toThrow("ScalerLock.acquire until");
    await expect(lock.acquire("a", Number.NaN)).rejects.toThrow("ScalerLock.acquire until");
    expect(await itemOf("bad")).toBeUndefined();
    expect(() => lockAt("no spaces", clock)).toThrow("DynamoScalerLock name");
  });
});
