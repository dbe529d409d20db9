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
  /** The current page; the positions in it of results the caller has not had, and the next of them. */
  #current: ResultsPage | undefined;
  #fresh: number[] = [];
  #nextFresh = 0;
  /** Wait before the next read while pages come back empty. */
  #delay: number;
  #ended = false;

  constructor(http: HttpClient, path: string, options: ResultsOptions) {
    const point = decodeResumeToken(options.cursor);
    this.#http = http;
    this.#path = path;
    this.#options = options;
    this.#base = point.apiCursor;
    this.#carried = new Set(point.skip);
    this.#delay = options.minPollMs ?? 100;
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

  /**
   * Hand-written rather than an async generator: a generator's await and yield cost about a
   * kilobyte of short-lived promises per result, which at a million results makes V8 grow its
   * young generation to its largest. Here a result whose output is inline costs one resolved
   * promise; only page reads and downloads await.
   */
  [Symbol.asyncIterator](): AsyncIterator<TaskResult<Output>> {
    return {
      next: () => this.#next(),
      return: () => {
        this.#ended = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  #next(): Promise<IteratorResult<TaskResult<Output>>> {
    for (;;) {
      if (this.#ended) return Promise.resolve({ done: true, value: undefined });
      const at = this.#takeFresh();
      if (at === undefined) return this.#readPage().then(() => this.#next());
      const wire = this.#current!.results[at]!;
      const index = this.#page[at]!;
      if (this.#options.failuresOnly && wire.status === "SUCCEEDED") {
        this.#handOut(at, index);
        continue;
      }
      const inline = this.#inlineResult(wire, index);
      if (inline) {
        this.#handOut(at, index);
        return Promise.resolve({ done: false, value: inline });
      }
      return this.#download(wire, index).then((value) => {
        this.#handOut(at, index);
        return { done: false, value };
      });
    }
  }

  /** The position in the current page of the next result the caller has not had. */
  #takeFresh(): number | undefined {
    return this.#fresh[this.#nextFresh];
  }

  /** The result at `at` is the caller's: past it the token skips it; past the page's last fresh one, the page's cursor. */
  #handOut(at: number, index: number): void {
    this.#delivered.add(index);
    this.#nextFresh++;
    if (this.#nextFresh === this.#fresh.length) this.#finishPage(this.#current!.cursor);
    else this.#passed = at + 1;
  }

  /**
   * Reads the page after the current one (at once after a page with results, else after a
   * backoff), and finds its fresh results; ends the stream after a page that says settled.
   */
  async #readPage(): Promise<void> {
    const { signal } = this.#options;
    const minPoll = this.#options.minPollMs ?? 100;
    const previous = this.#current;
    if (previous) {
      // Only the API knows when no more can come (a submit in flight at a close may still land
      // tasks): the stream ends on its word alone.
      if (previous.settled) {
        this.#ended = true;
        return;
      }
      if (previous.results.length > 0) this.#delay = minPoll;
      else {
        await sleep(this.#delay, signal);
        this.#delay = Math.min(this.#options.maxPollMs ?? 5_000, this.#delay * 2);
      }
    }
    // POST: the cursor of a large session in progress does not fit a URL.
    const page = await this.#http.request<ResultsPage>("POST", `${this.#path}/results`, {
      body: { ...(this.#base ? { cursor: this.#base } : {}), limit: this.#options.pageSize ?? 1_000 },
      signal,
    });
    const indexes = page.results.map((wire) => Number(wire.taskId));
    // Positions of what the caller has not had: the API may repeat a result in rare cases, and
    // a resumed stream skips what its token says was handed out.
    const fresh: number[] = [];
    const inPage = new IndexSet();
    indexes.forEach((index, at) => {
      if (this.#delivered.has(index) || this.#carried.has(index) || !inPage.add(index)) return;
      fresh.push(at);
    });
    this.#current = page;
    this.#page = indexes;
    this.#passed = 0;
    this.#fresh = fresh;
    this.#nextFresh = 0;
    if (fresh.length === 0) this.#finishPage(page.cursor);
  }

  /** The caller has gone past the whole page: the next read starts after it. */
  #finishPage(cursor: string): void {
    for (const index of this.#page) this.#carried.delete(index);
    this.#base = cursor;
    this.#page = [];
    this.#passed = 0;
  }

  /** The result of a task whose output needs no download; undefined for one behind a link. */
  #inlineResult(wire: WireResult, index: number): TaskResult<Output> | undefined {
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
    if (wire.result === undefined && wire.resultUrl) return undefined;
    return { taskId, index, status: "SUCCEEDED", attempt, output: parseOutput<Output>(wire.result) };
  }

  /** A succeeded task's output from its link; a link that fails for good is RESULT_UNAVAILABLE. */
  async #download(wire: WireResult, index: number): Promise<TaskResult<Output>> {
    const { taskId, attempt } = wire;
    let text: string;
    try {
      // Retries throttling, 5xx and network errors itself; what it throws is final.
      text = await this.#http.raw("GET", wire.resultUrl!, undefined, this.#options.signal);
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
