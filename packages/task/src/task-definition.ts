/**
 * How users bring their code: `defineTask(name, schema, handler)`. A module exporting task
 * definitions is what the worker bundles (and what agents load); `taskRunner` turns a set of
 * them into the dispatch core's TaskRunner.
 */
import type { TaskContext, TaskRunner } from "@tessera/core";
import type { z } from "zod";
import { type LogLevel, type TaskLogger, type TaskLogSink, taskLogger } from "./task-log.ts";

export type { TaskLogger } from "./task-log.ts";

/** What a task handler receives besides its input. */
export interface TaskHandlerContext {
  tenant: string;
  sessionId: string;
  taskId: string;
  /** This run's attempt number, from 1. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the task is cancelled, its lease is lost or the worker must stop: stop soon. */
  signal: AbortSignal;
  logger: TaskLogger;
}

/** A named task type: its input schema and the function that runs it. */
export interface TaskDefinition<Input = unknown, Output = unknown> {
  readonly name: string;
  readonly input: z.ZodType<Input>;
  run(input: Input, context: TaskHandlerContext): Promise<Output> | Output;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Defines a task type. The input is validated against `input` before `run` is called (a task
 * whose input does not match fails with the field named); the return value, serialized as
 * JSON, is the task's result; a throw is a failure and is retried up to the session's
 * maxAttempts.
 *
 * @example
 * export const square = defineTask("square", z.object({ x: z.number() }), ({ x }) => x * x);
 */
export function defineTask<S extends z.ZodType, Output>(
  name: string,
  input: S,
  run: (input: z.output<S>, context: TaskHandlerContext) => Promise<Output> | Output,
): TaskDefinition<z.output<S>, Output> {
  if (!NAME.test(name))
    throw new TypeError(`task name "${name}" must be 1-64 characters of A-Z a-z 0-9 _ . -`);
  return { name, input: input as z.ZodType<z.output<S>>, run };
}

/** A task's input failed its schema: retrying cannot help, but the grid retries all failures alike. */
export class TaskInputError extends Error {
  override name = "TaskInputError";
}

/** True for values that look like task definitions (module exports may hold other things). */
function isTaskDefinition(value: unknown): value is TaskDefinition {
  const v = value as Partial<TaskDefinition> | undefined;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.name === "string" &&
    typeof v.run === "function" &&
    typeof (v.input as { safeParse?: unknown } | undefined)?.safeParse === "function"
  );
}

/** Collects the task definitions exported by modules (e.g. `import * as tasks from "./tasks.ts"`). */
export function collectTasks(
  ...modules: Array<Record<string, unknown> | TaskDefinition[]>
): Map<string, TaskDefinition> {
  const found = new Map<string, TaskDefinition>();
  for (const module of modules) {
    for (const value of Object.values(module)) {
      if (!isTaskDefinition(value)) continue;
      const other = found.get(value.name);
      if (other && other !== value) throw new TypeError(`two task definitions are named "${value.name}"`);
      found.set(value.name, value);
    }
  }
  return found;
}

/** Formats the first schema issue as `input.path: message`. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "input: invalid";
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  return `input${path}: ${issue.message}`;
}

/** Options of {@link taskRunner}. */
export interface TaskRunnerOptions {
  /** Task run when a batch names no handler. */
  defaultTask?: string;
  /**
   * Where the entries task code logs go (see TaskLogEntry); without it (and without `logger`),
   * task logs are dropped.
   */
  logSink?: TaskLogSink | undefined;
  /** Least severe level kept; lines below it are dropped where they are logged. @default "info" */
  logLevel?: LogLevel | undefined;
  /** Logger factory for a task's context (used instead of `logSink`). */
  logger?: (task: TaskContext) => TaskLogger;
}

const SILENT: TaskLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The logger a task run gets: the factory's, or one over the sink, or a silent one. */
function loggerOf(task: TaskContext, options: TaskRunnerOptions): TaskLogger {
  if (options.logger) return options.logger(task);
  return options.logSink ? taskLogger(task, options.logSink, options.logLevel) : SILENT;
}

/**
 * The dispatch core's runner over task definitions: finds the task by the batch's handler
 * name, parses the JSON payload, validates it, runs it, and serializes the result as JSON.
 */
export function taskRunner(tasks: Map<string, TaskDefinition>, options: TaskRunnerOptions = {}): TaskRunner {
  return async (task) => {
    const name = task.handler ?? options.defaultTask;
    const definition = name === undefined ? undefined : tasks.get(name);
    if (!definition) {
      const known = [...tasks.keys()].join(", ") || "none";
      throw new Error(
        name === undefined
          ? `the batch named no handler and this worker has no default task (known: ${known})`
          : `unknown task "${name}" (this worker knows: ${known})`,
      );
    }
    let raw: unknown;
    try {
      raw = task.payload === null ? undefined : JSON.parse(task.payload);
    } catch {
      throw new TaskInputError("input: payload is not valid JSON");
    }
    const parsed = definition.input.safeParse(raw);
    if (!parsed.success) throw new TaskInputError(describeIssue(parsed.error));
    const output = await definition.run(parsed.data, {
      tenant: task.tenant,
      sessionId: task.sessionId,
      taskId: task.taskId,
      attempt: task.attempt,
      maxAttempts: task.maxAttempts,
      signal: task.signal,
      logger: loggerOf(task, options),
    });
    return output === undefined ? undefined : JSON.stringify(output);
  };
}
