/**
 * A local SQS event source mapping: what Lambda runs for the worker on AWS. Pollers long-poll a
 * queue for up to 10 tickets, invoke the worker handler with the SQS event, and delete the
 * tickets it did not report as batch item failures (those come back after their visibility).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { decodeTicket } from "@tessera/core";
import { sqsEventOf } from "@tessera/functions";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { localContext } from "./http-bridge.ts";

/** A function with the worker's signature. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Settings of one mapping. */
export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Physical queue name (the ARN's last part). */
  queueName: string;
  handler: SqsHandler;
  /** Concurrent pollers. */
  pollers: number;
  /** Simulated function timeout. */
  timeoutMs: number;
  /**
   * The queue's visibility timeout: as on AWS, the mapping uses it (it sets none per receive),
   * and refuses to start if it is shorter than the function's timeout.
   */
  visibilityTimeoutSeconds: number;
  signal: AbortSignal;
  /** Called with errors the mapping survives (logged by the caller). */
  onError?: (error: unknown) => void;
}

/** The tasks of an event's tickets, for a message: `session s1 #0-15, session s2 #64-79`. */
function describeTickets(event: SQSEvent): string {
  const tickets = event.Records.map((r) => decodeTicket(r.body)).filter((t) => t !== undefined);
  const shown = tickets
    .slice(0, 3)
    .map((t) => `session ${t.sessionId} #${t.start}${t.count > 1 ? `-${t.start + t.count - 1}` : ""}`);
  return tickets.length > 3 ? `${shown.join(", ")} and ${tickets.length - 3} more tickets` : shown.join(", ");
}

/**
 * An invocation's failure, saying which tasks it held: middy's own early-timeout error is only
 * "[AbortError]: The operation was aborted." (its name TimeoutError).
 */
function invocationError(error: unknown, event: SQSEvent, options: EventSourceOptions): Error {
  const tasks = describeTickets(event) || "no Tessera tickets";
  const what =
    (error as Error | undefined)?.name === "TimeoutError"
      ? `ran past its ${options.timeoutMs / 1000} s timeout`
      : `failed: ${(error as Error | undefined)?.message ?? String(error)}`;
  return new Error(
    `invocation on ${options.queueName} (${tasks}) ${what}; its tickets come back after their visibility timeout`,
    { cause: error },
  );
}

/** Runs the mapping until `signal` aborts; resolves when every poller has stopped. */
export async function runEventSource(options: EventSourceOptions): Promise<void> {
  // Lambda's own rule for an SQS event source mapping.
  if (options.visibilityTimeoutSeconds * 1000 < options.timeoutMs) {
    throw new Error(
      `queue ${options.queueName}: visibility timeout ${options.visibilityTimeoutSeconds} s is less than the function timeout ${options.timeoutMs / 1000} s (Lambda refuses such an event source mapping)`,
    );
  }
  const poller = async () => {
    while (!options.signal.aborted) {
      try {
        const out = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 2,
            // No visibility of its own: the queue's applies, as with Lambda's mapping.
            MessageSystemAttributeNames: ["All"],
          }),
          { abortSignal: options.signal },
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        const event = sqsEventOf(messages, options.queueName);
        // Like Lambda, an invocation that outlives its timeout counts as failed: every record
        // stays (it comes back after its visibility), and the poller moves on.
        const invocation = options
          .handler(event, localContext("tessera-worker", options.timeoutMs))
          .catch((error: unknown) => {
            throw invocationError(error, event, options);
          });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), options.timeoutMs);
        });
        const response = await Promise.race([invocation, timedOut]);
        clearTimeout(timer);
        if (!response) {
          invocation.catch(() => {});
          options.onError?.(
            new Error(
              `invocation on ${options.queueName} (${describeTickets(event)}) timed out after ${options.timeoutMs} ms`,
            ),
          );
          continue;
        }
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        const done = event.Records.filter((r) => !failed.has(r.messageId));
        if (done.length > 0) {
          await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
            }),
          );
        }
      } catch (error) {
        if (options.signal.aborted) return;
        options.onError?.(error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  await Promise.all(Array.from({ length: options.pollers }, poller));
}
