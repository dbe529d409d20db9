/*
 * What a DynamoDB request asks to write, read from its input alone, so that writes can be
 * counted per key and estimated when the response carries no ConsumedCapacity.
 */
import {
  isAttributeValue,
  itemSizeBytes,
  transactionalUnits,
  valueSizeBytes,
  writeUnits,
} from "./item-size.ts";

const PARTIQL_OPERATIONS: ReadonlySet<string> = new Set([
  "ExecuteStatement",
  "BatchExecuteStatement",
  "ExecuteTransaction",
]);
const PARTIQL_WRITE = /^\s*(INSERT|UPDATE|DELETE|UPSERT|REPLACE)\b/i;

/** Which attributes are partition keys, of the table and of its indexes. */
export interface PartitionKeyNames {
  /** Partition key attribute of the tables. */
  partitionKey: string;
  /** Index partition key attribute → index name. */
  indexKeys: Readonly<Record<string, string>>;
}

/** A request or response as the SDK hands it over: a plain object of unknown shape. */
export type Json = Record<string, unknown>;

/** `value` as an object, or undefined when it is not one. */
export function asRecord(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** `value` as an array, or empty when it is not one. */
export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The key text of a partition key value in either form; undefined when it is not a key type. */
export function keyText(value: unknown): string | undefined {
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
export interface WriteRequest {
  /** Full item (Put) or key (Update, Delete). */
  record: Json;
  isPut: boolean;
  /** Write units by request size: a lower bound for Update and Delete, billed on the stored item. */
  units: number;
}

/** Write units of a size computed by `bytes`, or 1 when the item cannot be sized. */
export function sizeUnits(bytes: () => number): number {
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

/** The writes of a BatchWriteItem `RequestItems` (or of its `UnprocessedItems`). */
export function batchWriteRequests(requestItems: unknown): WriteRequest[] {
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

function itemWrites(operation: string, input: Json): WriteRequest[] {
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

/**
 * The writes a DynamoDB call asks for, PartiQL included. A ConditionCheck writes nothing, so it
 * is left out; a read asks for none.
 */
export function writeRequests(operation: string, input: Json, names: PartitionKeyNames): WriteRequest[] {
  return PARTIQL_OPERATIONS.has(operation)
    ? partiqlWrites(operation, input, names)
    : itemWrites(operation, input);
}
