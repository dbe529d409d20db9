import { afterAll, beforeAll } from "vitest";
import { type AwsTestGrid, awsTestGrid } from "../../../test/aws-fixture.ts";
import { blobStoreContract } from "../../ports/blob-store.contract.ts";
import { taskStoreContract } from "../../ports/task-store.contract.ts";
import { ticketQueueContract } from "../../ports/ticket-queue.contract.ts";
import { DynamoTaskStore } from "./dynamo-task-store.ts";
import { S3BlobStore } from "./s3-blob-store.ts";
import { SqsTicketQueue } from "./sqs-ticket-queue.ts";

let shared: AwsTestGrid;
beforeAll(async () => {
  shared = await awsTestGrid();
});
afterAll(() => shared.close());

taskStoreContract(
  "DynamoDB Local",
  () => new DynamoTaskStore(shared.clients.doc, shared.ports.grid.table.name),
);
blobStoreContract("S3 on fauxqs", () => new S3BlobStore(shared.clients.s3, shared.ports.grid.bucketName));
ticketQueueContract("SQS on fauxqs", async () => {
  const fresh = await awsTestGrid();
  const q = fresh.ports.grid.queues[0]!;
  return {
    queue: new SqsTicketQueue(fresh.clients.sqs, fresh.queueUrls),
    name: q.name,
    deadLetter: q.deadLetter,
    maxReceiveCount: q.maxReceiveCount,
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
});
