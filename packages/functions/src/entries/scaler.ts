/** Lambda entry of the fleet scaler: `handler` runs on the schedule `infra/` sets. */
import { createObservability } from "../observability.ts";
import { createScalerHandler, type Scaler, scalerFromEnv } from "../scaler.ts";

const observability = createObservability("tessera-scaler");
let scaler: Scaler | undefined;
export const handler = createScalerHandler(() => {
  scaler ??= scalerFromEnv(process.env);
  return scaler;
}, observability);
