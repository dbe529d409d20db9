/**
 * A pool's backlog from its ticket queues (one per priority): the fleet scaler's view of the
 * work. Read with GetQueueAttributes, one call per queue (free of DynamoDB reads and of the
 * session's size): visible and delayed tickets are waiting, in-flight ones are held.
 * A ticket is one chunk: one task when tasks are long (those agents are for), up to 64 short
 * ones otherwise.
 */
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { queueNameOf } from "../../engine/keys.ts";
import type { BacklogPort } from "../../fleet/ports.ts";
import type { Backlog } from "../../fleet/scaler.ts";
import { PRIORITY_ORDER } from "../../model/status.ts";
import type { GridDefinition } from "../../resources.ts";

export class SqsBacklog implements BacklogPort {
  readonly #sqs: SQSClient;
  readonly #grid: GridDefinition;
  readonly #queueUrls: Record<string, string>;

  constructor(sqs: SQSClient, grid: GridDefinition, queueUrls: Record<string, string>) {
    this.#sqs = sqs;
    this.#grid = grid;
    this.#queueUrls = queueUrls;
  }

  async backlog(pool: string): Promise<Backlog> {
    if (!this.#grid.pools.includes(pool)) throw new Error(`unknown pool "${pool}"`);
    const counts = await Promise.all(
      PRIORITY_ORDER.map(async (priority) => {
        const name = queueNameOf(pool, priority);
        const url = this.#queueUrls[name];
        if (!url) throw new Error(`no URL for queue ${name}`);
        const { Attributes: a = {} } = await this.#sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: [
              "ApproximateNumberOfMessages",
              "ApproximateNumberOfMessagesNotVisible",
              "ApproximateNumberOfMessagesDelayed",
            ],
          }),
        );
        const n = (k: string) => Number(a[k as keyof typeof a] ?? 0) || 0;
        return {
          queued: n("ApproximateNumberOfMessages") + n("ApproximateNumberOfMessagesDelayed"),
          inFlight: n("ApproximateNumberOfMessagesNotVisible"),
        };
      }),
    );
    return {
      queued: counts.reduce((s, c) => s + c.queued, 0),
      inFlight: counts.reduce((s, c) => s + c.inFlight, 0),
      oldestAgeMs: 0,
      queuedByPriority: { high: counts[0]!.queued, normal: counts[1]!.queued, low: counts[2]!.queued },
    };
  }
}
