import { randomUUID } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { attachCallMeter, CallMeter } from "./call-meter.ts";

const KIB = 1024;
const NAME = `meter-test-${randomUUID().slice(0, 8)}`;
const credentials = { accessKeyId: "local", secretAccessKey: "local" };

describe("attachCallMeter against fauxqs (SQS and S3)", () => {
  let sqs: SQSClient;
  let s3: S3Client;
  const meter = new CallMeter();
  let receivedBytes = 0;

  beforeAll(async () => {
    // The shared fauxqs of this test run (test/global-setup.ts); names are unique to this file.
    const endpoint = inject("emulators").queueEndpoint;
    sqs = new SQSClient({ region: "us-east-1", endpoint, credentials });
    s3 = new S3Client({ region: "us-east-1", endpoint, credentials, forcePathStyle: true });
    attachCallMeter(sqs, meter);
    attachCallMeter(s3, meter);

    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: NAME }));
    // Ten 10 KiB bodies: 100 KiB of payload in one call, billed as two 64 KiB chunks.
    const Entries = Array.from({ length: 10 }, (_, i) => ({
      Id: `m${i}`,
      MessageBody: "x".repeat(10 * KIB),
    }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const messages = received.Messages ?? [];
    receivedBytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.Body ?? ""), 0);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );

    await s3.send(new CreateBucketCommand({ Bucket: NAME }));
    await s3.send(new PutObjectCommand({ Bucket: NAME, Key: "a", Body: "payload" }));
    const object = await s3.send(new GetObjectCommand({ Bucket: NAME, Key: "a" }));
    await object.Body?.transformToString();
    await s3.send(new DeleteObjectCommand({ Bucket: NAME, Key: "a" }));
    await expect(s3.send(new GetObjectCommand({ Bucket: NAME, Key: "missing" }))).rejects.toThrow();
  });

  afterAll(async () => {
    sqs?.destroy();
    s3?.destroy();
  });

  const row = (service: string, operation: string) =>
    meter.report(10).rows.find((r) => r.service === service && r.operation === operation)!;

  it("bills SQS calls by 64 KiB chunk of payload", () => {
    expect(row("SQS", "CreateQueue")).toMatchObject({ calls: 1, billedRequests: 1 });
    expect(row("SQS", "SendMessageBatch")).toMatchObject({ calls: 1, billedRequests: 2 });
    expect(receivedBytes).toBeGreaterThan(0);
    expect(row("SQS", "ReceiveMessage")).toMatchObject({
      calls: 1,
      billedRequests: Math.max(1, Math.ceil(receivedBytes / (64 * KIB))),
    });
    expect(row("SQS", "DeleteMessageBatch")).toMatchObject({ calls: 1, billedRequests: 1 });
  });

  it("prices S3 calls by request class, failed GETs included", () => {
    expect(row("S3", "PutObject").dollars).toBeCloseTo(0.005 / 1000, 12);
    expect(row("S3", "CreateBucket").dollars).toBeCloseTo(0.005 / 1000, 12);
    expect(row("S3", "GetObject")).toMatchObject({ calls: 2, errors: 1 });
    expect(row("S3", "GetObject").dollars).toBeCloseTo((2 * 0.0004) / 1000, 12);
    expect(row("S3", "DeleteObject")).toMatchObject({ calls: 1, dollars: 0 });
  });

  it("adds modelled API Gateway and Lambda requests to the total", () => {
    const observed = meter.report(10).totals.dollars;
    meter.addModelled({ service: "APIGateway", operation: "HTTP request", requests: 10, bytes: KIB });
    meter.addModelled({ service: "Lambda", operation: "Invoke", requests: 10 });
    const { totals } = meter.report(10);
    expect(totals.dollars).toBeCloseTo(observed + 10 * 1e-6 + 10 * 0.2e-6, 12);
    expect(totals.callsPerTask - totals.observedCallsPerTask).toBeCloseTo(2, 12);
  });
});
