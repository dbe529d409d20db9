/**
 * The grid's storage resources, defined once. Tests, the local grid and `infra/` all derive
 * their tables, queues and buckets from here, so they cannot drift apart.
 */
import { deadLetterQueueOf, queueNameOf } from "./engine/keys.ts";
import { PRIORITY_ORDER } from "./model/status.ts";

/** An attribute used in a key. */
export interface KeyAttribute {
  name: string;
  type: "S" | "N";
}

/** A global secondary index. */
export interface IndexDefinition {
  name: string;
  hashKey: KeyAttribute;
  rangeKey: KeyAttribute;
  /** Only keys are projected: readers fetch the records they need by key. */
  projection: "KEYS_ONLY";
}

/** A DynamoDB table (on-demand billing). */
export interface TableDefinition {
  /** Physical name. */
  name: string;
  hashKey: KeyAttribute;
  rangeKey: KeyAttribute;
  indexes: IndexDefinition[];
}

/** A ticket queue and its dead-letter queue. */
export interface QueueDefinition {
  /** Logical name used by the engine (`{pool}-{priority}`). */
  name: string;
  /** Physical SQS name. */
  physicalName: string;
  /** Logical name of the dead-letter queue. */
  deadLetter: string;
  deadLetterPhysicalName: string;
  /** Receives before SQS moves a ticket to the DLQ; well above MAX_ATTEMPTS. */
  maxReceiveCount: number;
  /** Default invisibility of a received ticket. */
  visibilityTimeoutSeconds: number;
  /** How long tickets are kept. */
  retentionSeconds: number;
  /**
   * The queue's weight among its pool's priority classes: high 1, normal 1/2, low 1/4. Workers
   * serve a pool's queues in these proportions while all have work (agents by weighted
   * round-robin, Lambda pools by each queue's share of the worker's concurrency), so high goes
   * first and low still moves.
   */
  share: number;
}

/** Everything a grid stores data in. */
export interface GridDefinition {
  table: TableDefinition;
  bucketName: string;
  queues: QueueDefinition[];
  pools: string[];
}

/** Options of {@link defineGrid}. */
export interface GridOptions {
  /** Prefix of every physical name (e.g. the stage). @default "tessera" */
  prefix?: string;
  /** Worker pools; each gets one ticket queue per priority class. @default ["default"] */
  pools?: string[];
  /**
   * The pools a Lambda worker (or the local grid's Lambda-style workers) consumes through an
   * event source, and that function's timeout: their queues hide a received ticket for six
   * times the timeout (AWS's advice; Lambda refuses an event source mapping whose function
   * timeout exceeds the queue's visibility timeout). Agents set their own visibility per
   * receive, so other pools keep 60 s.
   */
  lambda?: { pools: readonly string[]; timeoutSeconds: number };
}

/** SQS's longest visibility timeout. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** The visibility timeout an event source's queue needs for a function of `timeoutSeconds`. */
export function eventSourceVisibilitySeconds(timeoutSeconds: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, 6 * timeoutSeconds);
}

/** Name of the index of non-terminal chunks by the time the reaper must look at them. */
export const DUE_INDEX = "due";
/** Name of the index of sessions that may still have work. */
export const ACTIVE_INDEX = "active";
/** Name of the index of a tenant's sessions by creation time. */
export const TENANT_INDEX = "tenant";

/** Defines the grid's table, bucket and queues. */
export function defineGrid(options: GridOptions = {}): GridDefinition {
  const prefix = options.prefix ?? "tessera";
  const pools = options.pools ?? ["default"];
  const queues: QueueDefinition[] = [];
  for (const pool of pools) {
    for (const priority of PRIORITY_ORDER) {
      const name = queueNameOf(pool, priority);
      queues.push({
        name,
        physicalName: `${prefix}-${name}`,
        deadLetter: deadLetterQueueOf(name),
        deadLetterPhysicalName: `${prefix}-${deadLetterQueueOf(name)}`,
        maxReceiveCount: 50,
        visibilityTimeoutSeconds: options.lambda?.pools.includes(pool)
          ? eventSourceVisibilitySeconds(options.lambda.timeoutSeconds)
          : 60,
        retentionSeconds: 14 * 24 * 60 * 60,
        share: 2 ** -PRIORITY_ORDER.indexOf(priority),
      });
    }
  }
  return {
    table: {
      name: `${prefix}-tasks`,
      hashKey: { name: "pk", type: "S" },
      rangeKey: { name: "sk", type: "S" },
      indexes: [
        {
          name: DUE_INDEX,
          hashKey: { name: "dpk", type: "S" },
          rangeKey: { name: "due", type: "N" },
          projection: "KEYS_ONLY",
        },
        {
          name: ACTIVE_INDEX,
          hashKey: { name: "apk", type: "S" },
          rangeKey: { name: "ask", type: "S" },
          projection: "KEYS_ONLY",
        },
        {
          name: TENANT_INDEX,
          hashKey: { name: "tpk", type: "S" },
          rangeKey: { name: "tsk", type: "S" },
          projection: "KEYS_ONLY",
        },
      ],
    },
    bucketName: `${prefix}-blobs`,
    queues,
    pools,
  };
}

/** Every logical queue name of a grid, DLQs included. */
export function allQueueNames(grid: GridDefinition): string[] {
  return grid.queues.flatMap((q) => [q.name, q.deadLetter]);
}

/** Queue URLs by logical name, for queues whose URL is `{base}/{physical name}` (SQS and fauxqs). */
export function queueUrlsOf(grid: GridDefinition, base: string): Record<string, string> {
  const root = base.replace(/\/+$/, "");
  const urls: Record<string, string> = {};
  for (const q of grid.queues) {
    urls[q.name] = `${root}/${q.physicalName}`;
    urls[q.deadLetter] = `${root}/${q.deadLetterPhysicalName}`;
  }
  return urls;
}

/** The logical name of a queue given its physical name (an SQS event source ARN ends with it). */
export function logicalQueueOf(grid: GridDefinition, physicalName: string): string | undefined {
  for (const q of grid.queues) {
    if (q.physicalName === physicalName) return q.name;
    if (q.deadLetterPhysicalName === physicalName) return q.deadLetter;
  }
  return undefined;
}
