/**
 * A session seen from the SDK: submit tasks (from arrays, iterables or async iterables, in
 * batches with bounded memory), stream their results as they complete, wait, cancel.
 */
import { TesseraError } from "./errors.ts";
import { type HttpClient, sleep } from "./http.ts";
import { ResultStream, type ResultsOptions } from "./result-stream.ts";
import type {
  CancelSessionResponse,
  SessionInfo,
  SessionStatus,
  SubmitResponse,
  TaskInfo,
  UploadsResponse,
} from "./types.ts";

/** Payloads above this size (serialized) go to S3 through an upload link, not in the request. */
export const INLINE_PAYLOAD_BYTES = 256 * 1024;

/** Options of {@link Session.submit}. */
export interface SubmitOptions {
  /** Task type (defineTask name) to run. */
  handler?: string;
  /**
   * Longest one of these tasks may run, instead of the session's `taskTimeoutMs`: past it the
   * run is stopped and the attempt fails with TIMEOUT (retried up to maxAttempts).
   */
  timeoutMs?: number;
  /**
   * Index of the first task: tasks are numbered from it in the order given, which makes their
   * ids deterministic, so submitting the same tasks again creates nothing twice. @default 0
   */
  startIndex?: number;
  /**
   * Resume an interrupted submit of the same source: tasks numbered below this are read but not
   * sent (the interrupted call stored them; its last `onProgress` summary's `nextIndex` says up
   * to where). @default startIndex
   */
  resumeFrom?: number;
  /** Tasks per request (at most 10,000). @default 1000 */
  batchSize?: number;
  /** Requests in flight; the source is read no faster than they complete. @default 4 */
  concurrency?: number;
  /** Close the session once everything is submitted (results then know when they end). @default false */
  close?: boolean;
  signal?: AbortSignal;
  /**
   * Called after each answered batch with the number of tasks submitted so far and the summary
   * so far: after an error or an abort, the last one says what was stored (`nextIndex`).
   */
  onProgress?: (submitted: number, summary: SubmitSummary) => void;
}

/** What a submit did. */
export interface SubmitSummary {
  submitted: number;
  /** Created by this call. */
  created: number;
  /** Already there (an earlier try of the same tasks). */
  existing: number;
  /**
   * Every task from the first sent up to this index (excluded) was accepted by the API: where
   * to resume (`resumeFrom`) if the call is interrupted. Batches answer out of order, so tasks
   * after it may be stored too (a resume finds them already there).
   */
  nextIndex: number;
}

/** Options of {@link Session.wait}. */
export interface WaitOptions {
  signal?: AbortSignal;
  onProgress?: (status: SessionStatus) => void;
  /** @default 500 */
  minPollMs?: number;
  /** @default 5000 */
  maxPollMs?: number;
}

/** Most bytes of one submit request body (the API takes up to about 6 MB). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** `{"index":123456789012,"payload":}` and a comma. */
const TASK_OVERHEAD_BYTES = 40;

/** A handle on one session. Methods call the API; the handle itself holds no state of it. */
export class Session<Input = unknown, Output = unknown> {
  readonly id: string;
  readonly #http: HttpClient;
  readonly #path: string;

  constructor(http: HttpClient, id: string) {
    this.#http = http;
    this.id = id;
    this.#path = `/sessions/${encodeURIComponent(id)}`;
  }

  /** The session with its task counts (exact; the work grows with the session). */
  status(options: { signal?: AbortSignal } = {}): Promise<SessionStatus> {
    return this.#http.request("GET", this.#path, options);
  }

  /** Accepts no more tasks; the submitted ones finish. */
  close(options: { signal?: AbortSignal } = {}): Promise<SessionInfo> {
    return this.#http.request("POST", `${this.#path}/close`, options);
  }

  /** Cancels the session: queued tasks never start, running ones are aborted. */
  cancel(options: { signal?: AbortSignal } = {}): Promise<CancelSessionResponse> {
    return this.#http.request("POST", `${this.#path}/cancel`, options);
  }

  /** One task. */
  task(taskId: string | number, options: { signal?: AbortSignal } = {}): Promise<TaskInfo> {
    return this.#http.request("GET", `${this.#path}/tasks/${taskId}`, options);
  }

