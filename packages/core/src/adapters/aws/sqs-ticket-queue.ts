import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { GridError, TransientError } from "../../errors.ts";
import type {
  OutgoingTicket,
  ReceivedTicket,
  ReceiveOptions,
  TicketQueue,
  VisibilityChange,
} from "../../ports/ticket-queue.ts";

/** SQS batch calls take at most ten entries. */
const BATCH = 10;
/** Stay under SQS's 1 MiB batch payload limit. */
const BATCH_BYTES = 1_000_000;

function* batches<T>(items: readonly T[], size: (item: T) => number = () => 0): Generator<T[]> {
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const s = size(item);
    if (current.length === BATCH || (current.length > 0 && bytes + s > BATCH_BYTES)) {
      yield current;
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += s;
  }
  if (current.length > 0) yield current;
}

/**
 * Ticket queues on SQS. Every operation is a batch call of up to ten entries (receives ask
 * for up to ten), which is what keeps SQS requests per task far below one.
 */
export class SqsTicketQueue implements TicketQueue {
  readonly #sqs: SQSClient;
  readonly #urls: Readonly<Record<string, string>>;

  /** `urls` maps logical queue names (`default-normal`, `default-normal-dlq`, …) to queue URLs. */
  constructor(sqs: SQSClient, urls: Readonly<Record<string, string>>) {
    this.#sqs = sqs;
    this.#urls = urls;
  }

  #url(queue: string): string {
    const url = this.#urls[queue];
    if (!url) throw new GridError("NOT_FOUND", `queue ${queue} is not configured`);
    return url;
  }

  async send(queue: string, tickets: readonly OutgoingTicket[]): Promise<void> {
    const QueueUrl = this.#url(queue);
    for (const batch of batches(tickets, (t) => Buffer.byteLength(t.body))) {
      let entries = batch.map((t, i) => ({
        Id: String(i),
        MessageBody: t.body,
        DelaySeconds: t.delaySeconds,
      }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        const out = await this.#sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        if (failed.size === 0) break;
        if (attempt >= 2)
          throw new TransientError(`SQS refused ${failed.size} tickets: ${out.Failed?.[0]?.Message ?? ""}`);
        entries = entries.filter((e) => failed.has(e.Id));
      }
    }
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedTicket[]> {
    const out = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#url(queue),
        MaxNumberOfMessages: Math.min(BATCH, Math.max(1, options.max)),
        WaitTimeSeconds: options.waitSeconds,
        VisibilityTimeout: options.visibilitySeconds,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      { abortSignal: options.signal },
    );
    return (out.Messages ?? []).map((m) => ({
      body: m.Body ?? "",
      receipt: m.ReceiptHandle!,
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
    }));
  }

  async ack(queue: string, receipts: readonly string[]): Promise<void> {
    const QueueUrl = this.#url(queue);
    // Failed entries are stale receipts: the ticket was re-received elsewhere and comes back.
    await Promise.all(
      [...batches(receipts)].map((b) =>
        this.#sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: b.map((r, i) => ({ Id: String(i), ReceiptHandle: r })),
          }),
        ),
      ),
    );
  }

  async setVisibility(queue: string, changes: readonly VisibilityChange[]): Promise<void> {
    const QueueUrl = this.#url(queue);
    await Promise.all(
      [...batches(changes)].map((b) =>
        this.#sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl,
            Entries: b.map((c, i) => ({
              Id: String(i),
              ReceiptHandle: c.receipt,
              VisibilityTimeout: c.seconds,
            })),
          }),
        ),
      ),
    );
  }
}
