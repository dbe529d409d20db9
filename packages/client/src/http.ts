/**
 * The SDK's HTTP client: JSON requests (over node:http by default, see transport.ts), with a
 * timeout per attempt, retries with full-jitter backoff for throttling, 5xx and network errors
 * (every API operation is idempotent, so a retry never does anything twice), and cancellation
 * through an AbortSignal.
 */
import { TesseraError } from "./errors.ts";
import { fetchTransport, nodeTransport, type Transport, type TransportResponse } from "./transport.ts";

/** Signs a request (IAM/SigV4 deployments); returns the headers to add. */
export type RequestSigner = (request: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}) => Promise<Record<string, string>>;

/** Transport settings. */
export interface HttpOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:8787 or the API Gateway URL. */
  endpoint: string;
  /** Bearer token (local grid, JWT deployments). */
  token?: string | undefined;
  /** Signs each request instead (IAM deployments). */
  signer?: RequestSigner | undefined;
  /** Time limit of one attempt. @default 30000 */
  timeoutMs?: number;
  /** Retries after a retryable failure. @default 6 */
  maxRetries?: number;
  /** First retry delay cap; doubles per retry, up to 10 s. @default 200 */
  retryBaseMs?: number;
  /** A fetch function to send requests with (tests inject faults with one). @default node:http/https */
  fetch?: typeof fetch;
}

/** Options of one call. */
export interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** The body already serialized as JSON (text or UTF-8), instead of `body` (large bodies built from parts). */
  json?: string | Uint8Array;
  signal?: AbortSignal | undefined;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A JSON client of the Tessera API. */
export class HttpClient {
  readonly #options: Required<Omit<HttpOptions, "token" | "signer" | "fetch">> &
    Pick<HttpOptions, "token" | "signer">;
  readonly #transport: Transport;

  constructor(options: HttpOptions) {
    let endpoint: URL;
    try {
      endpoint = new URL(options.endpoint);
    } catch {
      throw new TypeError(`endpoint: "${options.endpoint}" is not a URL`);
    }
    this.#options = {
      timeoutMs: 30_000,
      maxRetries: 6,
      retryBaseMs: 200,
      ...options,
      endpoint: endpoint.href.replace(/\/+$/, ""),
    };
    this.#transport = options.fetch ? fetchTransport(options.fetch) : nodeTransport;
  }

  /** Calls the API; resolves with the parsed body of a 2xx, rejects with a TesseraError. */
  async request<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const url = new URL(this.#options.endpoint + path);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const json = options.json ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    // Held as bytes outside the JS heap while the request and its retries are in flight: a
    // request body that outlives a few young-generation collections would be copied and
    // promoted each time (the signer needs the text itself).
    const bytes = typeof json === "string" ? Buffer.from(json) : json;
    const body = bytes && this.#options.signer ? Buffer.from(bytes).toString() : bytes;
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      let failure: TesseraError;
      let retryAfterMs = 0;
      try {
        const response = await this.#send(method, url, body, options.signal);
        const { text } = response;
        const json = text === "" ? undefined : (JSON.parse(text) as unknown);
        if (response.status >= 200 && response.status < 300) return json as T;
        const error = (
          json as { error?: { code?: string; message?: string; field?: string; requestId?: string } }
        )?.error;
        failure = new TesseraError(error?.message ?? `HTTP ${response.status}`, {
          status: response.status,
          code: error?.code ?? `HTTP_${response.status}`,
          field: error?.field,
          requestId: error?.requestId,
        });
        retryAfterMs = Number(response.header("retry-after") ?? 0) * 1000;
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (error instanceof SyntaxError) {
          failure = new TesseraError(`${method} ${path}: the API answered with something other than JSON`, {
            status: 0,
            code: "BAD_RESPONSE",
          });
        } else {
          const timedOut = (error as Error).name === "TimeoutError";
          failure = new TesseraError(
            timedOut
              ? `${method} ${path}: no answer within ${this.#options.timeoutMs} ms`
              : `${method} ${path}: cannot reach ${this.#options.endpoint} (${(error as Error).message})`,
            { status: 0, code: timedOut ? "TIMEOUT" : "NETWORK" },
            { cause: error },
          );
        }
      }
      if (!failure.retryable || attempt >= this.#options.maxRetries) throw failure;
      const cap = Math.min(10_000, this.#options.retryBaseMs * 2 ** attempt);
      await sleep(Math.max(retryAfterMs, Math.random() * cap), options.signal);
    }
  }

  async #send(
    method: string,
    url: URL,
    body: string | Uint8Array | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TransportResponse> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    if (this.#options.signer)
      Object.assign(
        headers,
        await this.#options.signer({
          method,
          url,
          headers,
          body: typeof body === "string" ? body : undefined,
        }),
      );
    return this.#transport({ method, url, headers, body, signal, timeoutMs: this.#options.timeoutMs });
  }

  /**
   * Fetches a presigned URL (large payloads and results), with the same timeout and retries:
   * throttling, 5xx and network errors are retried, a 4xx is not. Every failure is a
   * TesseraError (HTTP_<status>, NETWORK or TIMEOUT) whose message shows no part of the link
   * (it carries a signature); an abort rejects with the signal's reason.
   */
  async raw(method: "GET" | "PUT", url: string, body?: string, signal?: AbortSignal): Promise<string> {
    const what = `${method} of a presigned link`;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let failure: TesseraError;
      try {
        const response = await this.#transport({
          method,
          url: new URL(url),
          headers: {},
          body,
          signal,
          timeoutMs: this.#options.timeoutMs * 4,
        });
        if (response.status >= 200 && response.status < 300) return response.text;
        failure = new TesseraError(`${what} failed: HTTP ${response.status}`, {
          status: response.status,
          code: `HTTP_${response.status}`,
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const timedOut = (error as Error).name === "TimeoutError";
        failure = new TesseraError(
          timedOut
            ? `${what}: no answer within ${this.#options.timeoutMs * 4} ms`
            : `${what}: cannot reach ${URL.parse(url)?.host ?? "its host"} (${(error as Error).message})`,
          { status: 0, code: timedOut ? "TIMEOUT" : "NETWORK" },
          { cause: error },
        );
      }
      if (!failure.retryable || attempt >= this.#options.maxRetries) throw failure;
      await sleep(Math.random() * Math.min(10_000, this.#options.retryBaseMs * 2 ** attempt), signal);
    }
  }
}
