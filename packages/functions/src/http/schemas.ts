/**
 * Request and response bodies of the HTTP API. Request bodies reuse the core's input schemas,
 * so a bad field gets the same message wherever it enters; the OpenAPI document is generated
 * from these.
 */
import { CreateSessionInput, IdSchema, Limits, SubmitBatchInput } from "@tessera/core";
import { z } from "zod";
import { MAX_LOG_PAGE_ENTRIES } from "../logs/task-log-source.ts";

const iso = z.string().meta({ description: "ISO 8601 time", example: "2026-11-24T10:00:00.000Z" });

export const SessionIdParams = z.object({ sessionId: IdSchema }).strict();

export const TaskParams = z
  .object({
    sessionId: IdSchema,
    taskId: z.string().regex(/^\d{1,12}$/, "must be a task index (0 to 999999999999)"),
  })
  .strict();

export const CreateSessionBody = CreateSessionInput.meta({ id: "CreateSessionRequest" });
export const SubmitTasksBody = SubmitBatchInput.meta({ id: "SubmitTasksRequest" });

export const SessionConfigSchema = z
  .object({
    pool: z.string(),
    priority: z.enum(["high", "normal", "low"]),
    maxAttempts: z.number().int(),
    leaseMs: z.number().int(),
    chunkMaxTasks: z.number().int(),
    chunkMaxBytes: z.number().int(),
    backoffBaseMs: z.number().int(),
    backoffMaxMs: z.number().int(),
    taskTimeoutMs: z.number().int().meta({
      description: "Longest a task may run; past it the run is stopped and the attempt fails with TIMEOUT",
    }),
  })
  .meta({ id: "SessionConfig" });

export const SessionSchema = z
  .object({
    sessionId: z.string(),
    state: z.enum(["OPEN", "CLOSED", "CANCELLED"]),
    config: SessionConfigSchema,
    tags: z.record(z.string(), z.string()),
    createdAt: iso,
    updatedAt: iso,
  })
  .meta({ id: "Session" });

export const TaskCountsSchema = z
  .object({
    total: z.number().int(),
    queued: z.number().int(),
    running: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
  })
  .meta({ id: "TaskCounts" });

export const SessionCostSchema = z
  .object({
    dollars: z.number().meta({ description: "Total at list price, US dollars" }),
    currency: z.literal("USD"),
    requests: z.number().meta({ description: "AWS requests the session caused (API requests included)" }),
    lambdaGbSeconds: z.number(),
    agentSeconds: z.number().meta({ description: "Agent instance-seconds apportioned to this session" }),
    lines: z.array(
      z.object({
        service: z.string(),
        item: z.string().meta({ description: "Operation, or `{instanceType} {market}` for EC2" }),
        quantity: z.number(),
        unit: z.enum(["requests", "invocations", "GB-seconds", "instance-seconds"]),
        dollars: z.number(),
        priced: z.boolean().meta({ description: "False when the price table has no price for it" }),
      }),
    ),
    prices: z
      .object({ region: z.string(), takenOn: z.string(), source: z.string() })
      .meta({ description: "The price table the dollars come from" }),
  })
  .meta({
    id: "SessionCost",
    description:
      "What the session cost so far: requests attributed by the grid's counting middleware, Lambda and agent time apportioned by its tasks; written every few seconds, so the latest requests may be missing",
  });

export const SessionDetailSchema = SessionSchema.extend({
  counts: TaskCountsSchema,
  progress: z.number().min(0).max(1).meta({ description: "Share of tasks finished" }),
  settled: z.boolean().meta({
    description: "Closed or cancelled (no task can be added), and every task finished: nothing will change",
  }),
  cost: SessionCostSchema,
}).meta({ id: "SessionDetail" });

export const CreateSessionResponse = z
  .object({
    session: SessionSchema,
    created: z.boolean().meta({ description: "False for a retry of an existing session" }),
  })
  .meta({ id: "CreateSessionResponse" });

export const ListSessionsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z
      .string()
      .regex(/^\d{13}#[A-Za-z0-9_.-]{1,64}$/, "must be the `next` of a previous page")
      .optional(),
    state: z
      .enum(["OPEN", "CLOSED", "CANCELLED"])
      .optional()
      .meta({ description: "Only sessions in this state" }),
    tag: z
      .string()
      .regex(/^[^:]{1,128}:[\s\S]{0,256}$/, "must be key:value (a tag key, a colon, the value)")
      .transform((t) => ({ key: t.slice(0, t.indexOf(":")), value: t.slice(t.indexOf(":") + 1) }))
      .optional()
      .meta({ description: "Only sessions carrying this tag with this value, as `key:value`" }),
    include: z
      .literal("summary")
      .optional()
      .meta({ description: "`summary`: add each session's counts, progress, cost and throughput" }),
  })
  .strict();

