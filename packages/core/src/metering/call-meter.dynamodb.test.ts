import { randomUUID } from "node:crypto";
import {
  BatchExecuteStatementCommand,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { attachCallMeter, CallMeter } from "./call-meter.ts";
import { itemSizeBytes, transactionalUnits, writeUnits } from "./item-size.ts";

function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}

// The shared DynamoDB Local of this test run (test/global-setup.ts); the table name is unique to this file.
const TABLE = `meter-test-${randomUUID().slice(0, 8)}`;
const body = "x".repeat(1500);

describe("attachCallMeter against DynamoDB Local", () => {
  let client: DynamoDBClient;
  let documents: DynamoDBDocumentClient;
  const meter = new CallMeter();
  /** ConsumedCapacity as DynamoDB Local returned it to the caller, by step. */
  const reported: Record<string, unknown> = {};

  beforeAll(async () => {
    client = clientFor(inject("emulators").dynamoEndpoint);
    documents = DynamoDBDocumentClient.from(client);
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
          { AttributeName: "dpk", AttributeType: "S" },
          { AttributeName: "due", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: "due",
            KeySchema: [
              { AttributeName: "dpk", KeyType: "HASH" },
              { AttributeName: "due", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
      }),
    );
    // Attached to both: the document client shares the client's stack, and must not count twice.
    attachCallMeter(client, meter);
    attachCallMeter(documents, meter);

    const put = await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: "s1" }, sk: { S: "a" }, dpk: { S: "d0" }, due: { S: "t1" }, body: { S: body } },
      }),
    );
    reported.put = put.ConsumedCapacity;
    const failed = client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: "s1" }, sk: { S: "a" } },
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    await expect(failed).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
    const batch = await documents.send(
      new BatchWriteCommand({
        RequestItems: {
          [TABLE]: [
            { PutRequest: { Item: { pk: "s2", sk: "a", dpk: "d0", due: "t2" } } },
            { PutRequest: { Item: { pk: "s2", sk: "b" } } },
          ],
        },
      }),
    );
    reported.batch = batch.ConsumedCapacity;
    const transaction = await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: TABLE,
              Key: { pk: { S: "s1" }, sk: { S: "a" } },
              ConditionExpression: "attribute_exists(pk)",
            },
          },
          {
            Put: {
              TableName: TABLE,
              Item: { pk: { S: "s3" }, sk: { S: "a" }, dpk: { S: "d1" }, due: { S: "t" } },
            },
          },
          { Put: { TableName: TABLE, Item: { pk: { S: "s3" }, sk: { S: "b" } } } },
        ],
      }),
    );
    reported.transaction = transaction.ConsumedCapacity;
    const query = await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: "s2" } },
      }),
    );
    reported.query = query.ConsumedCapacity;
    const partiql = await client.send(
      new BatchExecuteStatementCommand({
        Statements: [
          {
            Statement: `UPDATE "${TABLE}" SET n = ? WHERE pk = ? AND sk = ?`,
            Parameters: [{ N: "1" }, { S: "s3" }, { S: "b" }],
          },
        ],
      }),
    );
    reported.partiql = partiql.ConsumedCapacity;
  });

  afterAll(() => {
    client?.destroy();
  });

  const row = (operation: string) => meter.report(1).rows.find((r) => r.operation === operation)!;

  it("asks DynamoDB for capacity and records what it reported", () => {
    // 1,512-byte item: 2 table units, plus 1 for its KEYS_ONLY entry in the "due" index.
    expect(writeUnits(itemSizeBytes({ pk: "s1", sk: "a", dpk: "d0", due: "t1", body }))).toBe(2);
    expect(reported.put).toEqual({
      TableName: TABLE,
      CapacityUnits: 3,
      Table: { CapacityUnits: 2 },
      GlobalSecondaryIndexes: { due: { CapacityUnits: 1 } },
    });
    expect(row("Query")).toMatchObject({ calls: 1, rru: 0.5, wru: 0 });
    expect(reported.query).toMatchObject({ CapacityUnits: 0.5 });
  });

  it("counts a failed conditional write as a call, estimating it on the stored item", () => {
    // 3 observed units for the first Put; the failed one has no ConsumedCapacity, so it is
    // estimated on the stored 1.5 KB item that ALL_OLD returned: 2 more.
    expect(row("PutItem")).toMatchObject({ calls: 2, errors: 1, wru: 5, estimatedWru: 2 });
  });

  it("records a document-client batch once, with its index write", () => {
    // Two small puts at 1 unit each, plus the "due" index entry of the first.
    expect(reported.batch).toEqual([
      {
        TableName: TABLE,
        CapacityUnits: 3,
        Table: { CapacityUnits: 2 },
        GlobalSecondaryIndexes: { due: { CapacityUnits: 1 } },
      },
    ]);
    expect(row("BatchWriteItem")).toMatchObject({ calls: 1, wru: 3, estimatedWru: 0 });
  });

  it("sees a transaction bill double, and its ConditionCheck write nothing", () => {
    // Table: 2 puts × 1 unit, doubled = 4; index: 1 entry, doubled = 2.
    expect(transactionalUnits(2) + transactionalUnits(1)).toBe(6);
    expect(reported.transaction).toEqual([
      {
        TableName: TABLE,
        CapacityUnits: 6,
        Table: { CapacityUnits: 4 },
        GlobalSecondaryIndexes: { due: { CapacityUnits: 2 } },
      },
    ]);
    expect(row("TransactWriteItems")).toMatchObject({ calls: 1, wru: 6 });
  });

  it("estimates PartiQL writes, which DynamoDB Local reports no capacity for", () => {
    expect(reported.partiql).toBeUndefined();
    expect(row("BatchExecuteStatement")).toMatchObject({ calls: 1, wru: 1, estimatedWru: 1 });
  });

  it("keeps capacity per table and index", () => {
    expect(meter.capacityByTable()).toEqual([
      { table: TABLE, rru: 0.5, wru: 8 },
      { table: TABLE, index: "due", rru: 0, wru: 4 },
    ]);
  });

  it("counts writes per partition key, index keys included", () => {
    expect(Object.fromEntries(meter.writesPerKey())).toEqual({
      s1: 2, // the put and the failed put; the transaction's ConditionCheck is not a write
      "index:due:d0": 2, // s1/a and s2/a
      s2: 2,
      s3: 3, // two transactional puts and the PartiQL update
      "index:due:d1": 1,
    });
    expect(meter.report(1).totals).toMatchObject({ maxWritesPerKey: 3, hottestKey: "s3" });
  });
});
