/**
 * A session's results as an async iterable: follows the API's cursor, backs off while nothing
 * is new, drops repeats, fetches large results from their links, and knows where the caller
 * stands to the result (see resume-token.ts).
 */
import { TesseraError } from "./errors.ts";
import { type HttpClient, sleep } from "./http.ts";
import { IndexSet } from "./index-set.ts";
import { decodeResumeToken, encodeResumeToken } from "./resume-token.ts";
import type { ResultsPage, TaskError, WireResult } from "./types.ts";

/** A task that succeeded, with its output. */
export interface SucceededResult<Output> {
  taskId: string;
  index: number;
  status: "SUCCEEDED";
  attempt: number;
  output: Output;
  error?: undefined;
}

/** A task that failed (after its last attempt) or was cancelled. */
export interface FailedResult {
  taskId: string;
  index: number;
  status: "FAILED" | "CANCELLED";
  attempt: number;
  error: TaskError;
  output?: undefined;
}

/**
 * A task that succeeded but whose output could not be downloaded: its result link answered
 * 4xx (the blob is gone, e.g. a local grid restarted, or it expired), or kept failing after the
 * retries. The task itself is done; only its output is lost to this reader.
 */
export interface UnavailableResult {
  taskId: string;
  index: number;
  status: "SUCCEEDED";
  attempt: number;
  error: TaskError & { code: "RESULT_UNAVAILABLE" };
  output?: undefined;
}

/**
 * One finished task. `error` is set exactly when there is no output, so `if (r.error)`
 * separates the two: failed and cancelled tasks, and succeeded ones whose result could not be
 * downloaded (`error.code === "RESULT_UNAVAILABLE"`); `status` stays the task's own.
 */
export type TaskResult<Output> = SucceededResult<Output> | FailedResult | UnavailableResult;

/** Options of `Session.results`. */
export interface ResultsOptions {
  signal?: AbortSignal;
  /** First wait when nothing is new; doubles up to `maxPollMs`. @default 100 */
  minPollMs?: number;
  /** @default 5000 */
  maxPollMs?: number;
  /** Results per page. @default 1000 */
  pageSize?: number;
  /**
   * Resume exactly after the last result a previous stream handed out: its
   * {@link ResultStream.cursor}. An opaque token: between pages it is the API's own cursor; in
   * the middle of a page a `tr1.` token, which wraps the cursor that page was read with and the
   * task indexes of it already handed out (compact, about a byte each), skipped on resume. The
   * API's raw cursors are taken too. `results()` throws a TesseraError with code BAD_CURSOR
   * for a malformed token.
   */
  cursor?: string;
  /**
   * Yield only failed and cancelled tasks: succeeded ones are passed over without fetching their
   * outputs (their pages are read all the same: the API has no filter, so the work still follows
   * the whole session). @default false
   */
  failuresOnly?: boolean;
}

/** The results of a session as an async iterable; `cursor` is where its reader stands. */
export class ResultStream<Output> implements AsyncIterable<TaskResult<Output>> {
  readonly #http: HttpClient;
  readonly #path: string;
  readonly #options: ResultsOptions;
  readonly #delivered = new IndexSet();
  /** The API cursor the current page was read with (the previous page's). */
  #base: string | undefined;
  /** Indexes handed out before this stream (from a resume token) and not yet met again. */
  readonly #carried: Set<number>;
  /** Task indexes of the current page, and how many of them the caller has gone past. */
  #page: number[] = [];
  #passed = 0;

  constructor(http: HttpClient, path: string, options: ResultsOptions) {
    const point = decodeResumeToken(options.cursor);
    this.#http = http;
    this.#path = path;
    this.#options = options;
    this.#base = point.apiCursor;
    this.#carried = new Set(point.skip);
  }

