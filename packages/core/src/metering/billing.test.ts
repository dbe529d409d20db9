import { describe, expect, it } from "vitest";
import {
  type BillableUsage,
  chunkedRequests,
  priceUsage,
  s3RequestClass,
  sqsBilledRequests,
} from "./billing.ts";
import { AWS_LIST_PRICES } from "./prices.ts";

const KIB = 1024;

function usage(service: string, operation: string, fields: Partial<BillableUsage>): BillableUsage {
  return { service, operation, wru: 0, rru: 0, billedRequests: 0, gbSeconds: 0, ...fields };
}

describe("price table", () => {
  it("records where and when the prices were taken", () => {
    expect(AWS_LIST_PRICES.region).toBe("us-east-1");
    expect(AWS_LIST_PRICES.takenOn).toMatch(/^\d{4}-\d{2}/);
    expect(AWS_LIST_PRICES.source).toMatch(/not re-verified/);
  });

  it.each([
    ["a million DynamoDB write units", usage("DynamoDB", "PutItem", { wru: 1e6 }), 0.625],
    ["a million DynamoDB read units", usage("DynamoDB", "Query", { rru: 1e6 }), 0.125],
    ["a million SQS requests", usage("SQS", "SendMessageBatch", { billedRequests: 1e6 }), 0.4],
    ["a thousand S3 PUTs", usage("S3", "PutObject", { billedRequests: 1000 }), 0.005],
    ["a thousand S3 LISTs (PUT class)", usage("S3", "ListObjectsV2", { billedRequests: 1000 }), 0.005],
    ["a thousand S3 GETs", usage("S3", "GetObject", { billedRequests: 1000 }), 0.0004],
    [
      "a thousand S3 HEADs (GET class: 'all other')",
      usage("S3", "HeadObject", { billedRequests: 1000 }),
      0.0004,
    ],
    ["S3 DELETEs, which are free", usage("S3", "DeleteObject", { billedRequests: 1000 }), 0],
    ["a million API Gateway HTTP requests", usage("APIGateway", "HTTP request", { billedRequests: 1e6 }), 1],
    // 1M invocations of 128 MB for 100 ms: 0.20 + (1e6 × 0.125 GB × 0.1 s = 12,500 GB-s) × 0.0000133334
    [
      "a million 100 ms Lambda invocations at 128 MB",
      usage("Lambda", "Invoke", { billedRequests: 1e6, gbSeconds: 1e6 * 0.125 * 0.1 }),
      0.3666675,
    ],
  ])("prices %s at list price", (_, billable, dollars) => {
    const priced = priceUsage(billable);
    expect(priced.priced).toBe(true);
    expect(priced.dollars).toBeCloseTo(dollars, 9);
  });

  it("prices a DynamoDB control-plane call at zero but knows it", () => {
    expect(priceUsage(usage("DynamoDB", "CreateTable", {}))).toEqual({ dollars: 0, priced: true });
  });

  it("marks a service it has no price for as unpriced", () => {
    expect(priceUsage(usage("STS", "AssumeRole", { billedRequests: 5 }))).toEqual({
      dollars: 0,
      priced: false,
    });
  });
});

describe("S3 request classes", () => {
  it.each([
    ["PutObject", "put"],
    ["CopyObject", "put"],
    ["ListObjectsV2", "put"],
    ["CreateMultipartUpload", "put"],
    ["UploadPart", "put"],
    ["CompleteMultipartUpload", "put"],
    ["GetObject", "get"],
    ["HeadObject", "get"],
    ["SelectObjectContent", "get"],
    ["DeleteObject", "free"],
    ["DeleteObjects", "free"],
    ["AbortMultipartUpload", "free"],
  ])("%s is %s class", (operation, cls) => {
    expect(s3RequestClass(operation)).toBe(cls);
  });
});

describe("SQS billed requests: one per started 64 KiB of payload", () => {
  it.each([
    [0, 1, "an empty payload still bills one request"],
    [64 * KIB, 1, "exactly 64 KiB is one"],
    [64 * KIB + 1, 2, "a byte more is two"],
    [256 * KIB, 4, "the 256 KiB maximum is four"],
  ])("chunkedRequests(%i) = %i (%s)", (bytes, requests) => {
    expect(chunkedRequests(bytes, AWS_LIST_PRICES.sqs.billedChunkBytes)).toBe(requests);
  });

  it("bills a SendMessage by its body's UTF-8 bytes: 32,768 × 'é' = 65,536 bytes → 1", () => {
    expect(sqsBilledRequests("SendMessage", { MessageBody: "é".repeat(32 * KIB) }, undefined)).toBe(1);
    expect(sqsBilledRequests("SendMessage", { MessageBody: `${"é".repeat(32 * KIB)}x` }, undefined)).toBe(2);
  });

  it("bills a SendMessageBatch by the sum of its bodies: 10 × 10 KiB = 100 KiB → 2", () => {
    const Entries = Array.from({ length: 10 }, (_, i) => ({
      Id: String(i),
      MessageBody: "x".repeat(10 * KIB),
    }));
    expect(sqsBilledRequests("SendMessageBatch", { Entries }, {})).toBe(2);
  });

  it("bills a ReceiveMessage by the bodies it returned: 3 × 30 KiB = 90 KiB → 2, and none → 1", () => {
    const Messages = Array.from({ length: 3 }, () => ({ Body: "x".repeat(30 * KIB) }));
    expect(sqsBilledRequests("ReceiveMessage", { QueueUrl: "q" }, { Messages })).toBe(2);
    expect(sqsBilledRequests("ReceiveMessage", { QueueUrl: "q" }, {})).toBe(1);
  });

  it("bills a DeleteMessageBatch of 10 as one request", () => {
    const Entries = Array.from({ length: 10 }, (_, i) => ({ Id: String(i), ReceiptHandle: "r" }));
    expect(sqsBilledRequests("DeleteMessageBatch", { Entries }, {})).toBe(1);
  });
});
