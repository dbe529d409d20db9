/** HTTP responses: JSON bodies, and the mapping from errors to status codes. */
import { ErrorCode, isGridError } from "@tessera/core";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { EdgeErrorCode } from "../errors.ts";

/** A JSON response. */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

const STATUS_OF_CODE: Record<string, number> = {
  [ErrorCode.VALIDATION]: 400,
  [ErrorCode.TOO_LARGE]: 413,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.SESSION_NOT_OPEN]: 409,
  [ErrorCode.CURSOR_EXPIRED]: 410,
  [ErrorCode.TRANSIENT]: 503,
  [EdgeErrorCode.UNAUTHORIZED]: 401,
  [EdgeErrorCode.FORBIDDEN]: 403,
  [EdgeErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [EdgeErrorCode.ROUTE_NOT_FOUND]: 404,
  [EdgeErrorCode.TIMEOUT]: 503,
};

/** AWS errors that mean "slow down and retry": a 503 for the caller, not a 500. */
const THROTTLES = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
  "ServiceUnavailable",
]);

/** The response for an error, and whether it is the server's fault (to be logged as such). */
export function errorResponse(
  error: unknown,
  requestId: string,
): { response: APIGatewayProxyStructuredResultV2; serverFault: boolean } {
  const code = (error as { code?: unknown } | undefined)?.code;
  const known =
    typeof code === "string" && code in STATUS_OF_CODE && (isGridError(error) || code in EdgeErrorCode);
  if (known) {
    const status = STATUS_OF_CODE[code]!;
    const field = (error as { field?: unknown }).field;
    const headers: Record<string, string> = {};
    if (status === 401) headers["www-authenticate"] = "Bearer";
    if (status === 503) headers["retry-after"] = "1";
    return {
      response: json(
        status,
        {
          error: {
            code,
            message: (error as Error).message,
            ...(typeof field === "string" ? { field } : {}),
            requestId,
          },
        },
        headers,
      ),
      serverFault: status >= 500,
    };
  }
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === "AbortError") {
    // The request's own abort (it was answered as timed out): its work stopped on purpose.
    return {
      response: json(
        503,
        {
          error: {
            code: EdgeErrorCode.TIMEOUT,
            message: "the request was stopped at the API's time limit; retry it",
            requestId,
          },
        },
        { "retry-after": "1" },
      ),
      serverFault: false,
    };
  }
  if (typeof name === "string" && THROTTLES.has(name)) {
    return {
      response: json(
        503,
        { error: { code: "THROTTLED", message: "the grid is busy; retry shortly", requestId } },
        { "retry-after": "1" },
      ),
      serverFault: true,
    };
  }
  return {
    response: json(500, {
      error: { code: "INTERNAL", message: `internal error (request ${requestId})`, requestId },
    }),
    serverFault: true,
  };
}
