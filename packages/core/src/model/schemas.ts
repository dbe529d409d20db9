/**
 * Input schemas at the edge of the core. The HTTP API reuses them, so a bad field gets the
 * same message wherever it enters.
 */
import { z } from "zod";
import { ValidationError } from "../errors.ts";
import { Limits } from "./limits.ts";

/** A tenant, session, pool or handler id. */
export const IdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ . -");
const id = IdSchema;

/** Session settings a caller may set; omitted ones take the defaults. */
export const SessionConfigInput = z
  .object({
    pool: id,
    priority: z.enum(["high", "normal", "low"]),
    maxAttempts: z.number().int().min(1).max(Limits.MAX_ATTEMPTS),
    leaseMs: z
      .number()
      .int()
      .min(1_000)
      .max(12 * 60 * 60_000),
    // At most 500: a chunk's completion entries are numbered with three digits.
    chunkMaxTasks: z.number().int().min(1).max(500),
    chunkMaxBytes: z
      .number()
      .int()
      .min(1_024)
      .max(4 * 1024 * 1024),
    backoffBaseMs: z
      .number()
      .int()
      .min(0)
      .max(60 * 60_000),
    backoffMaxMs: z
      .number()
      .int()
      .min(0)
      .max(12 * 60 * 60_000),
    taskTimeoutMs: z.number().int().min(1_000).max(Limits.MAX_TASK_TIMEOUT_MS),
  })
  .strict()
  .partial();

/** A session to create. */
export const CreateSessionInput = z
  .object({
    sessionId: id,
    config: SessionConfigInput.optional(),
    tags: z
      .record(z.string().max(128), z.string().max(256))
      .refine((t) => Object.keys(t).length <= 20, "at most 20 tags")
      .optional(),
  })
  .strict();
export type CreateSessionInput = z.input<typeof CreateSessionInput>;

/** One task of a submit batch. */
export const TaskInputSchema = z
  .object({
    index: z
      .number()
      .int()
      .min(0)
      .max(Limits.MAX_TASK_INDEX - 1),
    payload: z.string().optional(),
    payloadRef: z.uuid().optional(),
  })
  .strict()
  .refine((t) => t.payload === undefined || t.payloadRef === undefined, {
    message: "give payload or payloadRef, not both",
    path: ["payloadRef"],
  });

/** A batch of tasks to submit. */
export const SubmitBatchInput = z
  .object({
    handler: id.optional().meta({
      description:
        "The task type to run: one the session's pool runs (400 otherwise); leave it out to run the pool's default task",
    }),
    /** This batch's task timeout, instead of the session's. */
    timeoutMs: z.number().int().min(1_000).max(Limits.MAX_TASK_TIMEOUT_MS).optional(),
    tasks: z.array(TaskInputSchema).min(1).max(Limits.MAX_BATCH_TASKS),
  })
  .strict();
export type SubmitBatchInput = z.input<typeof SubmitBatchInput>;

/** Parses `input` or throws a ValidationError naming the first bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, root = "body"): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = [root, ...issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))]
    .join("")
    .replace(/\.\[/g, "[")
    .replace(/^body\./, "");
  throw new ValidationError(field, issue.message);
}
