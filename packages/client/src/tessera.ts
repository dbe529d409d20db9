/** The Tessera SDK's entry point. */
import { HttpClient, type HttpOptions } from "./http.ts";
import { Session } from "./session.ts";
import type { SessionConfig, SessionInfo, SessionList } from "./types.ts";

/** Options of {@link Tessera}. */
export type TesseraOptions = HttpOptions;

/** A session to create. */
export interface CreateSessionOptions {
  sessionId: string;
  config?: Partial<SessionConfig>;
  tags?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A client of a Tessera grid.
 *
 * @example
 * const tessera = new Tessera({ endpoint: "http://127.0.0.1:8787", token });
 * const session = await tessera.createSession<{ x: number }, { y: number }>({ sessionId: "squares" });
 * await session.submit([{ x: 1 }, { x: 2 }], { handler: "square", close: true });
 * for await (const r of session.results()) console.log(r.taskId, r.error ? r.error.message : r.output.y);
 */
export class Tessera {
  readonly #http: HttpClient;

  constructor(options: TesseraOptions) {
    if (!options.token && !options.signer) {
      throw new TypeError("Tessera: give a token (local grid, JWT) or a signer (IAM)");
    }
    this.#http = new HttpClient(options);
  }

  /**
   * Creates a session (idempotent: an existing id returns that session). An existing id asked
   * for other settings or tags is refused (409 CONFLICT naming the field): settings never change.
   */
  async createSession<Input = unknown, Output = unknown>(
    options: CreateSessionOptions,
  ): Promise<Session<Input, Output>> {
    const { signal, ...body } = options;
    await this.#http.request<{ session: SessionInfo; created: boolean }>("POST", "/sessions", {
      body,
      signal,
    });
    return new Session<Input, Output>(this.#http, options.sessionId);
  }

  /** A handle on an existing session (no call is made). */
  session<Input = unknown, Output = unknown>(sessionId: string): Session<Input, Output> {
    return new Session<Input, Output>(this.#http, sessionId);
  }

  /** The caller's sessions, newest first, page by page. */
  async *sessions(options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<SessionInfo> {
    let after: string | undefined;
    do {
      const page = await this.#http.request<SessionList>("GET", "/sessions", {
        query: { limit: options.pageSize ?? 50, after },
        signal: options.signal,
      });
      yield* page.sessions;
      after = page.next;
    } while (after);
  }
}
