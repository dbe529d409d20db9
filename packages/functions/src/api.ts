/**
 * The HTTP API function (API Gateway HTTP API, payload format 2.0): one Lambda serves every
 * route, so a client meets one warm container instead of one per route. The router and the
 * routes' schemas are the whole surface; `GET /openapi.json` serves the generated document.
 */
import httpRouter from "@middy/http-router";
import { counterName } from "@tessera/core/metering";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { EdgeErrorCode } from "./errors.ts";
import { resolveTenant } from "./http/auth.ts";
import { openApiDocument } from "./http/openapi.ts";
import { errorResponse, json } from "./http/respond.ts";
import { parseRequest, type Route } from "./http/route.ts";
import { API_ROUTES } from "./http/routes.ts";
import { withObservability } from "./middleware.ts";
import { createObservability, type Observability } from "./observability.ts";
import { functionMemoryGb, type GridRuntime } from "./runtime.ts";

type Result = APIGatewayProxyStructuredResultV2;

class RouteNotFoundError extends Error {
  override name = "RouteNotFoundError";
  readonly code = EdgeErrorCode.ROUTE_NOT_FOUND;
}

/** A request still running this close to the function's time limit is answered as timed out. */
export const API_TIMEOUT_MARGIN_MS = 1_000;

/** The request could not finish within the API function's time. */
class RequestTimeoutError extends Error {
  override name = "RequestTimeoutError";
  readonly code = EdgeErrorCode.TIMEOUT;
}

/** Builds the API handler over a runtime (created on first use, kept per container). */
export function createApiHandler(
  runtime: () => GridRuntime,
  o: Observability = createObservability("tessera-api"),
) {
  const document = openApiDocument(API_ROUTES);

  const serve = async (
    route: Route,
    event: APIGatewayProxyEventV2,
    signal?: AbortSignal,
  ): Promise<Result> => {
    const started = Date.now();
    const rt = runtime();
    const tenant = route.authenticated === false ? "" : resolveTenant(event, rt.auth);
    const sessionId = event.pathParameters?.sessionId;
    const input = parseRequest(route, event);
    const body = await route.handle({
      ...input,
      tenant,
      runtime: rt,
      requestId: event.requestContext.requestId,
      metrics: o.metrics,
      signal,
    });
    // A served request's cost to its session: API Gateway, the invocation and its duration (the
    // calls it made were attributed by the middleware); written every few seconds at most. A
    // rejected request writes nothing.
    if (rt.usage && tenant && sessionId) {
      rt.usage.add(
        { tenant, sessionId },
        {
          [counterName.apiRequests]: 1,
          [counterName.lambdaInvocations]: 1,
          [counterName.lambdaGbSeconds]: ((Date.now() - started) / 1_000) * functionMemoryGb(1024),
        },
      );
      await rt.usage.flushIfDue(2_000);
    }
    return json(route.status, body);
  };

  const router = httpRouter({
    routes: [
      ...API_ROUTES.map((route) => ({
        method: route.method,
        path: route.path,
        // The router hands on middy's abort options as the handler's third argument.
        handler: (event: APIGatewayProxyEventV2, _context: Context, abort: unknown) =>
          serve(route, event, (abort as { signal?: AbortSignal } | undefined)?.signal),
      })),
      { method: "GET" as const, path: "/openapi.json", handler: async () => json(200, document) },
    ],
    notFoundResponse: ({ method, path }: { method: string; path: string }) => {
      throw new RouteNotFoundError(`no route ${method} ${path} (see GET /openapi.json)`);
    },
  });

  // middy aborts `signal` when it answers a request that would outlive the function.
  const handle = async (
    event: APIGatewayProxyEventV2,
    context: Context,
    abort?: { signal: AbortSignal },
  ): Promise<Result> => {
    try {
      return (await router(event, context, abort as never)) as Result;
    } catch (error) {
      const { response, serverFault } = errorResponse(error, event.requestContext.requestId);
      if (serverFault) o.logger.error("request failed", { error: error as Error, path: event.rawPath });
      else
        o.logger.info("request rejected", { status: response.statusCode, reason: (error as Error).message });
      return response;
    }
  };

  // middy answers with this, on its own timer, when a request would outlive the function.
  const timedOut = (): Result => {
    o.logger.warn("request timed out");
    return errorResponse(
      new RequestTimeoutError(
        "the request did not finish within the API's time limit; retry it (every call is safe to retry; a results read resumes from its cursor)",
      ),
      "",
    ).response;
  };
  return withObservability(handle, o, (event) => event.requestContext?.requestId, {
    marginMs: API_TIMEOUT_MARGIN_MS,
    response: timedOut,
  });
}

export { openApiDocument };
