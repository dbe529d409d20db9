// Moved to @tessera/core/aws (agents share it) and @tessera/task (task code and its runtime);
// still exported here so that existing imports keep working.
export { sessionUsageFor } from "@tessera/core/aws";
export type {
  IsolatedRunner,
  IsolatedRunnerOptions,
  TaskDefinition,
  TaskHandlerContext,
  TaskLogger,
  TaskRunnerOptions,
} from "@tessera/task";
export { collectTasks, defineTask, isolatedTaskRunner, TaskInputError, taskRunner } from "@tessera/task";
export { createApiHandler, openApiDocument } from "./api.ts";
export type { HandlerCatalogue, PoolHandlers } from "./handler-catalogue.ts";
export {
  catalogueOf,
  checkHandler,
  HandlerCatalogueSchema,
  parseHandlerCatalogue,
} from "./handler-catalogue.ts";
export type { AuthConfig } from "./http/auth.ts";
export type { Route, RouteInput } from "./http/route.ts";
export { API_ROUTES } from "./http/routes.ts";
export type { TaskLogPage, TaskLogQuery, TaskLogSource } from "./logs/task-log-source.ts";
export { MAX_LOG_PAGE_ENTRIES } from "./logs/task-log-source.ts";
export type { Observability } from "./observability.ts";
export { createObservability, METRICS_NAMESPACE } from "./observability.ts";
export { createReaperHandler } from "./reaper.ts";
export type { GridRuntime } from "./runtime.ts";
export { functionMemoryGb, lazyRuntime, runtimeFromEnv } from "./runtime.ts";
export type { FleetConfig, Scaler, ScalerReport } from "./scaler.ts";
export {
  createScalerHandler,
  FleetConfigSchema,
  fleetConfigFromEnv,
  policyOf,
  scalerFromEnv,
} from "./scaler.ts";
export { sqsEventOf } from "./sqs-event.ts";
export type { WarmWorkerSettings } from "./warm-worker.ts";
export { DEFAULT_WORKER_CONCURRENCY, warmWorkerOptions, warmWorkerSettings } from "./warm-worker.ts";
export type { WorkerOptions } from "./worker.ts";
export { createWorkerHandler } from "./worker.ts";
