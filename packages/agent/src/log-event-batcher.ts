/**
 * The pure part of an agent shipping its task log entries to CloudWatch Logs: events held in a
 * bounded buffer and taken out in batches PutLogEvents accepts (at most 10,000 events and
 * 1,048,576 bytes — each message's UTF-8 bytes plus 26 — in time order, spanning at most 24
 * hours). No I/O, so every limit is tested without AWS.
 */
import type { TaskLogEntry } from "@tessera/task";

/** PutLogEvents' limits, and the buffer's. */
export const LOG_BATCH_LIMITS = {
  events: 10_000,
  bytes: 1_048_576,
  /** Bytes CloudWatch counts per event besides its message. */
  eventOverhead: 26,
  /** A batch's events may span at most this (ms). */
  spanMs: 24 * 60 * 60_000,
  /** Largest message kept whole; a larger entry is cut down (CloudWatch's event limit is 256 KB). */
  messageBytes: 200 * 1024,
} as const;

/** One event as PutLogEvents takes it. */
export interface LogEvent {
  timestamp: number;
  message: string;
}

interface Held extends LogEvent {
  bytes: number;
}

/** What the buffer holds at most before it drops new entries (CloudWatch unreachable for long). */
export interface BatcherOptions {
  /** @default 50,000 */
  maxEvents?: number;
  /** @default 16 MiB */
  maxBytes?: number;
}

/** An entry as one event's message, cut down to the id fields and a shortened message when too large. */
export function eventMessage(entry: TaskLogEntry): string {
  const whole = JSON.stringify(entry);
  if (Buffer.byteLength(whole) <= LOG_BATCH_LIMITS.messageBytes) return whole;
  const { time, level, tenant, session, index, attempt, handler, taskId } = entry;
  // Cut by characters to a quarter of the budget: even 4-byte characters then fit.
  const message = entry.message.slice(0, LOG_BATCH_LIMITS.messageBytes / 4);
  return JSON.stringify({
    time,
    level,
    message,
    tenant,
    session,
    index,
    attempt,
    handler,
    taskId,
    truncated: true,
  });
}

/** Task log entries waiting to be sent, taken out batch by batch. */
export class LogEventBatcher {
  readonly #held: Held[] = [];
  #bytes = 0;
  #dropped = 0;
  readonly #maxEvents: number;
  readonly #maxBytes: number;

  constructor(options: BatcherOptions = {}) {
    this.#maxEvents = options.maxEvents ?? 50_000;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  }

  /** Holds an entry; false (and counted as dropped) when the buffer is full. */
  add(entry: TaskLogEntry, now = Date.now()): boolean {
    const parsed = Date.parse(entry.time);
    const message = eventMessage(entry);
    return this.#hold({ timestamp: Number.isNaN(parsed) ? now : parsed, message });
  }

  /** Puts a batch back in front (it could not be sent); what no longer fits is dropped. */
  putBack(batch: LogEvent[]): void {
    for (const event of batch) this.#hold(event);
  }

  /** Counts a batch CloudWatch refused outright (sending it again would fail again) as dropped. */
  discard(batch: LogEvent[]): void {
    this.#dropped += batch.length;
  }

  #hold(event: LogEvent): boolean {
    const bytes = Buffer.byteLength(event.message) + LOG_BATCH_LIMITS.eventOverhead;
    if (this.#held.length >= this.#maxEvents || this.#bytes + bytes > this.#maxBytes) {
      this.#dropped++;
      return false;
    }
    this.#held.push({ ...event, bytes });
    this.#bytes += bytes;
    return true;
  }

  /** Entries held. */
  get size(): number {
    return this.#held.length;
  }

  /** Entries dropped so far because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * The oldest events that make one PutLogEvents call, in time order, removed from the buffer;
   * empty when nothing is held.
   */
  take(): LogEvent[] {
    // Entries come from several task threads, so they may arrive slightly out of order.
    this.#held.sort((a, b) => a.timestamp - b.timestamp);
    let bytes = 0;
    let n = 0;
    const first = this.#held[0]?.timestamp ?? 0;
    for (const event of this.#held) {
      if (n === LOG_BATCH_LIMITS.events) break;
      if (bytes + event.bytes > LOG_BATCH_LIMITS.bytes) break;
      if (event.timestamp - first > LOG_BATCH_LIMITS.spanMs) break;
      bytes += event.bytes;
      n++;
    }
    const batch = this.#held.splice(0, n);
    this.#bytes -= bytes;
    return batch.map(({ timestamp, message }) => ({ timestamp, message }));
  }
}
