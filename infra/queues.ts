/**
 * Queues: one ticket queue per pool × priority class, each with its dead-letter queue and the
 * redrive policy from the grid definition. A ticket's invisibility starts at the definition's
 * visibility timeout (leases are re-timed by the workers); tickets are kept as long as the
 * definition says.
 */
import type { GridDefinition } from "../packages/core/src/resources.ts";

export function queues(grid: GridDefinition) {
  const ticketQueues = grid.queues.map((q) => {
    const name = q.name.replace(/[^A-Za-z0-9]/g, "");
    const dlq = new sst.aws.Queue(`Dlq${name}`, {
      transform: {
        queue: (args) => {
          args.name = q.deadLetterPhysicalName;
          args.messageRetentionSeconds = q.retentionSeconds;
        },
      },
    });
    const queue = new sst.aws.Queue(`Tickets${name}`, {
      visibilityTimeout: `${q.visibilityTimeoutSeconds} seconds`,
      dlq: { queue: dlq.arn, retry: q.maxReceiveCount },
      transform: {
        queue: (args) => {
          args.name = q.physicalName;
          args.messageRetentionSeconds = q.retentionSeconds;
        },
      },
    });
    return { name: q.name, pool: q.name.slice(0, q.name.lastIndexOf("-")), share: q.share, queue, dlq };
  });
  return { ticketQueues };
}
