/**
 * A route: its method and path, the zod schemas of its parameters, body and response (which
 * the OpenAPI document is generated from), and the function that serves it. Parsing happens
 * here, once, so a handler only calls the core.
 */
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { parseInput, TooLargeError, ValidationError } from "@tessera/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { z } from "zod";
import { UnsupportedMediaTypeError } from "../errors.ts";
import type { GridRuntime } from "../runtime.ts";

/** Largest request body: Lambda's synchronous payload limit is 6 MB. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024;

/** What a route's handler receives: validated inputs and the caller's tenant. */
export interface RouteInput<P, Q, B> {
  tenant: string;
  params: P;
  query: Q;
  body: B;
  runtime: GridRuntime;
  requestId: string;
  metrics: Metrics;
  /** Aborted when the request would outlive the function: stop writing, the caller retries. */
  signal?: AbortSignal | undefined;
}

/** A documented error status of a route. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 410 | 413 | 415;

/** A route definition. */
export interface Route<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: "GET" | "POST" | "DELETE";
  /** Path with `{name}` parameters, e.g. `/sessions/{sessionId}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  params: P;
  query: Q;
  /** Request body schema; absent for routes without a body. */
  body?: B | undefined;
  /** Success status and response body schema. */
  status: 200 | 201;
  response: R;
  /** Error statuses besides 401 (every route) and 400 (every route with inputs). */
  errors: ErrorStatus[];
  /** False for the one public route (the OpenAPI document). @default true */
  authenticated?: boolean;
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** Defines a route, inferring its handler's input and output types from its schemas. */
export function defineRoute<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType,
>(route: Route<P, Q, B, R>): Route {
  return route as unknown as Route;
}

/** No parameters. */
export const NoParams = z.object({}).strict();

/** Parses the JSON body of a request, enforcing the content type and size. */
export function parseJsonBody(event: APIGatewayProxyEventV2): unknown {
  const type = event.headers?.["content-type"] ?? event.headers?.["Content-Type"];
  if (type === undefined || !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new UnsupportedMediaTypeError(
      `content-type must be application/json (got ${type === undefined ? "none" : JSON.stringify(type)})`,
    );
  }
  const raw = event.body ?? "";
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  const size = Buffer.byteLength(text);
  if (size > MAX_BODY_BYTES) throw new TooLargeError("body", MAX_BODY_BYTES, size);
  if (text.trim() === "") throw new ValidationError("body", "a JSON body is required");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError("body", `invalid JSON (${(error as Error).message})`);
  }
}

/** Parses a request's path, query and body against the route's schemas. */
export function parseRequest(
  route: Route,
  event: APIGatewayProxyEventV2,
): { params: unknown; query: unknown; body: unknown } {
  const params = parseInput(route.params, event.pathParameters ?? {}, "path");
  const query = parseInput(route.query, event.queryStringParameters ?? {}, "query");
  const body = route.body ? parseInput(route.body, parseJsonBody(event)) : undefined;
  return { params, query, body };
}
