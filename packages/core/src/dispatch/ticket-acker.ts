import type { Clock } from "../ports/clock.ts";
import type { TicketQueue } from "../ports/ticket-queue.ts";
import { getOrCreate } from "../util.ts";

/** How a dispatcher settles tickets. */
export type AckMode =
  /** Delete tickets itself (agents). */
  | "delete"
  /** Report them to the caller, who deletes them (the Lambda SQS event source deletes successes). */
  | "report";

interface Pending {
  acks: string[];
  visibility: Array<{ receipt: string; seconds: number }>;
}

/**
 * Batches ticket acknowledgements and visibility changes per queue: a batch is sent when ten
 * are pending, or `lingerMs` after the first one, or on `flush()`. Errors are swallowed: a
 * ticket that is not deleted only comes back, and its chunk's record says what to do.
 */
export class TicketAcker {
  readonly #queue: TicketQueue;
  readonly #clock: Clock;
  readonly #mode: AckMode;
  readonly #lingerMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #reported = new Set<string>();
  #timer: Promise<void> | undefined;
  #inflight = new Set<Promise<void>>();
  #discarded = false;
  /** Calls that failed (for logs and tests). */
  failures = 0;

  constructor(queue: TicketQueue, clock: Clock, mode: AckMode, lingerMs = 20) {
    this.#queue = queue;
    this.#clock = clock;
    this.#mode = mode;
    this.#lingerMs = lingerMs;
  }

  #slot(queue: string): Pending {
    return getOrCreate(this.#pending, queue, () => ({ acks: [], visibility: [] }));
  }

  /** Acknowledges (deletes) a ticket. */
  ack(queue: string, receipt: string): void {
    if (this.#mode === "report") {
      this.#reported.add(receipt);
      return;
    }
    const p = this.#slot(queue);
    p.acks.push(receipt);
    this.#schedule(queue, p.acks.length);
  }

  /** Makes a ticket reappear after `seconds`. */
  retime(queue: string, receipt: string, seconds: number): void {
    const p = this.#slot(queue);
    p.visibility.push({ receipt, seconds });
    this.#schedule(queue, p.visibility.length);
  }

  /** Clears the receipts reported so far (a dispatcher reused across Lambda invocations). */
  forgetReports(): void {
    this.#reported.clear();
  }

  /** Receipts acknowledged in "report" mode. */
  isAcked(receipt: string): boolean {
    return this.#reported.has(receipt);
  }

  #schedule(queue: string, size: number): void {
    if (size >= 10) {
      this.#send(queue);
      return;
    }
    if (this.#timer) return;
    this.#timer = this.#clock.sleep(this.#lingerMs).then(() => {
      this.#timer = undefined;
      for (const q of [...this.#pending.keys()]) this.#send(q);
    });
  }

  #send(queue: string): void {
    const p = this.#pending.get(queue);
    if (!p || this.#discarded) return;
    this.#pending.delete(queue);
    const calls: Promise<void>[] = [];
    if (p.acks.length > 0) calls.push(this.#queue.ack(queue, p.acks));
    if (p.visibility.length > 0) calls.push(this.#queue.setVisibility(queue, p.visibility));
    const done = Promise.all(calls).then(
      () => {},
      () => {
        this.failures++;
      },
    );
    this.#inflight.add(done);
    void done.finally(() => this.#inflight.delete(done));
  }

  /** Drops everything pending and sends nothing more (a crashed worker). */
  discard(): void {
    this.#discarded = true;
    this.#pending.clear();
  }

  /** Sends everything pending and waits for it. */
  async flush(): Promise<void> {
    for (const q of [...this.#pending.keys()]) this.#send(q);
    await Promise.all([...this.#inflight]);
  }
}
