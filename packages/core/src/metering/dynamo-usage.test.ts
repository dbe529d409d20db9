import { describe, expect, it } from "vitest";
import { measureDynamoCall } from "./dynamo-usage.ts";
import type { PartitionKeyNames } from "./write-requests.ts";

const names: PartitionKeyNames = { partitionKey: "pk", indexKeys: { dpk: "due", apk: "active" } };

describe("measureDynamoCall with ConsumedCapacity (shapes as DynamoDB Local returns them)", () => {
  it("splits a PutItem's units between the table and its index", () => {
    const usage = measureDynamoCall(
      "PutItem",
      { TableName: "t", Item: { pk: { S: "s1" }, sk: { S: "a" }, dpk: { S: "d0" } } },
      {
        ConsumedCapacity: {
          TableName: "t",
          CapacityUnits: 3,
          Table: { CapacityUnits: 2 },
          GlobalSecondaryIndexes: { due: { CapacityUnits: 1 } },
        },
      },
      undefined,
      names,
    );
    expect(usage).toEqual({
      rru: 0,
      wru: 3,
      estimatedWru: 0,
      capacity: [
        { table: "t", rru: 0, wru: 2 },
        { table: "t", index: "due", rru: 0, wru: 1 },
      ],
      keyWrites: ["s1", "index:due:d0"],
    });
  });

  it("counts a read operation's units as read units, and a TOTAL-only answer on the table", () => {
    const usage = measureDynamoCall(
      "Query",
      { TableName: "t" },
      { ConsumedCapacity: { TableName: "t", CapacityUnits: 0.5 } },
      undefined,
      names,
    );
    expect(usage.rru).toBe(0.5);
    expect(usage.capacity).toEqual([{ table: "t", rru: 0.5, wru: 0 }]);
    expect(usage.keyWrites).toEqual([]);
  });

  it("prefers AWS's explicit read/write split when the answer has one", () => {
    const usage = measureDynamoCall(
      "TransactWriteItems",
      { TransactItems: [] },
      {
        ConsumedCapacity: [{ TableName: "t", CapacityUnits: 6, ReadCapacityUnits: 2, WriteCapacityUnits: 4 }],
      },
      undefined,
      names,
    );
    expect([usage.rru, usage.wru]).toEqual([2, 4]);
  });
});

describe("measureDynamoCall writes per key", () => {
  it("counts BatchWriteItem puts and deletes, minus the unprocessed ones", () => {
    const put = (pk: string, extra: Record<string, string> = {}) => ({
      PutRequest: { Item: { pk, sk: "x", ...extra } },
    });
    const usage = measureDynamoCall(
      "BatchWriteItem",
      {
        RequestItems: {
          t: [put("a", { apk: "s1#3" }), put("a"), put("b"), { DeleteRequest: { Key: { pk: "c" } } }],
        },
      },
      { UnprocessedItems: { t: [put("b")] } },
      undefined,
      names,
    );
    expect(usage.keyWrites).toEqual(["a", "index:active:s1#3", "a", "c"]);
    // No ConsumedCapacity: three small processed writes estimated at 1 unit each.
    expect([usage.wru, usage.estimatedWru]).toEqual([3, 3]);
  });

  it("counts a transaction's Put, Update and Delete but not its ConditionCheck", () => {
    const usage = measureDynamoCall(
      "TransactWriteItems",
      {
        TransactItems: [
          { ConditionCheck: { TableName: "t", Key: { pk: "session" }, ConditionExpression: "x" } },
          { Put: { TableName: "t", Item: { pk: "p", dpk: "d1" } } },
          { Update: { TableName: "t", Key: { pk: "u" }, ExpressionAttributeValues: { ":d": "d2" } } },
          { Delete: { TableName: "t", Key: { pk: "d" } } },
        ],
      },
      {},
      undefined,
      names,
    );
    expect(usage.keyWrites).toEqual(["p", "index:due:d1", "u", "d"]);
    // Estimated: 3 writes of ≤ 1 KB, doubled for the transaction = 6.
    expect(usage.estimatedWru).toBe(6);
  });

  it("on a failed conditional write counts the table key but no index entry", () => {
    const usage = measureDynamoCall(
      "PutItem",
      { TableName: "t", Item: { pk: "p", dpk: "d1", body: "x".repeat(1500) } },
      undefined,
      Object.assign(new Error("The conditional request failed"), { name: "ConditionalCheckFailedException" }),
      names,
    );
    expect(usage.keyWrites).toEqual(["p"]);
    // pk 2+1 + dpk 3+2 + body 4+1500 = 1512 bytes → 2 units, estimated.
    expect([usage.wru, usage.estimatedWru]).toEqual([2, 2]);
  });

  it("bills a failed write on the stored item that ReturnValuesOnConditionCheckFailure returned", () => {
    const stored = { pk: { S: "p" }, body: { S: "x".repeat(3000) } }; // 3 + 3004 bytes → 3 units
    const usage = measureDynamoCall(
      "UpdateItem",
      { TableName: "t", Key: { pk: "p" }, ExpressionAttributeValues: { ":v": 1 } },
      undefined,
      Object.assign(new Error("failed"), { Item: stored }),
      names,
    );
    expect(usage.estimatedWru).toBe(3);
  });

  it("reads the partition key of PartiQL writes and estimates their units", () => {
    const usage = measureDynamoCall(
      "BatchExecuteStatement",
      {
        Statements: [
          {
            Statement: `UPDATE "t" SET lease = ? WHERE "pk" = ? AND sk = ?`,
            Parameters: [{ N: "5" }, { S: "a" }, { S: "1" }],
          },
          { Statement: `INSERT INTO "t" VALUE {'pk': ?, 'dpk': ?}`, Parameters: [{ S: "b" }, { S: "d9" }] },
          { Statement: `DELETE FROM "t" WHERE pk = 'it''s'` },
          { Statement: `SELECT * FROM "t" WHERE pk = ?`, Parameters: [{ S: "c" }] },
        ],
      },
      { Responses: [] },
      undefined,
      names,
    );
    expect(usage.keyWrites).toEqual(["a", "b", "index:due:d9", "it's"]);
    expect(usage.estimatedWru).toBe(3);
  });
});
