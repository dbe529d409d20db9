/**
 * How the SDK's requests leave the process. By default `node:http`/`node:https` with keep-alive
 * agents rather than the global fetch: a client that submits and streams a million tasks makes
 * thousands of requests, and each fetch allocates web streams, Headers and Request/Response
 * objects that outlive a few young-generation collections while the request is in flight; V8
 * then grows its young generation to the largest size it allows, which alone took the client
 * past its memory budget (`npm run bench:client`). A fetch given in the options (tests inject
 * faults with one) goes through the same interface.
 */
import http from "node:http";
import https from "node:https";

/** One request as the HTTP client makes it. */
export interface TransportRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** The caller's cancellation; the transport rejects with its reason. */
  signal: AbortSignal | undefined;
  /** Longest the request may take, answer read included: past it, a `TimeoutError`. */
  timeoutMs: number;
}

/** An answer, read whole. */
export interface TransportResponse {
  status: number;
  /** A response header (lower-case name), or undefined. */
  header(name: string): string | undefined;
  text: string;
}

/** Sends a request; rejects on network errors, timeouts (`name === "TimeoutError"`) and aborts. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** The error a request past its time rejects with (the name fetch's timeouts carry too). */
function timeoutError(timeoutMs: number): Error {
  const error = new Error(`no answer within ${timeoutMs} ms`);
  error.name = "TimeoutError";
  return error;
}

/**
 * Idle sockets are closed after 4 s, before a Node server's default keep-alive timeout (5 s)
 * closes them under a request; a request that still meets a closed socket fails as a network
 * error, which the client retries.
 */
const agents = {
  "http:": new http.Agent({ keepAlive: true, timeout: 4_000 }),
  "https:": new https.Agent({ keepAlive: true, timeout: 4_000 }),
};

/** The default transport: `node:http` or `node:https` by the URL's scheme. */
export const nodeTransport: Transport = (request) =>
  new Promise((resolve, reject) => {
    const { signal } = request;
    if (signal?.aborted) return reject(signal.reason);
    const agent = agents[request.url.protocol as keyof typeof agents];
    if (!agent) return reject(new TypeError(`unsupported protocol ${request.url.protocol}`));
    const send = request.url.protocol === "https:" ? https.request : http.request;
    let settled = false;
    const finish = (error: unknown, response?: TransportResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(response!);
    };
    const onAbort = () => finish(signal!.reason);
    const req = send(request.url, { method: request.method, headers: request.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", (error) => finish(error));
      res.on("end", () => {
        const headers = res.headers;
        finish(undefined, {
          status: res.statusCode ?? 0,
          header: (name) => {
            const value = headers[name];
            return Array.isArray(value) ? value.join(", ") : value;
          },
          text: Buffer.concat(chunks).toString("utf8"),
        });
      });
    });
    const timer = setTimeout(() => finish(timeoutError(request.timeoutMs)), request.timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (error) => finish(error));
    req.end(request.body);
  });

/** A transport over a fetch function (one given in the client's options). */
export function fetchTransport(fetchFn: typeof fetch): Transport {
  return async (request) => {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(timeoutError(request.timeoutMs)), request.timeoutMs);
    try {
      const response = await fetchFn(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: request.signal ? AbortSignal.any([request.signal, timeout.signal]) : timeout.signal,
      });
      const text = await response.text();
      return { status: response.status, header: (name) => response.headers.get(name) ?? undefined, text };
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
}
