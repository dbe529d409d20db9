import { chunkedRequests, sqsBilledRequests } from "./billing.ts";
import { buildCostReport, type CostReport, type OperationUsage } from "./cost-report.ts";
import { CAPACITY_OPERATIONS, type CapacityUse, measureDynamoCall } from "./dynamo-usage.ts";
import { AWS_LIST_PRICES, type PriceTable } from "./prices.ts";
import type { PartitionKeyNames } from "./write-requests.ts";

/** Options of a {@link CallMeter}. */
export interface CallMeterOptions {
  /**
   * Partition key attribute of the tables, whose writes are counted per value.
   * @default "pk"
   */
  partitionKey?: string;
  /**
   * Index partition key attributes, mapped to their index name: a Put of an item holding the
   * attribute counts one write on `index:<name>:<value>`.
   * @default { dpk: "due", apk: "active" }
   */
  indexKeys?: Readonly<Record<string, string>>;
  /**
   * Prices used by `report`.
   * @default AWS_LIST_PRICES
   */
  prices?: PriceTable;
}

/** One finished SDK call, as the middleware sees it: input plus output, or input plus error. */
export interface MeteredCall {
  /** Service name without the `Client` suffix: "DynamoDB", "SQS", "S3", … */
  service: string;
  /** Operation name without the `Command` suffix: "PutItem", "SendMessageBatch", … */
  operation: string;
  input: object;
  output?: object;
  /** Set when the call threw; AWS bills most failed calls, so they count as calls too. */
  error?: unknown;
}

/** Requests a local run cannot observe (API Gateway, Lambda, presigned S3), priced like observed ones. */
export interface ModelledLine {
  service: string;
  operation: string;
  requests: number;
  /** Payload bytes of each request: API Gateway bills per started 512 KiB, SQS per 64 KiB. */
  bytes?: number;
  /** Lambda duration summed over the requests, in arm64 GB-seconds. */
  gbSeconds?: number;
  wru?: number;
  rru?: number;
}

const DEFAULT_INDEX_KEYS: Readonly<Record<string, string>> = { dpk: "due", apk: "active" };

function emptyUsage(service: string, operation: string, modelled: boolean): OperationUsage {
  const zero = { calls: 0, errors: 0, wru: 0, rru: 0, estimatedWru: 0, billedRequests: 0, gbSeconds: 0 };
  return { service, operation, modelled, ...zero };
}

let nextMeterId = 0;

/**
 * Counts AWS calls by service and operation, with DynamoDB consumed capacity, SQS billed
 * requests, and writes per partition key, and turns them into a {@link CostReport}. Fed by
 * {@link attachCallMeter}, or by `record` directly. Not safe to share between threads, which
 * JavaScript does not have; safe to share between clients.
 */
export class CallMeter {
  /** Distinguishes meters so that each one's middleware gets its own stack name. */
  readonly id = nextMeterId++;
  readonly #names: PartitionKeyNames;
  readonly #prices: PriceTable;
  readonly #usage = new Map<string, OperationUsage>();
  readonly #capacity = new Map<string, CapacityUse>();
  readonly #writesPerKey = new Map<string, number>();

