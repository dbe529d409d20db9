/** The local SQS event source keeps Lambda's rules, so the local grid and AWS cannot disagree. */
import { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { runEventSource } from "../src/event-source.ts";

describe("local event source", () => {
  it("refuses a queue whose visibility timeout is shorter than the function's timeout, as Lambda does", async () => {
    const sqs = new SQSClient({ region: "us-east-1", endpoint: "http://127.0.0.1:9" });
    await expect(
      runEventSource({
        sqs,
        queueUrl: "http://127.0.0.1:9/queue/q",
        queueName: "tessera-default-normal",
        handler: async () => ({ batchItemFailures: [] }),
        pollers: 1,
        timeoutMs: 900_000,
        visibilityTimeoutSeconds: 60,
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(
      "queue tessera-default-normal: visibility timeout 60 s is less than the function timeout 900 s",
    );
    sqs.destroy();
  });
});