export const SessionSummarySchema = z
  .object({
    counts: TaskCountsSchema,
    progress: z.number().min(0).max(1).meta({ description: "Share of tasks finished" }),
    settled: z.boolean().meta({ description: "Closed or cancelled, and every task finished" }),
    costDollars: z.number().meta({ description: "Cost so far at list price (see SessionCost), US dollars" }),
    throughputPerSec: z.number().meta({
      description:
        "Tasks finished (succeeded, failed or cancelled) per second, from the newest history snapshot at least 60 s old (or the session's creation) to now. Snapshots are 10 s to 5 min apart (wider as the session ages) and the reaper writes them about once a minute, so this is the rate over roughly the last 1 to 6 minutes; 0 when nothing finished over that span",
    }),
  })
  .meta({ id: "SessionSummary" });

export const SessionListSchema = z
  .object({
    sessions: z.array(
      SessionSchema.extend({
        summary: SessionSummarySchema.optional().meta({ description: "With `include=summary`" }),
      }),
    ),
    next: z.string().optional().meta({
      description:
        "Pass as `after` for the next page. With a filter a page may hold fewer sessions than `limit` (even none) while more follow: one call reads at most 500 sessions",
    }),
  })
  .meta({ id: "SessionList" });

export const FailuresQuery = z
  .object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .meta({ description: "Most error codes returned" }),
  })
  .strict();

export const FailureSummarySchema = z
  .object({
    groups: z
      .array(
        z.object({
          code: z.string(),
          count: z.number().int().meta({ description: "Failed tasks with this code among those read" }),
          firstMessage: z.string().meta({ description: "The error message of the lowest-numbered of them" }),
          taskIds: z.array(z.string()).meta({ description: "Up to 10 of them, lowest first" }),
        }),
      )
      .meta({ description: "By count, largest first" }),
    totalFailed: z
      .number()
      .int()
      .meta({ description: "Failed tasks of the session (exact, from its counters)" }),
    retried: z.number().int().meta({
      description:
        "Tasks charged more than one attempt, whatever their status now (retried after a failure, a timeout or a lost worker), among the tasks read",
    }),
    complete: z.boolean().meta({
      description:
        "False when the groups (and `retried`) were built from a bounded sample: one call reads the tasks of the first 64 key groups (262,144 task indexes) and the completion entries of the first 256 failing chunks",
    }),
  })
  .meta({ id: "FailureSummary" });

export const HistorySchema = z
  .object({
    points: z.array(
      z.object({
        at: iso,
        total: z.number().int(),
        queued: z.number().int(),
        running: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        cancelled: z.number().int(),
      }),
    ),
    intervalSec: z.number().int().meta({ description: "Typical seconds between two returned points" }),
    complete: z.boolean().meta({
      description:
        "False when the session has snapshots older than the newest 4,000 read (the chart starts later)",
    }),
  })
  .meta({ id: "SessionHistory" });

export const TaskListQuery = z
  .object({
    status: z.enum(["QUEUED", "LEASED", "SUCCEEDED", "FAILED", "CANCELLED"]).optional(),
    order: z.enum(["index", "slowest"]).default("index"),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    after: z
      .string()
      .regex(/^\d{1,12}$/, "must be the `next` of a previous page")
      .optional()
      .meta({ description: "Index order: the `next` of a previous page" }),
  })
  .strict()
  .refine(
    (q) => q.order !== "slowest" || q.status === undefined || !["QUEUED", "LEASED"].includes(q.status),
    {
      path: ["order"],
      message: "slowest ranks finished tasks: use it with no status or SUCCEEDED, FAILED or CANCELLED",
    },
  );

export const TaskSummarySchema = z
  .object({
    taskId: z.string(),
    status: z.enum(["QUEUED", "LEASED", "SUCCEEDED", "FAILED", "CANCELLED"]),
    attempt: z.number().int().meta({ description: "Attempts charged so far" }),
    handler: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    finishedAt: iso.optional(),
    durationMs: z.number().int().optional().meta({
      description: "How long its last run took, by its worker's clock (finished tasks a worker ran)",
    }),
  })
  .meta({ id: "TaskSummary" });

