export { createApiHandler, openApiDocument } from "./api.ts";
export type { AuthConfig } from "./http/auth.ts";
export type { Route, RouteInput } from "./http/route.ts";
export { API_ROUTES } from "./http/routes.ts";
export type { IsolatedRunner, IsolatedRunnerOptions } from "./isolated-runner.ts";
export { isolatedTaskRunner } from "./isolated-runner.ts";
export type { Observability } from "./observability.ts";
export { createObservability, METRICS_NAMESPACE } from "./observability.ts";
export { createReaperHandler } from "./reaper.ts";
export type { GridRuntime } from "./runtime.ts";
export { functionMemoryGb, lazyRuntime, runtimeFromEnv, sessionUsageFor } from "./runtime.ts";
export type { FleetConfig, Scaler, ScalerReport } from "./scaler.ts";
export {
  createScalerHandler,
  FleetConfigSchema,
  fleetConfigFromEnv,
  policyOf,
  scalerFromEnv,
} from "./scaler.ts";
export { sqsEventOf } from "./sqs-event.ts";
export type { TaskDefinition, TaskHandlerContext, TaskLogger, TaskRunnerOptions } from "./task-definition.ts";
export { collectTasks, defineTask, TaskInputError, taskRunner } from "./task-definition.ts";
export type { WorkerOptions } from "./worker.ts";
export { createWorkerHandler } from "./worker.ts";
