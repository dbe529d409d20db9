import type { TaskLogEntry } from "@tessera/task";
import { describe, expect, it } from "vitest";
import { eventMessage, LOG_BATCH_LIMITS, LogEventBatcher } from "./log-event-batcher.ts";

function entry(time: string | number, message = "m", extra: Record<string, unknown> = {}): TaskLogEntry {
  return {
    time: typeof time === "number" ? new Date(time).toISOString() : time,
    level: "info",
    message,
    tenant: "acme",
    session: "s1",
    index: 0,
    attempt: 1,
    handler: "square",
    taskId: "s1#0",
    ...extra,
  };
}

const bytesOf = (batch: { message: string }[]) =>
  batch.reduce((n, e) => n + Buffer.byteLength(e.message) + LOG_BATCH_LIMITS.eventOverhead, 0);

describe("LogEventBatcher", () => {
  it("hands out events in time order, whatever order they came in", () => {
    const b = new LogEventBatcher();
    b.add(entry(3_000, "c"));
    b.add(entry(1_000, "a"));
    b.add(entry(2_000, "b"));
    const batch = b.take();
    expect(batch.map((e) => e.timestamp)).toEqual([1_000, 2_000, 3_000]);
    expect(JSON.parse(batch[0]!.message)).toMatchObject({ message: "a", session: "s1", index: 0 });
    expect(b.size).toBe(0);
    expect(b.take()).toEqual([]);
  });

  it("stamps an entry with an unreadable time with the time it was held", () => {
    const b = new LogEventBatcher();
    b.add(entry("not a time"), 42);
    expect(b.take()[0]!.timestamp).toBe(42);
  });

  it("puts at most 10,000 events in one batch", () => {
    const b = new LogEventBatcher();
    // Tiny events (entries themselves are large enough that 1 MiB comes first).
    b.putBack(Array.from({ length: 10_005 }, (_, i) => ({ timestamp: i, message: "x" })));
    expect(b.take()).toHaveLength(10_000);
    expect(b.take()).toHaveLength(5);
  });

  it("puts at most 1 MiB (messages plus 26 bytes each) in one batch", () => {
    const b = new LogEventBatcher();
    const big = "x".repeat(100_000);
    for (let i = 0; i < 12; i++) b.add(entry(i, big));
    const first = b.take();
    expect(first).toHaveLength(10);
    expect(bytesOf(first)).toBeLessThanOrEqual(LOG_BATCH_LIMITS.bytes);
    expect(bytesOf([...first, b.take()[0]!])).toBeGreaterThan(LOG_BATCH_LIMITS.bytes);
  });

  it("never spans more than 24 hours in one batch", () => {
    const b = new LogEventBatcher();
    b.add(entry(0));
    b.add(entry(LOG_BATCH_LIMITS.spanMs));
    b.add(entry(LOG_BATCH_LIMITS.spanMs + 1));
    expect(b.take().map((e) => e.timestamp)).toEqual([0, LOG_BATCH_LIMITS.spanMs]);
    expect(b.take().map((e) => e.timestamp)).toEqual([LOG_BATCH_LIMITS.spanMs + 1]);
  });

  it("is bounded: past its limit new entries are counted as dropped; a batch put back is kept", () => {
    const b = new LogEventBatcher({ maxEvents: 3 });
    expect([1, 2, 3, 4].map((t) => b.add(entry(t)))).toEqual([true, true, true, false]);
    expect(b.dropped).toBe(1);
    const batch = b.take();
    b.add(entry(9));
    b.putBack(batch); // sending failed: the oldest two fit again, the third does not
    expect(b.size).toBe(3);
    expect(b.dropped).toBe(2);
    expect(b.take().map((e) => e.timestamp)).toEqual([1, 2, 9]);
    b.discard([{ timestamp: 0, message: "refused" }]);
    expect(b.dropped).toBe(3);
  });

  it("cuts an entry too large for one event down to its ids and the start of its message", () => {
    const huge = entry(0, "y".repeat(300_000), { payload: "z".repeat(300_000) });
    const message = eventMessage(huge);
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(LOG_BATCH_LIMITS.messageBytes);
    const cut = JSON.parse(message);
    expect(cut).toMatchObject({ tenant: "acme", session: "s1", index: 0, truncated: true });
    expect(cut.payload).toBeUndefined();
    expect(cut.message).toMatch(/^y+$/);
    // Even a message of 4-byte characters fits.
    expect(Buffer.byteLength(eventMessage(entry(0, "😀".repeat(100_000))))).toBeLessThanOrEqual(
      LOG_BATCH_LIMITS.messageBytes,
    );
    expect(eventMessage(entry(0, "small"))).toBe(JSON.stringify(entry(0, "small")));
  });
});
