/**
 * A worker entry: the Lambda worker bundles this file (or one like it that imports your own
 * task modules). Every task definition exported by the imported modules can be run.
 *
 * With `isolate`, tasks run in worker threads that load this same bundle, so a cancel, a task
 * timeout or the function's deadline stops any task, even one that spins the CPU, and no task
 * holds the heartbeats and commits of the others (the stack installs piscina beside the bundle).
 */
import { createObservability, createWorkerHandler, lazyRuntime, runtimeFromEnv } from "@tessera/functions";
import { collectTasks } from "@tessera/task";
import * as echo from "./echo.ts";
import * as pricing from "./option-pricing.ts";

const observability = createObservability("tessera-worker");
export const handler = createWorkerHandler(
  lazyRuntime(() => runtimeFromEnv(process.env, { tracer: observability.tracer })),
  { tasks: collectTasks(echo, pricing), defaultTask: "echo", isolate: { entry: import.meta.url } },
  observability,
);