export const TaskListSchema = z
  .object({
    tasks: z.array(TaskSummarySchema),
    next: z.string().optional().meta({
      description:
        "Index order: pass as `after` to go on; absent at the end. One call reads the tasks of at most 16 key groups (65,536 task indexes), so a page may hold fewer than `limit` while more follow",
    }),
    complete: z.boolean().meta({
      description:
        "False when `order=slowest` ranked a bounded sample: it reads at most 1,000 completion entries (the session's earliest finished tasks), and never pages",
    }),
  })
  .meta({ id: "TaskList" });

export const CancelSessionResponse = z
  .object({
    session: SessionSchema,
    cancelledQueued: z.number().int(),
    abortRequested: z.number().int(),
    complete: z.boolean().meta({ description: "False when the reaper finishes the walk over the tasks" }),
  })
  .meta({ id: "CancelSessionResponse" });

export const SubmitTasksResponse = z
  .object({
    created: z.number().int(),
    existing: z
      .number()
      .int()
      .meta({ description: "Tasks that an earlier try of this batch already created" }),
    createdSpans: z.array(z.object({ start: z.number().int(), count: z.number().int() })),
    chunks: z.number().int(),
    tickets: z.number().int(),
  })
  .meta({ id: "SubmitTasksResponse" });

export const TaskErrorSchema = z.object({ code: z.string(), message: z.string() }).meta({ id: "TaskError" });

export const FleetSchema = z
  .object({
    pools: z.array(
      z.object({
        pool: z.string(),
        at: iso.meta({ description: "When the fleet controller last read the pool" }),
        queued: z.object({ high: z.number().int(), normal: z.number().int(), low: z.number().int() }).meta({
          description: "Waiting tickets per priority class (a ticket is one chunk: up to 64 short tasks)",
        }),
        agents: z.object({
          launching: z.number().int(),
          busy: z.number().int(),
          idle: z.number().int(),
          draining: z.number().int(),
        }),
        recentLaunches: z
          .array(
            z.object({
              at: iso,
              count: z.number().int(),
              instanceTypes: z
                .array(z.object({ instanceType: z.string(), market: z.string(), count: z.number().int() }))
                .optional()
                .meta({
                  description:
                    "How many agents of each instance type and market (spot, on-demand) the launch got; absent where agents are not instances (the local grid's processes)",
                }),
            }),
          )
          .meta({ description: "Launches that started agents in the last hour, newest first, at most 10" }),
        shortfalls: z.array(z.object({ at: iso, message: z.string() })).meta({
          description:
            "Launches that fell short and failed passes in the last hour, newest first, at most 10",
        }),
        costDollars: z.number().optional().meta({
          description:
            "The pool's agent time since `cost.since` at list price, US dollars (absent before the controller's first pass read the pool)",
        }),
        cost: z
          .object({
            since: iso.meta({
              description: "When the counting began (the first pass recorded, or an older agent's start)",
            }),
            to: iso.meta({ description: "The last pass counted" }),
            dollars: z.number(),
            lines: z.array(
              z.object({
                instanceType: z.string().meta({
                  description: "`unknown` when the provider did not say; `local` for a local process",
                }),
                market: z.string().meta({
                  description:
                    "`spot`, `on-demand`, or `local` (a process on the grid's machine: not priced)",
                }),
                instanceSeconds: z.number(),
                dollars: z.number(),
                priced: z
                  .boolean()
                  .meta({ description: "False for local processes and types the price table lacks" }),
              }),
            ),
            prices: z.object({ region: z.string(), takenOn: z.string(), source: z.string() }),
          })
          .optional()
          .meta({
            description:
              "The pool's billed agent time by instance type and market: each controller pass adds the time since the previous one for each agent the provider bills (on EC2, running instances), so it is an estimate: the time after the last pass that saw an agent and EC2's 60-second minimum are not counted, and a first pass may count a little of an instance's pending time. Idle and boot time are included: unlike a session's cost, which counts only agent time spent on its tasks",
          }),
      }),
    ),
  })
  .meta({ id: "Fleet" });

export const TaskAttemptSchema = z
  .object({
    attempt: z.number().int(),
    startedAt: iso.optional().meta({
      description:
        "Finished runs: the end less the run's duration (the worker's clock); absent for a running one",
    }),
    endedAt: iso.optional().meta({ description: "When its outcome was committed" }),
    durationMs: z.number().int().optional().meta({ description: "How long it ran, by its worker's clock" }),
    worker: z.string().optional().meta({ description: "The lease owner: a worker or agent id" }),
    error: TaskErrorSchema.optional(),
  })
  .meta({ id: "TaskAttempt" });

