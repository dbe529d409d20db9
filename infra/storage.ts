/**
 * Storage: the task table and its indexes, and the payload/result bucket. On-demand billing
 * (idle costs nothing but storage), point-in-time recovery, encryption at rest (AWS-owned keys),
 * TTL on `expiresAt` (every item carries it: the retention after its last write), and a
 * lifecycle rule that expires payloads and results after the same retention.
 */
import type { GridDefinition } from "../packages/core/src/resources.ts";

/**
 * Days payloads and results are kept in the bucket, and task records in the table (every item
 * carries `expiresAt`, the retention after its last write). @default 30
 */
export function retentionDays(raw = process.env.TESSERA_RETENTION_DAYS): number {
  if (raw === undefined || raw === "") return 30;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`TESSERA_RETENTION_DAYS must be a whole number of days, at least 1 (got "${raw}")`);
  return days;
}

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
        // Encrypted at rest with DynamoDB's AWS-owned key, as every table is: the AWS-managed KMS
        // key (`enabled: true`) would add KMS request charges for nothing a grid needs.
        args.serverSideEncryption = undefined;
      },
    },
  });
  // Named by SST (the stage plus a random suffix), not `<prefix>-blobs`: bucket names are
  // global, so a fixed one may already belong to another account (409 BucketAlreadyExists),
  // collides with the same stage in a second account or region, and can be squatted. The
  // functions and agents get the name as TESSERA_BUCKET.
  const bucket = new sst.aws.Bucket("Blobs", {
    lifecycle: [{ id: "expire-payloads-and-results", prefix: "t/", expiresIn: `${retentionDays()} days` }],
  });
  return { table, bucket };
}
