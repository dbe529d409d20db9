/** The SQS event Lambda's event source mapping builds from received messages (tests and the local grid). */
import type { Message } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";

/** An SQS event for `messages` received from the queue named `queueName`. */
export function sqsEventOf(messages: readonly Message[], queueName: string, region = "us-east-1"): SQSEvent {
  const now = String(Date.now());
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? "",
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
        SentTimestamp: m.Attributes?.SentTimestamp ?? now,
        SenderId: m.Attributes?.SenderId ?? "000000000000",
        ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? now,
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:${region}:000000000000:${queueName}`,
      awsRegion: region,
    })),
  };
}
