/**
 * Storage: the task table and its indexes, and the payload/result bucket. On-demand billing
 * (idle costs nothing but storage), point-in-time recovery, encryption at rest, TTL on
 * `expiresAt`, and a lifecycle rule that expires payloads and results after the retention.
 */
import type { GridDefinition } from "../packages/core/src/resources.ts";

/** Days payloads and results are kept in the bucket. @default 30 */
export const RETENTION_DAYS = Number(process.env.TESSERA_RETENTION_DAYS ?? 30);

export function storage(grid: GridDefinition) {
  const t = grid.table;
  const fields: Record<string, "string" | "number"> = {
    [t.hashKey.name]: "string",
    [t.rangeKey.name]: "string",
  };
  for (const index of t.indexes) {
    fields[index.hashKey.name] = index.hashKey.type === "S" ? "string" : "number";
    fields[index.rangeKey.name] = index.rangeKey.type === "S" ? "string" : "number";
  }
  const table = new sst.aws.Dynamo("Tasks", {
    fields,
    primaryIndex: { hashKey: t.hashKey.name, rangeKey: t.rangeKey.name },
    globalIndexes: Object.fromEntries(
      t.indexes.map((index) => [
        index.name,
        { hashKey: index.hashKey.name, rangeKey: index.rangeKey.name, projection: "keys-only" as const },
      ]),
    ),
    ttl: "expiresAt",
    transform: {
      table: (args) => {
        args.name = t.name;
        args.billingMode = "PAY_PER_REQUEST";
        args.pointInTimeRecovery = { enabled: true };
        args.serverSideEncryption = { enabled: true };
      },
    },
  });
  const bucket = new sst.aws.Bucket("Blobs", {
    lifecycle: [{ id: "expire-payloads-and-results", prefix: "t/", expiresIn: `${RETENTION_DAYS} days` }],
    transform: {
      bucket: (args) => {
        args.bucket = grid.bucketName;
      },
    },
  });
  return { table, bucket };
}