  /**
   * Resume token: pass as `cursor` to a new stream, which then starts exactly after the last
   * result this one handed out (none is repeated or lost). The API's cursor itself when the
   * caller stands between pages, else a `tr1.` token (see {@link ResultsOptions.cursor});
   * undefined while a stream started from the beginning has handed out nothing. Computed on
   * each read.
   */
  get cursor(): string | undefined {
    const skip = new Set(this.#carried);
    for (let i = 0; i < this.#passed; i++) skip.add(this.#page[i]!);
    return encodeResumeToken({ apiCursor: this.#base, skip });
  }

  /** Results delivered so far (with `failuresOnly`, the succeeded ones passed over too). */
  get delivered(): number {
    return this.#delivered.size;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TaskResult<Output>> {
    const { signal } = this.#options;
    const minPoll = this.#options.minPollMs ?? 100;
    let delay = minPoll;
    for (;;) {
      // POST: the cursor of a large session in progress does not fit a URL.
      const page = await this.#http.request<ResultsPage>("POST", `${this.#path}/results`, {
        body: { ...(this.#base ? { cursor: this.#base } : {}), limit: this.#options.pageSize ?? 1_000 },
        signal,
      });
      const indexes = page.results.map((wire) => Number(wire.taskId));
      // Positions of what the caller has not had: the API may repeat a result in rare cases, and
      // a resumed stream skips what its token says was handed out.
      const fresh: number[] = [];
      const inPage = new Set<number>();
      indexes.forEach((index, at) => {
        if (this.#delivered.has(index) || this.#carried.has(index) || inPage.has(index)) return;
        inPage.add(index);
        fresh.push(at);
      });
      this.#page = indexes;
      this.#passed = 0;
      for (const [k, at] of fresh.entries()) {
        const index = indexes[at]!;
        const wire = page.results[at]!;
        const passOver = this.#options.failuresOnly && wire.status === "SUCCEEDED";
        const result = passOver ? undefined : await this.#toResult(wire, index);
        this.#delivered.add(index);
        // Past this result the token skips it; past the page's last, the page's own cursor.
        if (k === fresh.length - 1) this.#finishPage(page.cursor);
        else this.#passed = at + 1;
        if (result) yield result;
      }
      if (fresh.length === 0) this.#finishPage(page.cursor);
      // Only the API knows when no more can come (a submit in flight at a close may still land
      // tasks): the stream ends on its word alone.
      if (page.settled) return;
      if (page.results.length > 0) {
        delay = minPoll;
        continue;
      }
      await sleep(delay, signal);
      delay = Math.min(this.#options.maxPollMs ?? 5_000, delay * 2);
    }
  }

  /** The caller has gone past the whole page: the next read starts after it. */
  #finishPage(cursor: string): void {
    for (const index of this.#page) this.#carried.delete(index);
    this.#base = cursor;
    this.#page = [];
    this.#passed = 0;
  }

  async #toResult(wire: WireResult, index: number): Promise<TaskResult<Output>> {
    const { taskId, attempt } = wire;
    if (wire.status !== "SUCCEEDED") {
      const error = wire.error ?? { code: "UNKNOWN", message: "no error recorded" };
      return { taskId, index, status: wire.status, attempt, error };
    }
    // The API found the result lost (its spilled blob is gone): the task's error says so.
    if (wire.error && wire.result === undefined && wire.resultUrl === undefined) {
      const error = { code: "RESULT_UNAVAILABLE" as const, message: wire.error.message };
      return { taskId, index, status: "SUCCEEDED", attempt, error };
    }
    let text = wire.result;
    if (text === undefined && wire.resultUrl) {
      try {
        // Retries throttling, 5xx and network errors itself; what it throws is final.
        text = await this.#http.raw("GET", wire.resultUrl, undefined, this.#options.signal);
      } catch (error) {
        if (this.#options.signal?.aborted || !(error instanceof TesseraError)) throw error;
        // One lost blob must not end the stream: the later results are still to come.
        const message = `the task succeeded but its result could not be downloaded (${error.message})`;
        return {
          taskId,
          index,
          status: "SUCCEEDED",
          attempt,
          error: { code: "RESULT_UNAVAILABLE", message },
        };
      }
    }
    return { taskId, index, status: "SUCCEEDED", attempt, output: parseOutput<Output>(text) };
  }
}

function parseOutput<Output>(text: string | undefined): Output {
  if (text === undefined) return undefined as Output;
  try {
    return JSON.parse(text) as Output;
  } catch {
    return text as Output;
  }
}
