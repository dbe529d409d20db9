import {
  isAttributeValue,
  itemSizeBytes,
  transactionalUnits,
  valueSizeBytes,
  writeUnits,
} from "./item-size.ts";

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

/** Which attributes are partition keys, of the table and of its indexes. */
export interface PartitionKeyNames {
  /** Partition key attribute of the tables. */
  partitionKey: string;
  /** Index partition key attribute → index name. */
  indexKeys: Readonly<Record<string, string>>;
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
const PARTIQL_OPERATIONS: ReadonlySet<string> = new Set([
  "ExecuteStatement",
  "BatchExecuteStatement",
  "ExecuteTransaction",
]);
const PARTIQL_WRITE = /^\s*(INSERT|UPDATE|DELETE|UPSERT|REPLACE)\b/i;

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The key text of a partition key value in either form; undefined when it is not a key type. */
function keyText(value: unknown): string | undefined {
  if (isAttributeValue(value)) {
    if ("S" in value) return value.S;
    if ("N" in value) return value.N;
    if ("B" in value) return Buffer.from(value.B as Uint8Array | string).toString("base64");
    return undefined;
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "bigint")
    return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return undefined;
}

/** One write the call asked for: the item or key it names, and its cost if estimated. */
interface WriteRequest {
  /** Full item (Put) or key (Update, Delete). */
  record: Json;
  isPut: boolean;
  /** Write units by request size: a lower bound for Update and Delete, billed on the stored item. */
  units: number;
}

function sizeUnits(bytes: () => number): number {
  try {
    return writeUnits(bytes());
  } catch {
    // Not our job to validate items: DynamoDB will reject it and bill at most the minimum.
    return 1;
  }
}

function putRequest(item: Json): WriteRequest {
  return { record: item, isPut: true, units: sizeUnits(() => itemSizeBytes(item)) };
}

function updateRequest(request: Json): WriteRequest {
  const key = asRecord(request.Key) ?? {};
  const values = Object.values(asRecord(request.ExpressionAttributeValues) ?? {});
  const units = sizeUnits(
    () => itemSizeBytes(key) + values.reduce<number>((s, v) => s + valueSizeBytes(v), 0),
  );
  return { record: key, isPut: false, units };
}

function deleteRequest(request: Json): WriteRequest {
  return { record: asRecord(request.Key) ?? {}, isPut: false, units: 1 };
}

function batchWriteRequests(requestItems: unknown): WriteRequest[] {
  const requests: WriteRequest[] = [];
  for (const entries of Object.values(asRecord(requestItems) ?? {})) {
    for (const entry of asArray(entries)) {
      const put = asRecord(asRecord(entry)?.PutRequest);
      const del = asRecord(asRecord(entry)?.DeleteRequest);
      if (put) requests.push(putRequest(asRecord(put.Item) ?? {}));
      else if (del) requests.push(deleteRequest(del));
    }
  }
  return requests;
}

/** The writes a call asks for. A ConditionCheck writes nothing, so it is left out. */
function writeRequests(operation: string, input: Json): WriteRequest[] {
  switch (operation) {
    case "PutItem":
      return [putRequest(asRecord(input.Item) ?? {})];
    case "UpdateItem":
      return [updateRequest(input)];
    case "DeleteItem":
      return [deleteRequest(input)];
    case "BatchWriteItem":
      return batchWriteRequests(input.RequestItems);
    case "TransactWriteItems":
      return asArray(input.TransactItems).flatMap((raw): WriteRequest[] => {
        const action = asRecord(raw) ?? {};
        const put = asRecord(action.Put);
        const update = asRecord(action.Update);
        const del = asRecord(action.Delete);
        const request = put
          ? putRequest(asRecord(put.Item) ?? {})
          : update
            ? updateRequest(update)
            : del
              ? deleteRequest(del)
              : undefined;
        return request ? [{ ...request, units: transactionalUnits(request.units) }] : [];
      });
    default:
      return [];
  }
}

/**
 * Writes of a PartiQL call. Only the partition key is read from the statement (`"pk" = ?` in a
 * WHERE clause, `'pk': ?` in an INSERT tuple), by a regular expression, not a parser.
 */
function partiqlWrites(operation: string, input: Json, names: PartitionKeyNames): WriteRequest[] {
  const statements =
    operation === "ExecuteStatement" ? [input] : asArray(input.Statements ?? input.TransactStatements);
  const factor = operation === "ExecuteTransaction" ? 2 : 1;
  const writes: WriteRequest[] = [];
  for (const raw of statements) {
    const statement = asRecord(raw) ?? {};
    const text = typeof statement.Statement === "string" ? statement.Statement : "";
    if (!PARTIQL_WRITE.test(text)) continue;
    const parameters = asArray(statement.Parameters);
    const record: Json = {};
    for (const attribute of [names.partitionKey, ...Object.keys(names.indexKeys)]) {
      const value = partiqlValue(text, parameters, attribute);
      if (value !== undefined) record[attribute] = value;
    }
    const units = sizeUnits(() => parameters.reduce<number>((s, v) => s + valueSizeBytes(v), 0));
    writes.push({ record, isPut: /^\s*INSERT\b/i.test(text), units: units * factor });
  }
  return writes;
}

function partiqlValue(statement: string, parameters: unknown[], attribute: string): unknown {
  const name = attribute.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`["']?\\b${name}\\b["']?\\s*[=:]\\s*(\\?|'((?:[^']|'')*)')`).exec(statement);
  if (match === null) return undefined;
  if (match[1] !== "?") return (match[2] ?? "").replaceAll("''", "'");
  const placeholder = match.index + match[0].length - 1;
  const position = statement.slice(0, placeholder).split("?").length - 1;
  return parameters[position];
}

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
  const partiql = PARTIQL_OPERATIONS.has(operation);
  const writes = partiql ? partiqlWrites(operation, input, names) : writeRequests(operation, input);
  const kind: Kind = WRITE_OPERATIONS.has(operation) || writes.length > 0 ? "write" : "read";
  const succeeded = error === undefined;
  const unprocessed = operation === "BatchWriteItem" ? batchWriteRequests(output?.UnprocessedItems) : [];
  usage.keyWrites = withoutEach(keyWritesOf(writes, names, succeeded), keyWritesOf(unprocessed, names, true));

  if (output?.ConsumedCapacity !== undefined) {
    capacityOf(output.ConsumedCapacity, kind, usage);
  } else if (kind === "write") {
    const failedItem = asRecord(asRecord(error)?.Item);
    let units =
      writes.reduce((sum, w) => sum + w.units, 0) - unprocessed.reduce((sum, w) => sum + w.units, 0);
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
