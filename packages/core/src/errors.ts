/**
 * Error hierarchy of @tessera/core. Every error carries a stable `code`; check
 * errors by `code` (via {@link isGridError}) rather than `instanceof`, so that
 * duplicated copies of the package still agree.
 */

/** Stable error codes. */
export const ErrorCode = {
  VALIDATION: "VALIDATION",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  TOO_LARGE: "TOO_LARGE",
  SESSION_NOT_OPEN: "SESSION_NOT_OPEN",
  CURSOR_EXPIRED: "CURSOR_EXPIRED",
  TRANSIENT: "TRANSIENT",
  EMULATOR: "EMULATOR",
  INVARIANT: "INVARIANT",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Root of every error thrown by Tessera. */
export class GridError extends Error {
  override name = "GridError";
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Bad input: names the offending field; nothing was changed. */
export class ValidationError extends GridError {
  override name = "ValidationError";
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.VALIDATION, `${field}: ${message}`, options);
    this.field = field;
  }
}

/** An input exceeds a size limit. */
export class TooLargeError extends GridError {
  override name = "TooLargeError";
  readonly field: string;
  readonly limit: number;
  constructor(field: string, limit: number, actual: number) {
    super(ErrorCode.TOO_LARGE, `${field}: ${actual} bytes exceeds the limit of ${limit} bytes`);
    this.field = field;
    this.limit = limit;
  }
}

/** The addressed session or task does not exist (for this tenant). */
export class NotFoundError extends GridError {
  override name = "NotFoundError";
  readonly resource: string;
  constructor(resource: string, message?: string) {
    super(ErrorCode.NOT_FOUND, message ?? `${resource} not found`);
    this.resource = resource;
  }
}

/**
 * A task index was already submitted with other work (another payload, upload or handler): a
 * resubmit is accepted only when it is the same work. Nothing of the batch was stored.
 */
export class TaskConflictError extends GridError {
  override name = "TaskConflictError";
  readonly field: string;
  readonly index: number;
  constructor(field: string, index: number, message: string) {
    super(ErrorCode.CONFLICT, `${field}: ${message}`);
    this.field = field;
    this.index = index;
  }
}

/**
 * A session id already exists with another configuration or other tags than a create asked
 * for: a session's settings never change under its tasks. Nothing was changed.
 */
export class SessionConflictError extends GridError {
  override name = "SessionConflictError";
  readonly field: string;
  constructor(field: string, message: string) {
    super(ErrorCode.CONFLICT, `${field}: ${message}`);
    this.field = field;
  }
}

/** The session no longer accepts tasks (cancelled or closed). */
export class SessionNotOpenError extends GridError {
  override name = "SessionNotOpenError";
  readonly sessionId: string;
  constructor(sessionId: string, state: string) {
    super(ErrorCode.SESSION_NOT_OPEN, `session ${sessionId} is ${state} and accepts no tasks`);
    this.sessionId = sessionId;
  }
}

/** A results cursor too old to resume from: the reader starts again without one. */
export class CursorExpiredError extends GridError {
  override name = "CursorExpiredError";
  constructor(ageMs: number, maxAgeMs: number) {
    super(
      ErrorCode.CURSOR_EXPIRED,
      `cursor: expired (issued ${Math.round(ageMs / 3_600_000)} h ago; cursors last ${maxAgeMs / 3_600_000} h); read again without a cursor`,
    );
  }
}

/** A retryable infrastructure failure (throttling, 5xx, timeouts). */
export class TransientError extends GridError {
  override name = "TransientError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.TRANSIENT, message, options);
  }
}

/** An emulator could not be started (missing Java, port clash, ...). */
export class EmulatorError extends GridError {
  override name = "EmulatorError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.EMULATOR, message, options);
  }
}

/** A broken internal invariant: a bug, never an expected outcome. */
export class InvariantError extends GridError {
  override name = "InvariantError";
  constructor(message: string) {
    super(ErrorCode.INVARIANT, message);
  }
}

/** True when `error` is a Tessera error, optionally with the given code. */
export function isGridError(error: unknown, code?: ErrorCode): error is GridError {
  if (typeof error !== "object" || error === null) return false;
  const c = (error as { code?: unknown }).code;
  if (typeof c !== "string" || !(c in ErrorCode)) return false;
  return code === undefined || c === code;
}
