/**
 * A worker entry: the Lambda worker bundles this file (or one like it that imports your own
 * task modules). Every task definition exported by the imported modules can be run.
 */
import {
  collectTasks,
  createObservability,
  createWorkerHandler,
  lazyRuntime,
  runtimeFromEnv,
} from "@tessera/functions";
import * as echo from "./echo.ts";
import * as pricing from "./option-pricing.ts";

const observability = createObservability("tessera-worker");
export const handler = createWorkerHandler(
  lazyRuntime(() => runtimeFromEnv(process.env, { tracer: observability.tracer })),
  { tasks: collectTasks(echo, pricing), defaultTask: "echo" },
  observability,
);
