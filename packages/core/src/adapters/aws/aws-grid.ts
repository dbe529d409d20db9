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
  options: {
    clock?: Clock;
    timing?: Partial<ReaperTiming>;
    random?: () => number;
    /**
     * Days the table keeps an item after the grid's last write of it: the bucket's retention
     * (TESSERA_RETENTION_DAYS). @default DEFAULT_RETENTION_DAYS (30)
     */
    retentionDays?: number;
  } = {},
): GridPorts {
  const clock = options.clock ?? new SystemClock();
  return {
    store: new DynamoTaskStore(clients.doc, grid.table.name, { clock, retentionDays: options.retentionDays }),
    queue: new SqsTicketQueue(clients.sqs, queueUrls),
    blobs: new S3BlobStore(clients.s3, grid.bucketName),
    clock,
    grid,
    timing: { ...DEFAULT_REAPER_TIMING, ...options.timing },
    random: options.random ?? Math.random,
  };
}