  constructor(options: CallMeterOptions = {}) {
    this.#names = {
      partitionKey: options.partitionKey ?? "pk",
      indexKeys: options.indexKeys ?? DEFAULT_INDEX_KEYS,
    };
    this.#prices = options.prices ?? AWS_LIST_PRICES;
  }

  #usageOf(service: string, operation: string, modelled: boolean): OperationUsage {
    const key = `${modelled ? "m" : "o"}|${service}|${operation}`;
    let usage = this.#usage.get(key);
    if (usage === undefined) {
      usage = emptyUsage(service, operation, modelled);
      this.#usage.set(key, usage);
    }
    return usage;
  }

  /** Records one call. */
  record(call: MeteredCall): void {
    const usage = this.#usageOf(call.service, call.operation, false);
    usage.calls++;
    if (call.error !== undefined) usage.errors++;
    const input = call.input as Record<string, unknown>;
    const output = call.output as Record<string, unknown> | undefined;
    if (call.service === "DynamoDB") {
      const measured = measureDynamoCall(call.operation, input, output, call.error, this.#names);
      usage.wru += measured.wru;
      usage.rru += measured.rru;
      usage.estimatedWru += measured.estimatedWru;
      for (const use of measured.capacity) this.#addCapacity(use);
      for (const key of measured.keyWrites)
        this.#writesPerKey.set(key, (this.#writesPerKey.get(key) ?? 0) + 1);
    } else if (call.service === "SQS") {
      usage.billedRequests += sqsBilledRequests(call.operation, input, output, this.#prices);
    } else {
      usage.billedRequests++;
    }
  }

  #addCapacity(use: CapacityUse): void {
    const key = `${use.table}|${use.index ?? ""}`;
    const total = this.#capacity.get(key) ?? { ...use, rru: 0, wru: 0 };
    total.rru += use.rru;
    total.wru += use.wru;
    this.#capacity.set(key, total);
  }

  /**
   * Adds requests the run could not observe, such as the API Gateway request and Lambda
   * invocation behind each submit. Lines of the same service and operation add up into one row.
   */
  addModelled(line: ModelledLine): void {
    const usage = this.#usageOf(line.service, line.operation, true);
    const chunk =
      line.service === "APIGateway"
        ? this.#prices.apiGateway.billedChunkBytes
        : line.service === "SQS"
          ? this.#prices.sqs.billedChunkBytes
          : undefined;
    const perRequest = chunk === undefined ? 1 : chunkedRequests(line.bytes ?? 0, chunk);
    usage.calls += line.requests;
    usage.billedRequests += line.requests * perRequest;
    usage.gbSeconds += line.gbSeconds ?? 0;
    usage.wru += line.wru ?? 0;
    usage.rru += line.rru ?? 0;
  }

  /** A copy of the usage so far, one entry per service and operation (modelled ones apart). */
  operations(): OperationUsage[] {
    return [...this.#usage.values()].map((usage) => ({ ...usage }));
  }

  /** Consumed capacity so far per table, and per index (`index` set) of each table. */
  capacityByTable(): CapacityUse[] {
    return [...this.#capacity.values()].map((use) => ({ ...use }));
  }

  /** A copy of the writes counted per partition key (table `pk` value, or `index:<name>:<value>`). */
  writesPerKey(): Map<string, number> {
    return new Map(this.#writesPerKey);
  }

  /** The cost report of everything recorded so far, divided by `tasks`. */
  report(tasks: number): CostReport {
    return buildCostReport(this.operations(), this.#writesPerKey, tasks, this.#prices);
  }

  /** Forgets everything recorded, e.g. after a warm-up phase. */
  reset(): void {
    this.#usage.clear();
    this.#capacity.clear();
    this.#writesPerKey.clear();
  }
}

/** What the middleware reports to: a CallMeter, or a SessionUsageRecorder. */
export interface CallRecorder {
  /** Unique per recorder: its middleware's name. */
  readonly id: number;
  record(call: MeteredCall): void;
}

interface MeterHandlerArgs {
  input: object;
}
interface MeterHandlerOutput {
  output: object;
}
type MeterHandler = (args: MeterHandlerArgs) => Promise<MeterHandlerOutput>;
interface MeterContext {
  clientName?: string;
  commandName?: string;
}
type MeterMiddleware = (next: MeterHandler, context: MeterContext) => MeterHandler;

/**
 * The part of an AWS SDK v3 client that {@link attachCallMeter} uses: its middleware stack.
 * Declared here so that metering needs no import of `@smithy/types`.
 */
export interface MeterableClient {
  readonly middlewareStack: {
    add(
      middleware: MeterMiddleware,
      options: { step: "initialize"; name: string; override: boolean; tags?: string[] },
    ): void;
    remove(toRemove: string): boolean;
  };
}

function stripSuffix(name: string | undefined, suffix: string): string {
  if (name === undefined) return "Unknown";
  return name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
}

function hasReturnConsumedCapacity(input: object): boolean {
  return (input as { ReturnConsumedCapacity?: unknown }).ReturnConsumedCapacity !== undefined;
}

/**
 * Makes every call sent through `client` report to `meter`, and returns a function that detaches
 * it. The middleware sits at the initialize step, before the SDK's retry loop, so it sees one
 * call per `send` however many attempts the SDK made. On DynamoDB operations that support it,
 * it asks for `ReturnConsumedCapacity: "INDEXES"` unless the caller chose a value. Attaching
 * the same meter again (also through a DynamoDBDocumentClient, which shares its client's stack)
 * replaces the earlier middleware rather than counting twice.
 */
export function attachCallMeter(client: MeterableClient, meter: CallRecorder): () => void {
  const name = `tesseraCallMeter${meter.id}`;
  const middleware: MeterMiddleware = (next, context) => async (args) => {
    const service = stripSuffix(context.clientName, "Client");
    const operation = stripSuffix(context.commandName, "Command");
    let input = args.input;
    if (service === "DynamoDB" && CAPACITY_OPERATIONS.has(operation) && !hasReturnConsumedCapacity(input)) {
      input = { ...input, ReturnConsumedCapacity: "INDEXES" };
    }
    let result: MeterHandlerOutput;
    try {
      result = await next({ ...args, input });
    } catch (error) {
      meter.record({ service, operation, input, error });
      throw error;
    }
    meter.record({ service, operation, input, output: result.output });
    return result;
  };
  client.middlewareStack.add(middleware, { step: "initialize", name, override: true, tags: ["METERING"] });
  return () => {
    client.middlewareStack.remove(name);
  };
}
