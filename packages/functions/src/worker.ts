/**
 * The Lambda worker (SQS event source). Each invocation hands its tickets to the dispatch core
 * as one batch: one BatchGet and parallel conditional claims, tasks run concurrently, heartbeats
 * in batches while they run, one fenced commit per chunk. Tickets the core acknowledged are
 * reported as successes and deleted by the event source; the rest (re-timed for a retry
 * backoff, or cut short by the deadline) are reported as batch item failures and come back.
 *
 * Routing: a pool's queues are either subscribed by this worker or polled by agents. Tasks that
 * may run longer than the function's timeout (at most 15 minutes) belong to a pool served by
 * agents; the worker aborts what is still running shortly before its own timeout, and those
 * tasks are retried (an attempt spent) rather than lost.
 */
import { randomUUID } from "node:crypto";
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type BatchOutcome,
  Dispatcher,
  type DispatcherHooks,
  decodeTicket,
  logicalQueueOf,
  processBatch,
  type TaskRun,
  type TaskRunner,
} from "@tessera/core";
import { counterName } from "@tessera/core/metering";
import {
  entryThreadTask,
  isLogLevel,
  isolatedTaskRunner,
  jsonLineSink,
  type LogLevel,
  type TaskDefinition,
  type TaskLogSink,
  taskRunner,
} from "@tessera/task";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { withObservability } from "./middleware.ts";
import { createObservability, type Observability } from "./observability.ts";
import { functionMemoryGb, type GridRuntime } from "./runtime.ts";

/** Settings of the worker function. */
export interface WorkerOptions {
  /** The task types this worker runs (see `collectTasks`). */
  tasks: Map<string, TaskDefinition>;
  /** Task type for batches that name no handler. */
  defaultTask?: string;
  /**
   * Runs the tasks instead of calling `tasks` in the worker's own thread (e.g. an
   * isolatedTaskRunner over the same modules, where a cancel or timeout can stop any task).
   */
  runner?: TaskRunner;
  /** Tasks `runner` would start at once (see DispatcherOptions.runnerCapacity). */
  runnerCapacity?: (() => number) | undefined;
  /**
   * Awaited before each invocation takes any ticket (e.g. warm worker processes starting): if it
   * rejects, the invocation fails and its tickets come back later, no task charged an attempt.
   */
  prepare?: (() => Promise<void>) | undefined;
  /**
   * Runs the tasks in worker threads that load this worker's own entry module, so that a cancel,
   * a timeout or the function's deadline stops any task (a hung or CPU-bound one included) and no
   * task holds the heartbeats and commits of the others. `entry` is the entry's
   * `import.meta.url`; `exportName` the name it exports the handler under (default `handler`).
   * Threads start on demand, up to `concurrency`, and stay warm with the container.
   */
  isolate?: { entry: string; exportName?: string };
  /**
   * Where the lines task code logs go, as entries with the task's ids.
   * @default one JSON line each on stdout (CloudWatch Logs keeps them structured, and a filter
   * such as `{ $.session = "…" }` finds a session's)
   */
  logSink?: TaskLogSink;
  /** Least severe task log level kept. @default TESSERA_TASK_LOG_LEVEL, else "info" */
  logLevel?: LogLevel;
  /** Tasks run at once per container. @default 16 */
  concurrency?: number;
  /**
   * Time kept back before Lambda's timeout: tasks still running then are aborted and their
   * chunks released, and the function returns in time. @default 10% of the timeout, at least 3 s
   */
  reserveMs?: number;
}

/** A record the core did not acknowledge: the event source must keep it. */
class TicketKeptError extends Error {
  override name = "TicketKeptError";
}

/**
 * This invocation's cost to the sessions of its tickets, split by their task counts: one
 * invocation and its GB-seconds. Written with the requests the invocation made.
 */
async function recordInvocation(rt: GridRuntime, event: SQSEvent, seconds: number): Promise<void> {
  if (!rt.usage) return;
  const tickets = event.Records.map((r) => decodeTicket(r.body)).filter((t) => t !== undefined);
  const total = tickets.reduce((n, t) => n + t.count, 0);
  const gb = functionMemoryGb();
  for (const t of tickets) {
    const share = t.count / total;
    rt.usage.add(t, {
      [counterName.lambdaInvocations]: share,
      [counterName.lambdaGbSeconds]: share * seconds * gb,
    });
  }
  await rt.usage.flush();
}

