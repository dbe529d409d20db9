/** Errors of the Tessera SDK. */

/** The API answered with an error, or could not be reached. */
export class TesseraError extends Error {
  override name = "TesseraError";
  /** HTTP status; 0 when no response came (network error, timeout). */
  readonly status: number;
  /** Stable code from the API (VALIDATION, NOT_FOUND, …) or NETWORK / TIMEOUT. */
  readonly code: string;
  /** The request field at fault, for 400s. */
  readonly field: string | undefined;
  readonly requestId: string | undefined;
  constructor(
    message: string,
    details: { status: number; code: string; field?: string | undefined; requestId?: string | undefined },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = details.status;
    this.code = details.code;
    this.field = details.field;
    this.requestId = details.requestId;
  }

  /** True when trying again later may succeed (throttling, 5xx, network). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}
