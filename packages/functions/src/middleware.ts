/**
 * The middy stack every handler shares, built in one place: tracing, the Lambda context and a
 * correlation id in every log line, and metrics flushed once per invocation.
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy, { type MiddyfiedHandler } from "@middy/core";
import type { Context } from "aws-lambda";
import type { Observability } from "./observability.ts";

/** What a handler answers when it would run past its function's time. */
export interface EarlyTimeout<R> {
  /** Time kept back before the function's timeout to answer in. */
  marginMs: number;
  /** The answer; the handler's signal (its third argument) is aborted and its result dropped. */
  response: () => R;
}

/**
 * Wraps a handler in the shared middleware; `correlationId` picks the id logs carry. With
 * `timeout`, a handler still running `marginMs` before the function's time answers with
 * `timeout.response()` instead of middy's bare TimeoutError (which API Gateway turns into a
 * plain-text 500).
 */
export function withObservability<E, R>(
  handler: (event: E, context: Context, abort: { signal: AbortSignal }) => Promise<R>,
  o: Observability,
  correlationId?: (event: E) => string | undefined,
  timeout?: EarlyTimeout<R>,
): MiddyfiedHandler<E, R> {
  return middy<E, R>(
    timeout ? { timeoutEarlyInMillis: timeout.marginMs, timeoutEarlyResponse: timeout.response } : {},
  )
    .use(captureLambdaHandler(o.tracer, { captureResponse: false }))
    .use(injectLambdaContext(o.logger, { resetKeys: true }))
    .use({
      before: (request) => {
        const id = correlationId?.(request.event);
        if (id) o.logger.setCorrelationId(id);
      },
    })
    .use(logMetrics(o.metrics, { captureColdStartMetric: true }))
    .handler(handler);
}