/** Builds the worker handler over a runtime (created on first use, kept per container). */
export function createWorkerHandler(
  runtime: () => GridRuntime,
  options: WorkerOptions,
  o: Observability = createObservability("tessera-worker"),
) {
  // Task logs are entries of their own, not Powertools lines: one JSON object per line, whatever
  // POWERTOOLS_LOG_LEVEL says about the function's own logs.
  const envLevel = process.env.TESSERA_TASK_LOG_LEVEL;
  const logs = {
    logSink: options.logSink ?? jsonLineSink(),
    logLevel: options.logLevel ?? (isLogLevel(envLevel) ? envLevel : undefined),
  };
  // Loaded by a task thread (see isolate): the export is the thread's task function (its
  // entries are posted to the pool's sink, in the function's main thread).
  const threadTask = entryThreadTask(options.tasks, { defaultTask: options.defaultTask, ...logs });
  if (threadTask) return threadTask as never;
  const owner = `lambda:${randomUUID()}`;
  const concurrency = options.concurrency ?? 16;
  const started = new WeakMap<TaskRun, number>();
  const hooks: DispatcherHooks = {
    onTaskStart: (_lease, run) => {
      started.set(run, Date.now());
      o.metrics.addMetric("TasksStarted", MetricUnit.Count, 1);
    },
    onCommit: (lease, entry) => {
      const finished = new Set(entry?.outcomes.map((x) => x.index));
      for (const outcome of entry?.outcomes ?? []) {
        o.metrics.addMetric(
          outcome.status === "SUCCEEDED"
            ? "TasksSucceeded"
            : outcome.status === "FAILED"
              ? "TasksFailed"
              : "TasksCancelled",
          MetricUnit.Count,
          1,
        );
      }
      for (const run of lease.runs.values()) {
        const t0 = started.get(run);
        if (t0 !== undefined) o.metrics.addMetric("TaskDurationMs", MetricUnit.Milliseconds, Date.now() - t0);
        if (run.result && !run.result.ok && !finished.has(run.index))
          o.metrics.addMetric("TasksRetried", MetricUnit.Count, 1);
      }
    },
    onLeaseLost: () => o.metrics.addMetric("LeasesLost", MetricUnit.Count, 1),
  };
  // One dispatcher per container: Lambda runs one invocation at a time per container, and the
  // dispatcher's acknowledgement reports are per invocation (forgotten at the start of each).
  let dispatcher: Dispatcher | undefined;

  const handle = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    await options.prepare?.();
    const rt = runtime();
    const isolated =
      dispatcher || options.runner || !options.isolate
        ? undefined
        : isolatedTaskRunner(options.isolate, { threads: concurrency, warmThreads: 1, ...logs });
    dispatcher ??= new Dispatcher(rt.ports, {
      owner,
      runner:
        options.runner ??
        isolated?.run ??
        taskRunner(options.tasks, { defaultTask: options.defaultTask, ...logs }),
      runnerCapacity: options.runnerCapacity,
      concurrency,
      ackMode: "report",
      hooks,
    });
    const invokedAt = Date.now();
    const remaining = context.getRemainingTimeInMillis();
    const reserve = options.reserveMs ?? Math.max(3_000, remaining / 10);
    const deadline = rt.ports.clock.now() + Math.max(0, remaining - reserve);

    // One event source mapping serves one queue, but nothing stops a function from having
    // several: tickets are processed per queue.
    const byQueue = new Map<string, SQSRecord[]>();
    for (const record of event.Records) {
      const list = byQueue.get(record.eventSourceARN) ?? [];
      list.push(record);
      byQueue.set(record.eventSourceARN, list);
    }
    const outcomes = new Map<string, Promise<BatchOutcome>>();
    for (const [arn, records] of byQueue) {
      const queue = logicalQueueOf(rt.ports.grid, arn.split(":").at(-1) ?? "");
      if (!queue) {
        o.logger.error("records from a queue this grid does not define", { arn });
        continue;
      }
      const tickets = records.map((r) => ({
        body: r.body,
        receipt: r.receiptHandle,
        receiveCount: Number(r.attributes.ApproximateReceiveCount ?? 1),
      }));
      rt.usage?.recorder.noteReceived(tickets);
      outcomes.set(arn, processBatch(rt.ports, dispatcher, queue, tickets, { deadline }));
    }

    // The Batch utility shapes the partial-failure response from each record's fate.
    const response = await processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const outcome = await outcomes.get(record.eventSourceARN);
        if (!outcome) throw new TicketKeptError("unknown queue");
        if (outcome.failedReceipts.includes(record.receiptHandle))
          throw new TicketKeptError("ticket kept for a later try");
      },
      new BatchProcessor(EventType.SQS),
      { context, throwOnFullBatchFailure: false },
    );
    await recordInvocation(rt, event, (Date.now() - invokedAt) / 1_000);
    return response;
  };

  return withObservability(handle, o, (event) => event.Records[0]?.messageId);
}
