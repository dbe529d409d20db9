/**
 * A worker entry: the Lambda worker bundles this file (or one like it that imports your own
 * task modules). Every task definition exported by the imported modules can be run; export them
 * as `tasks` (and the default as `defaultTask`) so the deploy knows them.
 *
 * With `isolate`, tasks run in worker threads that load this same bundle, so a cancel, a task
 * timeout or the function's deadline stops any task, even one that spins the CPU, and no task
 * holds the heartbeats and commits of the others (the stack installs piscina beside the bundle).
 */
import { createObservability, createWorkerHandler, lazyRuntime, runtimeFromEnv } from "@tessera/functions";
import { collectTasks } from "@tessera/task";
import * as echo from "./echo.ts";
import * as pricing from "./option-pricing.ts";

/**
 * The task types this worker runs, and the one it runs for a batch that names none. `infra/`
 * imports this module at deploy time to read them (so importing it must start nothing): the API
 * then refuses a submit to a Lambda pool naming any other handler.
 */
export const tasks = collectTasks(echo, pricing);
export const defaultTask = "echo";

const observability = createObservability("tessera-worker");
export const handler = createWorkerHandler(
  lazyRuntime(() => runtimeFromEnv(process.env, { tracer: observability.tracer })),
  { tasks, defaultTask, isolate: { entry: import.meta.url } },
  observability,
);
