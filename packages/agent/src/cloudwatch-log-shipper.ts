/**
 * An agent's task log entries in CloudWatch Logs, where the API's logs route reads them: on EC2
 * the agent's stdout goes to the journal, which CloudWatch cannot read, so the agent sends its
 * entries itself — to one stream of its own in the grid's agent log group, created at start,
 * in batches (log-event-batcher.ts) every second and at shutdown. A CloudWatch failure never
 * touches task execution: the batch is kept for the next flush, and entries that no longer fit
 * the buffer are counted and dropped, with one warning.
 */
import { hostname } from "node:os";
import {
  type CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
} from "@aws-sdk/client-cloudwatch-logs";
import type { TaskLogSink } from "@tessera/task";
import { LogEventBatcher } from "./log-event-batcher.ts";

/** How a shipper reports trouble (one JSON line on stderr in the agent). */
export type ShipperWarning = (message: string, fields?: Record<string, unknown>) => void;

/** What {@link CloudWatchLogShipper} needs. */
export interface ShipperOptions {
  client: CloudWatchLogsClient;
  /** The log group (the grid's agent task log group). */
  group: string;
  /** This agent's stream. @default {@link agentLogStreamName}() */
  stream?: string;
  /** Time between flushes. @default 1000 */
  everyMs?: number;
  warn: ShipperWarning;
  batcher?: LogEventBatcher;
}

/**
 * A stream name of one agent run: `agent/<host>/<start time>-<pid>` (CloudWatch forbids `:` and
 * `*` in stream names; a restarted agent gets a new stream).
 */
export function agentLogStreamName(host = hostname(), start = new Date(), pid = process.pid): string {
  const stamp = start
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `agent/${host.replace(/[:*]/g, "_")}/${stamp}-${pid}`;
}

/** Sends an agent's task log entries to its CloudWatch Logs stream. */
export class CloudWatchLogShipper {
  readonly stream: string;
  readonly #options: ShipperOptions;
  readonly #batcher: LogEventBatcher;
  #created = false;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #failing = false;
  #warnedDropped = false;

  constructor(options: ShipperOptions) {
    this.#options = options;
    this.stream = options.stream ?? agentLogStreamName();
    this.#batcher = options.batcher ?? new LogEventBatcher();
  }

  /** The sink to add to the agent's: holds each entry for the next flush, never throws. */
  readonly sink: TaskLogSink = (entry) => {
    if (!this.#batcher.add(entry) && !this.#warnedDropped) {
      this.#warnedDropped = true;
      this.#options.warn("task log buffer full: entries are dropped until CloudWatch Logs takes them", {
        group: this.#options.group,
      });
    }
  };

  /** Creates the stream (a failure is retried by each flush) and starts the flush timer. */
  async start(): Promise<void> {
    await this.#createStream();
    this.#timer = setInterval(() => void this.flush(), this.#options.everyMs ?? 1000);
    this.#timer.unref();
  }

  /** Sends what is held, batch by batch; one flush at a time. Never rejects. */
  flush(): Promise<void> {
    this.#flushing ??= this.#send().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Stops the timer and sends what is left, giving up after `deadlineMs`; reports what was lost. */
  async close(deadlineMs = 5_000): Promise<void> {
    clearInterval(this.#timer);
    const deadline = Date.now() + deadlineMs;
    while (this.#batcher.size > 0 && Date.now() < deadline) {
      const before = this.#batcher.size;
      await this.flush();
      if (this.#failing && this.#batcher.size >= before) break; // CloudWatch refuses: stop trying
    }
    const lost = this.#batcher.size + this.#batcher.dropped;
    if (lost > 0)
      this.#options.warn("task log entries not sent to CloudWatch Logs", {
        group: this.#options.group,
        stream: this.stream,
        entries: lost,
      });
  }

  async #createStream(): Promise<boolean> {
    if (this.#created) return true;
    try {
      await this.#options.client.send(
        new CreateLogStreamCommand({ logGroupName: this.#options.group, logStreamName: this.stream }),
      );
      this.#created = true;
    } catch (error) {
      if (error instanceof ResourceAlreadyExistsException) this.#created = true;
      else this.#failed("cannot create the agent's task log stream", error);
    }
    return this.#created;
  }

  async #send(): Promise<void> {
    if (this.#batcher.size === 0 || !(await this.#createStream())) return;
    for (let batch = this.#batcher.take(); batch.length > 0; batch = this.#batcher.take()) {
      try {
        await this.#options.client.send(
          new PutLogEventsCommand({
            logGroupName: this.#options.group,
            logStreamName: this.stream,
            logEvents: batch,
          }),
        );
        if (this.#failing)
          this.#options.warn("task logs reach CloudWatch Logs again", { group: this.#options.group });
        this.#failing = false;
      } catch (error) {
        // A batch CloudWatch calls invalid (events too far in the past or future) never passes.
        if ((error as Error).name === "InvalidParameterException") this.#batcher.discard(batch);
        else this.#batcher.putBack(batch);
        this.#failed("cannot send task log entries to CloudWatch Logs", error);
        return;
      }
    }
  }

  /** Warns once per run of failures (the next success says so), not once per flush. */
  #failed(message: string, error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#options.warn(message, { group: this.#options.group, error: (error as Error).message });
  }
}
