/**
 * What task code needs, and nothing of the Lambda stack (no middy, no Powertools): task
 * authoring (`defineTask`, imported by user task modules) and the task runtime that agents and
 * workers run it with (in-process or in worker threads, where a cancel or timeout can stop any
 * task), and the warm worker processes of any language (docs/worker-protocol.md) that the agent
 * and the Lambda worker share. Split from `@tessera/functions` as Temporal's `activity` package
 * is from its worker, so that agents and task modules depend on `@tessera/core` and this package
 * only.
 */
export type {
  IsolatedRunner,
  IsolatedRunnerOptions,
  TaskSource,
  ThreadTask,
  ThreadTaskFunction,
} from "./isolated-runner.ts";
export { entryThreadTask, isolatedTaskRunner } from "./isolated-runner.ts";
export { forgetGroup, killGroup, watchGroup } from "./process-groups.ts";
export type { TaskDefinition, TaskHandlerContext, TaskRunnerOptions } from "./task-definition.ts";
export { collectTasks, defineTask, TaskInputError, taskRunner } from "./task-definition.ts";
export type { LogLevel, TaskLogEntry, TaskLogger, TaskLogSink } from "./task-log.ts";
export {
  formatLogEntry,
  isLogLevel,
  isTaskLogEntry,
  jsonLineSink,
  LOG_LEVELS,
  taskLogger,
} from "./task-log.ts";
export type { WorkerPool, WorkerPoolOptions } from "./worker-pool.ts";
export { workerPool } from "./worker-pool.ts";
