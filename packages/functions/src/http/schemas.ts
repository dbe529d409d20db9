/**
 * Request and response bodies of the HTTP API. Request bodies reuse the core's input schemas,
 * so a bad field gets the same message wherever it enters; the OpenAPI document is generated
 * from these.
 */
import { CreateSessionInput, IdSchema, Limits, SubmitBatchInput } from "@tessera/core";
import { z } from "zod";

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
  })
  .strict();

export const SessionListSchema = z
  .object({
    sessions: z.array(SessionSchema),
    next: z.string().optional().meta({ description: "Pass as `after` for the next page" }),
  })
  .meta({ id: "SessionList" });

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
    leaseExpiresAt: iso.optional(),
    notBefore: iso.optional(),
    createdAt: iso,
    updatedAt: iso,
    finishedAt: iso.optional(),
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
