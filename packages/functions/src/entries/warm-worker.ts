/**
 * Lambda entry of a warm-worker function (a container image: examples/lambda-worker-image/): the
 * worker handler over warm worker processes of TESSERA_WORKER_COMMAND (see warm-worker.ts).
 * `npm run build:lambda-image` bundles it as `warm-worker.mjs`; the image's CMD names `handler`.
 */
import { createObservability } from "../observability.ts";
import { lazyRuntime, runtimeFromEnv } from "../runtime.ts";
import { warmWorkerOptions } from "../warm-worker.ts";
import { createWorkerHandler } from "../worker.ts";

const observability = createObservability("tessera-worker");
export const handler = createWorkerHandler(
  lazyRuntime(() => runtimeFromEnv(process.env, { tracer: observability.tracer })),
  warmWorkerOptions(process.env),
  observability,
);
