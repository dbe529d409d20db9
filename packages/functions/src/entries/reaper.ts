/** Lambda entry of the reaper: `handler` runs on the schedule `infra/` sets. */
import { createObservability } from "../observability.ts";
import { createReaperHandler } from "../reaper.ts";
import { lazyRuntime, runtimeFromEnv } from "../runtime.ts";

const observability = createObservability("tessera-reaper");
export const handler = createReaperHandler(
  lazyRuntime(() => runtimeFromEnv(process.env, { tracer: observability.tracer })),
  observability,
);
