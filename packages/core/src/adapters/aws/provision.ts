import {
  CreateTableCommand,
  type CreateTableCommandInput,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { BucketAlreadyOwnedByYou, CreateBucketCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { GridDefinition, TableDefinition } from "../../resources.ts";
import type { AwsClients } from "./clients.ts";

/** CreateTable input for a table definition (on-demand billing). */
export function toCreateTableInput(table: TableDefinition): CreateTableCommandInput {
  const attributes = new Map<string, "S" | "N">();
  for (const k of [table.hashKey, table.rangeKey, ...table.indexes.flatMap((i) => [i.hashKey, i.rangeKey])]) {
    attributes.set(k.name, k.type);
  }
  return {
    TableName: table.name,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: table.hashKey.name, KeyType: "HASH" },
      { AttributeName: table.rangeKey.name, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: table.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.hashKey.name, KeyType: "HASH" },
        { AttributeName: i.rangeKey.name, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: i.projection },
    })),
  };
}

/**
 * Creates a grid's table, queues (each with its DLQ and redrive policy) and bucket, for local
 * mode and tests; on AWS, `infra/` creates the same resources from the same definition.
 * Idempotent. Returns the queue URL of every logical queue name.
 */
export async function provisionGrid(
  clients: AwsClients,
  grid: GridDefinition,
): Promise<Record<string, string>> {
  try {
    await clients.dynamo.send(new CreateTableCommand(toCreateTableInput(grid.table)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const urls: Record<string, string> = {};
  for (const q of grid.queues) {
    const dlq = await clients.sqs.send(
      new CreateQueueCommand({
        QueueName: q.deadLetterPhysicalName,
        Attributes: { MessageRetentionPeriod: String(q.retentionSeconds) },
      }),
    );
    const dlqArn = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    const main = await clients.sqs.send(
      new CreateQueueCommand({
        QueueName: q.physicalName,
        Attributes: {
          VisibilityTimeout: String(q.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(q.retentionSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
            maxReceiveCount: q.maxReceiveCount,
          }),
        },
      }),
    );
    urls[q.name] = main.QueueUrl!;
    urls[q.deadLetter] = dlq.QueueUrl!;
  }
  try {
    await clients.s3.send(new CreateBucketCommand({ Bucket: grid.bucketName }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }
  return urls;
}
