/**
 * Powertools for AWS Lambda: structured JSON logs, EMF metrics and X-Ray tracing, created once
 * per container. Settings follow the Powertools environment variables (POWERTOOLS_LOG_LEVEL,
 * POWERTOOLS_METRICS_DISABLED, POWERTOOLS_TRACE_ENABLED, ...).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";

/** The namespace of Tessera's CloudWatch metrics. */
export const METRICS_NAMESPACE = "Tessera";

/** Logger, metrics and tracer of one function. */
export interface Observability {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
}

/** Creates the Powertools utilities of a function (`service` names it in logs, metrics, traces). */
export function createObservability(service: string): Observability {
  const logger = new Logger({ serviceName: service });
  return {
    logger,
    // Its warnings (such as an invocation without metrics) go through the logger and its level.
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service, logger }),
    tracer: new Tracer({ serviceName: service }),
  };
}
