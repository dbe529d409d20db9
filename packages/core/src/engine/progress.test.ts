import { describe, expect, it } from "vitest";
import { DEFAULT_REAPER_TIMING, DEFAULT_SESSION_CONFIG } from "../model/limits.ts";
import { countChunk, finishedCount, zeroCounts } from "./progress.ts";
import { newChunkRecord, newSessionRecord } from "./records.ts";

const NOW = 1_700_000_000_000;
const session = newSessionRecord({ tenant: "t", sessionId: "s" }, DEFAULT_SESSION_CONFIG, {}, NOW);
const base = newChunkRecord(
  session,
  { start: 0, payloads: ["a", "b", "c", "d", "e", "f", "g"], bytes: 7 },
  undefined,
  NOW,
  DEFAULT_REAPER_TIMING,
  "dg",
);

describe("countChunk", () => {
  it.each([
    { name: "new chunk", slots: "QQQQQQQ", lease: undefined, want: { queued: 7 } },
    {
      name: "live lease",
      slots: "LLKSFCQ",
      lease: NOW + 1,
      want: { running: 3, succeeded: 1, failed: 1, cancelled: 1, queued: 1 },
    },
    {
      name: "expired lease reads as queued",
      slots: "LLKSFCQ",
      lease: NOW,
      want: { queued: 4, succeeded: 1, failed: 1, cancelled: 1 },
    },
    {
      name: "all finished",
      slots: "SSSSFFC",
      lease: undefined,
      want: { succeeded: 4, failed: 2, cancelled: 1 },
    },
  ])("$name", ({ slots, lease, want }) => {
    const chunk = { ...base, slots, owner: lease === undefined ? undefined : "w", leaseUntil: lease };
    const counts = countChunk(zeroCounts(), chunk, NOW);
    expect(counts).toEqual({ ...zeroCounts(), total: 7, ...want });
    expect(finishedCount(counts)).toBe((want.succeeded ?? 0) + (want.failed ?? 0) + (want.cancelled ?? 0));
  });

  it("accumulates over chunks", () => {
    const counts = zeroCounts();
    countChunk(counts, { ...base, slots: "SSSSSSS" }, NOW);
    countChunk(counts, { ...base, slots: "QQQQQQF" }, NOW);
    expect(counts).toEqual({ ...zeroCounts(), total: 14, succeeded: 7, queued: 6, failed: 1 });
  });
});
