/** Lambda entry of the HTTP API: `handler` is what `infra/` points API Gateway at. */
import { createApiHandler } from "../api.ts";
import { createObservability } from "../observability.ts";
import { lazyRuntime, runtimeFromEnv } from "../runtime.ts";

const observability = createObservability("tessera-api");
export const handler = createApiHandler(
  lazyRuntime(() => runtimeFromEnv(process.env, { tracer: observability.tracer })),
  observability,
);