export const TaskSchema = z
  .object({
    sessionId: z.string(),
    taskId: z.string(),
    status: z.enum(["QUEUED", "LEASED", "SUCCEEDED", "FAILED", "CANCELLED"]),
    attempt: z.number().int(),
    maxAttempts: z.number().int(),
    cancelRequested: z.boolean(),
    pool: z.string(),
    priority: z.string(),
    handler: z.string().optional(),
    result: z.string().optional(),
    resultUrl: z
      .string()
      .optional()
      .meta({ description: "Presigned download link of a result too large to inline (valid one hour)" }),
    error: TaskErrorSchema.optional(),
    logsUrl: z.string().optional().meta({
      description:
        "Of a failed task: the path (from the API's base URL) of what its code logged, `/sessions/{sessionId}/logs?task={taskId}`",
    }),
    leaseExpiresAt: iso.optional(),
    notBefore: iso.optional(),
    createdAt: iso,
    updatedAt: iso,
    finishedAt: iso.optional(),
    attempts: z.array(TaskAttemptSchema).meta({
      description:
        "The task's runs, oldest first: each failed run that was retried (its error, cut to 200 characters, worker, start, end and duration), the run under a live lease (its worker; the lease holds no start time) and the run that finished the task. A run that ended without a commit (its worker stopped; its number may then be missing) leaves no record, nor do runs past the retention or beyond the newest 200 retrying commits of the task's chunk",
    }),
    payloadPreview: z.string().optional().meta({
      description: "The task's input, when submitted inline: its first 4,096 characters",
    }),
    payloadTruncated: z.boolean().optional().meta({ description: "True when the preview is cut short" }),
    payloadUrl: z
      .string()
      .optional()
      .meta({ description: "Presigned download link of an input uploaded directly (valid one hour)" }),
  })
  .meta({ id: "Task" });

export const ResultsQuery = z
  .object({
    cursor: z
      .string()
      .max(64 * 1024)
      .optional(),
    limit: z.coerce.number().int().min(1).max(Limits.MAX_BATCH_TASKS).default(1000),
  })
  .strict();

export const TaskResultSchema = z
  .object({
    taskId: z.string(),
    status: z.enum(["SUCCEEDED", "FAILED", "CANCELLED"]),
    attempt: z.number().int(),
    result: z.string().optional(),
    resultUrl: z
      .string()
      .optional()
      .meta({ description: "Presigned download link of a result too large to inline (valid one hour)" }),
    error: TaskErrorSchema.optional(),
  })
  .meta({ id: "TaskResult" });

export const ResultsPageSchema = z
  .object({
    results: z.array(TaskResultSchema),
    cursor: z.string().meta({ description: "Pass back to read what completed after this page" }),
    settled: z.boolean().meta({
      description: "The session is closed or cancelled and every result was delivered: no more will come",
    }),
  })
  .meta({ id: "ResultsPage" });

export const UploadsResponse = z
  .object({
    uploads: z.array(
      z.object({
        ref: z.string().meta({ description: "Pass as a task's `payloadRef`" }),
        url: z.string().meta({ description: "Presigned S3 URL: PUT the payload here" }),
        method: z.literal("PUT"),
        expiresAt: iso,
      }),
    ),
  })
  .meta({ id: "UploadsResponse" });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      field: z.string().optional().meta({ description: "The request field at fault (400)" }),
      requestId: z.string(),
    }),
  })
  .meta({ id: "Error" });

export const LogsQuery = z
  .object({
    task: z
      .string()
      .regex(/^\d{1,12}$/, "must be a task index (0 to 999999999999)")
      .optional()
      .meta({ description: "Only the entries of this task index" }),
    after: z
      .string()
      .max(16 * 1024)
      .optional()
      .meta({ description: "The `next` of a previous page (opaque)" }),
    limit: z.coerce.number().int().min(1).max(MAX_LOG_PAGE_ENTRIES).default(100),
  })
  .strict();

export const TaskLogEntrySchema = z
  .object({
    time: iso,
    level: z.enum(["debug", "info", "warn", "error"]),
    message: z.string(),
    tenant: z.string(),
    session: z.string(),
    index: z.number().int(),
    attempt: z.number().int(),
    handler: z.string().optional(),
    taskId: z.string(),
  })
  .loose()
  .meta({
    id: "TaskLogEntry",
    description: "One line task code logged through `ctx.logger`, with the fields it added (`x=3` as `x: 3`)",
  });

export const TaskLogPageSchema = z
  .object({
    entries: z.array(TaskLogEntrySchema),
    next: z.string().meta({
      description:
        "Pass as `after` for the entries after this page. Always given: when nothing new was found it is the same cursor, to poll with later",
    }),
    more: z.boolean().meta({
      description: "More entries are already there: read `next` at once (false: caught up for now)",
    }),
  })
  .meta({ id: "TaskLogPage" });
