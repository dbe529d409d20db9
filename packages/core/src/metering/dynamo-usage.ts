import { itemSizeBytes } from "./item-size.ts";
import {
  asRecord,
  batchWriteRequests,
  type Json,
  keyText,
  type PartitionKeyNames,
  sizeUnits,
  type WriteRequest,
  writeRequests,
} from "./write-requests.ts";

/** Capacity consumed on one table, or on one index of it when `index` is set. */
export interface CapacityUse {
  table: string;
  index?: string;
  rru: number;
  wru: number;
}

/** What one DynamoDB call consumed, as far as its request and response tell. */
export interface DynamoUsage {
  rru: number;
  wru: number;
  /** The part of `wru` computed from request sizes because the response had no ConsumedCapacity. */
  estimatedWru: number;
  capacity: CapacityUse[];
  /** One entry per write landing on a partition: the table `pk` value, or `index:<name>:<value>`. */
  keyWrites: string[];
}

/** DynamoDB operations that accept `ReturnConsumedCapacity`. */
export const CAPACITY_OPERATIONS: ReadonlySet<string> = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "GetItem",
  "BatchGetItem",
  "BatchWriteItem",
  "TransactWriteItems",
  "TransactGetItems",
  "Query",
  "Scan",
]);

const WRITE_OPERATIONS: ReadonlySet<string> = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
  "TransactWriteItems",
]);

/** Partition keys the writes land on, one entry per write and per index entry written. */
function keyWritesOf(
  writes: readonly WriteRequest[],
  names: PartitionKeyNames,
  succeeded: boolean,
): string[] {
  const keys: string[] = [];
  for (const write of writes) {
    const pk = keyText(write.record[names.partitionKey]);
    if (pk !== undefined) keys.push(pk);
    // A failed write leaves no index entry; the table partition still served (and billed) it.
    if (!write.isPut || !succeeded) continue;
    for (const [attribute, index] of Object.entries(names.indexKeys)) {
      const value = keyText(write.record[attribute]);
      if (value !== undefined) keys.push(`index:${index}:${value}`);
    }
  }
  return keys;
}

/** Removes one occurrence of each of `removed` from `keys`. */
function withoutEach(keys: string[], removed: readonly string[]): string[] {
  const result = [...keys];
  for (const key of removed) {
    const at = result.indexOf(key);
    if (at !== -1) result.splice(at, 1);
  }
  return result;
}

type Kind = "read" | "write";

function unitsOf(raw: unknown, kind: Kind): { rru: number; wru: number } {
  const units = asRecord(raw);
  if (!units) return { rru: 0, wru: 0 };
  const read = units.ReadCapacityUnits;
  const write = units.WriteCapacityUnits;
  // AWS splits read and write units for some calls; DynamoDB Local only gives the total.
  if (typeof read === "number" || typeof write === "number") {
    return { rru: typeof read === "number" ? read : 0, wru: typeof write === "number" ? write : 0 };
  }
  const total = typeof units.CapacityUnits === "number" ? units.CapacityUnits : 0;
  return kind === "write" ? { rru: 0, wru: total } : { rru: total, wru: 0 };
}

function capacityOf(consumed: unknown, kind: Kind, usage: DynamoUsage): void {
  const entries = Array.isArray(consumed) ? consumed : [consumed];
  for (const raw of entries) {
    const entry = asRecord(raw);
    if (!entry) continue;
    const table = typeof entry.TableName === "string" ? entry.TableName : "?";
    const total = unitsOf(entry, kind);
    usage.rru += total.rru;
    usage.wru += total.wru;
    const indexes = { ...asRecord(entry.GlobalSecondaryIndexes), ...asRecord(entry.LocalSecondaryIndexes) };
    const hasBreakdown = entry.Table !== undefined || Object.keys(indexes).length > 0;
    usage.capacity.push({ table, ...(hasBreakdown ? unitsOf(entry.Table, kind) : total) });
    for (const [index, units] of Object.entries(indexes)) {
      usage.capacity.push({ table, index, ...unitsOf(units, kind) });
    }
  }
}

/**
 * Measures one DynamoDB call from its input and its output (or the error it threw). Capacity
 * comes from the response's ConsumedCapacity; when a write has none (an error, PartiQL on
 * DynamoDB Local, or `ReturnConsumedCapacity: "NONE"`) its write units are estimated from the
 * request sizes and reported in `estimatedWru` (a lower bound: an update is billed on the whole
 * stored item, and index writes are not estimated). Key writes count the table partition key of
 * every attempted write and the index keys of every successful Put; UpdateItem counts only the
 * table key, since the new index key values hide in the update expression.
 */
export function measureDynamoCall(
  operation: string,
  input: Json,
  output: Json | undefined,
  error: unknown,
  names: PartitionKeyNames,
): DynamoUsage {
  const usage: DynamoUsage = { rru: 0, wru: 0, estimatedWru: 0, capacity: [], keyWrites: [] };
  const writes = writeRequests(operation, input, names);
  const kind: Kind = WRITE_OPERATIONS.has(operation) || writes.length > 0 ? "write" : "read";
  const succeeded = error === undefined;
  const unprocessed = operation === "BatchWriteItem" ? batchWriteRequests(output?.UnprocessedItems) : [];
  usage.keyWrites = withoutEach(keyWritesOf(writes, names, succeeded), keyWritesOf(unprocessed, names, true));

  if (output?.ConsumedCapacity !== undefined) {
    capacityOf(output.ConsumedCapacity, kind, usage);
  } else if (kind === "write") {
    const failedItem = asRecord(asRecord(error)?.Item);
    const unitsOfAll = (requests: WriteRequest[]) => requests.reduce((sum, w) => sum + w.units, 0);
    let units = unitsOfAll(writes) - unitsOfAll(unprocessed);
    // ReturnValuesOnConditionCheckFailure hands back the stored item the failed write was billed on.
    if (failedItem)
      units = Math.max(
        units,
        sizeUnits(() => itemSizeBytes(failedItem)),
      );
    usage.wru = units;
    usage.estimatedWru = units;
  }
  return usage;
}
