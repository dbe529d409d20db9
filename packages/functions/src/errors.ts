/** Errors of the HTTP edge that the core does not have. */
import { GridError } from "@tessera/core";

/** Stable codes of the edge's own errors. */
export const EdgeErrorCode = {
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  ROUTE_NOT_FOUND: "ROUTE_NOT_FOUND",
  TIMEOUT: "TIMEOUT",
} as const;

/** The caller presented no credentials, or ones this API does not accept. */
export class UnauthorizedError extends Error {
  override name = "UnauthorizedError";
  readonly code = EdgeErrorCode.UNAUTHORIZED;
}

/** The caller is authenticated but its identity names no tenant. */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
  readonly code = EdgeErrorCode.FORBIDDEN;
}

/** A body was sent with a content type other than JSON. */
export class UnsupportedMediaTypeError extends Error {
  override name = "UnsupportedMediaTypeError";
  readonly code = EdgeErrorCode.UNSUPPORTED_MEDIA_TYPE;
}

export { GridError };
