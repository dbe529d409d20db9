import type { GridPorts } from "../../dispatch/grid-ports.ts";
import { DEFAULT_REAPER_TIMING, type ReaperTiming } from "../../model/limits.ts";
import type { Clock } from "../../ports/clock.ts";
import type { GridDefinition } from "../../resources.ts";
import { SystemClock } from "../memory/clocks.ts";
import type { AwsClients } from "./clients.ts";
import { DynamoTaskStore } from "./dynamo-task-store.ts";
import { S3BlobStore } from "./s3-blob-store.ts";
import { SqsTicketQueue } from "./sqs-ticket-queue.ts";

/** Grid ports over DynamoDB, SQS and S3 (AWS or the local emulators). */
export function awsGridPorts(
  clients: AwsClients,
  grid: GridDefinition,
  queueUrls: Readonly<Record<string, string>>,
  options: { clock?: Clock; timing?: Partial<ReaperTiming>; random?: () => number } = {},
): GridPorts {
  return {
    store: new DynamoTaskStore(clients.doc, grid.table.name),
    queue: new SqsTicketQueue(clients.sqs, queueUrls),
    blobs: new S3BlobStore(clients.s3, grid.bucketName),
    clock: options.clock ?? new SystemClock(),
    grid,
    timing: { ...DEFAULT_REAPER_TIMING, ...options.timing },
    random: options.random ?? Math.random,
  };
}
