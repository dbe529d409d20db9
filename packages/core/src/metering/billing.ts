import { AWS_LIST_PRICES, type PriceTable } from "./prices.ts";

/** The S3 price class of a request: PUT/COPY/POST/LIST, GET and all else, or free (DELETE/CANCEL). */
export type S3RequestClass = "put" | "get" | "free";

/** Usage of one operation, in the units AWS bills it by. */
export interface BillableUsage {
  service: string;
  operation: string;
  wru: number;
  rru: number;
  /** Requests as billed by request-priced services, after payload chunking. */
  billedRequests: number;
  /** Lambda duration, in arm64 GB-seconds. */
  gbSeconds: number;
}

/** Dollars for a usage, and whether the price table knew the service and operation at all. */
export interface PricedUsage {
  dollars: number;
  priced: boolean;
}

const S3_PUT_CLASS = /^(Put|Copy|Post|List|Create|Upload|Complete)/;
const S3_FREE_CLASS = /^(Delete|Abort)/;
const utf8 = new TextEncoder();

/** Requests billed for a payload of `bytes`: one per started chunk, and at least one. */
export function chunkedRequests(bytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(bytes / chunkBytes));
}

/** Classifies an S3 operation name (without the `Command` suffix) by its request price. */
export function s3RequestClass(operation: string): S3RequestClass {
  if (S3_PUT_CLASS.test(operation)) return "put";
  if (S3_FREE_CLASS.test(operation)) return "free";
  return "get";
}

function bodyBytes(entries: unknown, field: "MessageBody" | "Body"): number {
  if (!Array.isArray(entries)) return 0;
  let bytes = 0;
  for (const entry of entries) {
    const body = (entry as Record<string, unknown> | null)?.[field];
    if (typeof body === "string") bytes += utf8.encode(body).byteLength;
  }
  return bytes;
}

/**
 * Billed requests of one SQS call: each started 64 KiB of payload is one request. The payload is
 * the message body (sent, or summed over a batch, or summed over the messages received); message
 * attributes are left out, so very attribute-heavy messages are under-counted.
 */
export function sqsBilledRequests(
  operation: string,
  input: Record<string, unknown>,
  output: Record<string, unknown> | undefined,
  prices: PriceTable = AWS_LIST_PRICES,
): number {
  let bytes = 0;
  if (operation === "SendMessage") bytes = bodyBytes([input], "MessageBody");
  else if (operation === "SendMessageBatch") bytes = bodyBytes(input.Entries, "MessageBody");
  else if (operation === "ReceiveMessage") bytes = bodyBytes(output?.Messages, "Body");
  return chunkedRequests(bytes, prices.sqs.billedChunkBytes);
}

/**
 * Prices one operation's usage at list price. DynamoDB is billed by request units (its control
 * plane is free), SQS and API Gateway by chunked requests, S3 by request class, Lambda by
 * invocation plus duration (every Lambda row is taken as invocations: the benchmark does not
 * call Lambda's free management API). Anything else is not priced and reports `priced: false`.
 */
export function priceUsage(usage: BillableUsage, prices: PriceTable = AWS_LIST_PRICES): PricedUsage {
  switch (usage.service) {
    case "DynamoDB":
      return {
        dollars: usage.wru * prices.dynamodb.writeRequestUnit + usage.rru * prices.dynamodb.readRequestUnit,
        priced: true,
      };
    case "SQS":
      return { dollars: usage.billedRequests * prices.sqs.standardRequest, priced: true };
    case "S3": {
      const perRequest = {
        put: prices.s3.putClassRequest,
        get: prices.s3.getClassRequest,
        free: prices.s3.freeRequest,
      }[s3RequestClass(usage.operation)];
      return { dollars: usage.billedRequests * perRequest, priced: true };
    }
    case "APIGateway":
      return { dollars: usage.billedRequests * prices.apiGateway.httpRequest, priced: true };
    case "Lambda":
      return {
        dollars: usage.billedRequests * prices.lambda.request + usage.gbSeconds * prices.lambda.arm64GbSecond,
        priced: true,
      };
    default:
      return { dollars: 0, priced: false };
  }
}