  /** Cancels one task (a finished one keeps its result). */
  cancelTask(taskId: string | number, options: { signal?: AbortSignal } = {}): Promise<TaskInfo> {
    return this.#http.request("POST", `${this.#path}/tasks/${taskId}/cancel`, options);
  }

  /**
   * Submits tasks. Reads the source lazily, `batchSize` tasks per request with at most
   * `concurrency` requests in flight, so memory stays bounded whatever the source's size.
   * Each request is retried after errors and timeouts; ids are deterministic, so a retry (or a
   * whole new call with the same tasks and startIndex) never duplicates or loses a task.
   * Payloads are serialized as JSON; large ones go through upload links.
   */
  async submit(
    tasks: Iterable<Input> | AsyncIterable<Input>,
    options: SubmitOptions = {},
  ): Promise<SubmitSummary> {
    const batchSize = Math.min(10_000, Math.max(1, options.batchSize ?? 1_000));
    const concurrency = Math.max(1, options.concurrency ?? 4);
    let index = options.startIndex ?? 0;
    const resumeFrom = Math.max(index, options.resumeFrom ?? index);
    const summary: SubmitSummary = { submitted: 0, created: 0, existing: 0, nextIndex: resumeFrom };
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    // A batch is its tasks' JSON texts, written as UTF-8 into a buffer outside the JS heap as they
    // come, and the index of its first (its indexes are consecutive): nothing per task stays on
    // the heap while a batch fills and is in flight, and the body is never re-encoded whole.
    const batch = new JsonListWriter();
    let first = resumeFrom;
    let bytes = 0;
    /** Answered batches beyond a gap (an earlier batch still in flight): start → end index. */
    const answered = new Map<number, number>();

    const send = (start: number) => {
      const count = batch.count;
      const end = start + count;
      const p = this.#sendBatch(batch.take(), options)
        .then((r) => {
          summary.submitted += count;
          summary.created += r.created;
          summary.existing += r.existing;
          answered.set(start, end);
          for (
            let e = answered.get(summary.nextIndex);
            e !== undefined;
            e = answered.get(summary.nextIndex)
          ) {
            answered.delete(summary.nextIndex);
            summary.nextIndex = e;
          }
          options.onProgress?.(summary.submitted, { ...summary });
        })
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };

    /** Adds one task; returns a promise only when the caller must wait (backpressure, upload). */
    const push = (input: Input): Promise<void> | undefined => {
      options.signal?.throwIfAborted();
      if (index < resumeFrom) {
        index++;
        return undefined;
      }
      const payload = JSON.stringify(input) ?? "null";
      // What the task adds to the request body: its payload re-encoded as a JSON string (quotes
      // escaped), in UTF-8, plus the task's own fields.
      const escaped = JSON.stringify(payload);
      const size = Buffer.byteLength(escaped) + TASK_OVERHEAD_BYTES;
      let wait: Promise<void> | undefined;
      if (batch.count >= batchSize || (bytes + size > MAX_BATCH_BYTES && batch.count > 0)) {
        send(first);
        first = index;
        bytes = 0;
        // Backpressure: read no further while `concurrency` requests are in flight.
        if (inFlight.size >= concurrency) wait = drainTo(concurrency - 1);
      }
      const at = index++;
      if (size > INLINE_PAYLOAD_BYTES) {
        const upload = this.#upload(payload, options.signal).then((ref) => {
          batch.add(`{"index":${at},"payloadRef":${JSON.stringify(ref)}}`);
        });
        // Both are awaited together, so a failed upload is never left without a handler.
        return Promise.all([wait, upload]).then(() => {});
      }
      batch.add(`{"index":${at},"payload":${escaped}}`);
      bytes += size;
      return wait;
    };
    const drainTo = async (size: number) => {
      while (inFlight.size > size) await Promise.race(inFlight);
    };

    try {
      // A synchronous source is read without a promise per task (a million tasks otherwise
      // allocate millions of short-lived promises, and the heap grows to match).
      if (typeof (tasks as Iterable<Input>)[Symbol.iterator] === "function") {
        for (const input of tasks as Iterable<Input>) {
          if (failure) break;
          const wait = push(input);
          if (wait) await wait;
        }
      } else {
        for await (const input of tasks as AsyncIterable<Input>) {
          if (failure) break;
          const wait = push(input);
          if (wait) await wait;
        }
      }
      // A source that ends because the caller aborted (a closed stdin) is not a complete one.
      options.signal?.throwIfAborted();
      if (batch.count > 0 && !failure) send(first);
    } finally {
      // Whatever ended the loop, no request is left running behind the caller's back.
      await Promise.allSettled(inFlight);
    }
    if (failure) throw failure;
    if (options.close) await this.close({ signal: options.signal });
    return summary;
  }

  /** Sends one batch: its tasks' JSON texts (comma-separated UTF-8) go into the body as they are. */
  #sendBatch(tasks: Buffer, options: SubmitOptions): Promise<SubmitResponse> {
    const head = JSON.stringify({
      ...(options.handler ? { handler: options.handler } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    const open = `${head.slice(0, -1)}${head.length > 2 ? "," : ""}"tasks":[`;
    const json = Buffer.concat([Buffer.from(open), tasks, Buffer.from("]}")]);
    return this.#http.request("POST", `${this.#path}/tasks`, { json, signal: options.signal });
  }

  async #upload(payload: string, signal?: AbortSignal): Promise<string> {
    const { uploads } = await this.#http.request<UploadsResponse>("POST", `${this.#path}/uploads`, {
      body: { count: 1 },
      signal,
    });
    const [upload] = uploads;
    if (!upload)
      throw new TesseraError("the API handed out no upload link", { status: 0, code: "BAD_RESPONSE" });
    await this.#http.raw("PUT", upload.url, payload, signal);
    return upload.ref;
  }

  /**
   * Streams the results as tasks finish: each task once, following the cursor, with polls
   * backing off while nothing is new. Ends when the API reports the session settled (closed or
   * cancelled, and every result delivered; it says so once no submit in flight at the close can
   * still land a task); for an open session it goes on until `signal` aborts or the loop
   * breaks. Outputs are parsed from JSON (the raw text when it is not JSON); large ones are
   * fetched from their download links, and one whose download fails for good comes as a result
   * with `error.code` RESULT_UNAVAILABLE (the stream goes on). `stream.cursor` resumes exactly
   * after the last result handed out.
   */
  results(options: ResultsOptions = {}): ResultStream<Output> {
    return new ResultStream<Output>(this.#http, this.#path, options);
  }

  /**
   * Resolves with the final status when the API reports the session settled: closed (or
   * cancelled) and every task finished (succeeded, failed or cancelled), with no submit still
   * landing; `onProgress` sees each poll. Close the session once submitted
   * (`submit(…, { close: true })`), or this waits for the close.
   */
  async wait(options: WaitOptions = {}): Promise<SessionStatus> {
    let delay = options.minPollMs ?? 500;
    for (;;) {
      const status = await this.status({ signal: options.signal });
      options.onProgress?.(status);
      // Not "closed and every counted task finished": a submit in flight at the close may
      // still land tasks, and only the API knows when none can.
      if (status.settled) return status;
      await sleep(delay, options.signal);
      delay = Math.min(options.maxPollMs ?? 5_000, delay * 1.5);
    }
  }
}

/** JSON texts written one after the other, comma-separated, as UTF-8 into a growing buffer. */
class JsonListWriter {
  #buffer = Buffer.allocUnsafe(64 * 1024);
  #used = 0;
  count = 0;

  add(json: string): void {
    const need = this.#used + Buffer.byteLength(json) + 1;
    if (need > this.#buffer.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.#buffer.length * 2));
      this.#buffer.copy(bigger, 0, 0, this.#used);
      this.#buffer = bigger;
    }
    if (this.count > 0) this.#buffer[this.#used++] = 0x2c; // ","
    this.#used += this.#buffer.write(json, this.#used);
    this.count++;
  }

  /** The texts so far (a view, valid until the next add); the writer starts over. */
  take(): Buffer {
    const list = this.#buffer.subarray(0, this.#used);
    this.#used = 0;
    this.count = 0;
    return list;
  }
}
