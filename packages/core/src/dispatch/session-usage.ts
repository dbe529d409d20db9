/**
 * A process's session usage: the recorder its clients report to (see metering/session-usage.ts)
 * and the flush that adds what it recorded to the sessions' counters in the task store. Each
 * process writes to one shard of every session's counters, picked at random, so no key takes
 * every writer's adds.
 */
import { USAGE_SHARDS } from "../engine/keys.ts";
import { type AgentTime, SessionUsageRecorder, type UsageCounters } from "../metering/session-usage.ts";
import type { SessionKey } from "../model/records.ts";
import type { TaskStore } from "../ports/task-store.ts";
import { mapLimit } from "../util.ts";

export class SessionUsage {
  readonly recorder: SessionUsageRecorder;
  readonly shard: number;
  readonly #store: TaskStore;
  #lastFlush = 0;
  #flushing: Promise<void> = Promise.resolve();
  /** Flushes that failed (their counters were kept for the next one). */
  failures = 0;

  constructor(store: TaskStore, options: { shard?: number; recorder?: SessionUsageRecorder } = {}) {
    this.#store = store;
    this.recorder = options.recorder ?? new SessionUsageRecorder();
    this.shard = options.shard ?? Math.floor(Math.random() * USAGE_SHARDS);
  }

  /** Adds counters to a session (compute time, API requests). */
  add(session: SessionKey, counters: UsageCounters): void {
    this.recorder.add(session, counters);
  }

  /** Adds an agent's closed window of instance time. */
  addAgentWindow(time: AgentTime, final = false): void {
    for (const { session, counters } of time.window(final)) this.recorder.add(session, counters);
  }

  /**
   * Writes what was recorded; one flush at a time. A failed write keeps its counters for the
   * next flush, and never throws (usage must not fail the work it measures).
   */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      this.#lastFlush = Date.now();
      const drained = this.recorder.drain();
      const failed: typeof drained = [];
      await mapLimit(drained, 8, async (d) => {
        try {
          await this.#store.addUsage(d.session, this.shard, d.counters);
        } catch {
          failed.push(d);
        }
      });
      if (failed.length > 0) {
        this.failures++;
        this.recorder.restore(failed);
      }
    });
    return this.#flushing;
  }

  /** Flushes when the last flush is at least `ms` old. */
  flushIfDue(ms: number): Promise<void> {
    return Date.now() - this.#lastFlush >= ms ? this.flush() : this.#flushing;
  }
}
