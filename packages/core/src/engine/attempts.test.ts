import { describe, expect, it } from "vitest";
import { DEFAULT_REAPER_TIMING, DEFAULT_SESSION_CONFIG } from "../model/limits.ts";
import { taskAttempts } from "./attempts.ts";
import { newChunkRecord, newSessionRecord } from "./records.ts";

const NOW = 1_700_000_000_000;
const session = newSessionRecord({ tenant: "t", sessionId: "s" }, DEFAULT_SESSION_CONFIG, {}, NOW);
const base = newChunkRecord(
  session,
  { start: 10, payloads: ["a", "b"], bytes: 2 },
  undefined,
  NOW,
  DEFAULT_REAPER_TIMING,
  "dg",
);

describe("taskAttempts", () => {
  it("shows the run that finished a task, started its duration before its commit", () => {
    const finished = {
      outcome: {
        index: 10,
        status: "FAILED" as const,
        attempt: 3,
        error: { code: "X", message: "m" },
        ms: 400,
      },
      committedAt: NOW + 1_000,
      owner: "w1",
    };
    expect(taskAttempts({ ...base, slots: "FQ" }, 10, NOW, finished)).toEqual([
      {
        attempt: 3,
        startedAt: NOW + 600,
        endedAt: NOW + 1_000,
        durationMs: 400,
        worker: "w1",
        error: finished.outcome.error,
      },
    ]);
  });

  it("shows no run for a task cancelled before it ran, nor for a queued one", () => {
    const cancelled = {
      outcome: {
        index: 10,
        status: "CANCELLED" as const,
        attempt: 0,
        error: { code: "CANCELLED", message: "" },
      },
      committedAt: NOW,
    };
    expect(taskAttempts({ ...base, slots: "CQ" }, 10, NOW, cancelled)).toEqual([]);
    expect(taskAttempts(base, 11, NOW)).toEqual([]);
  });

  it("shows the run under a live lease with its owner and the attempt it will be charged as", () => {
    const leased = { ...base, slots: "QL", attempts: [0, 1], owner: "w2", leaseUntil: NOW + 5_000 };
    expect(taskAttempts(leased, 11, NOW)).toEqual([{ attempt: 2, worker: "w2" }]);
    expect(taskAttempts({ ...leased, charged: true }, 11, NOW)).toEqual([{ attempt: 1, worker: "w2" }]);
    // Expired: nobody runs it.
    expect(taskAttempts(leased, 11, NOW + 5_000)).toEqual([]);
  });
});
