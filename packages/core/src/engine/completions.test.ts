import { describe, expect, it } from "vitest";
import { DEFAULT_REAPER_TIMING, DEFAULT_SESSION_CONFIG } from "../model/limits.ts";
import type { ChunkRecord, TaskOutcome } from "../model/records.ts";
import { attachCompletion, resultBytes, viewTask } from "./completions.ts";
import { completionSk } from "./keys.ts";
import { newChunkRecord, newSessionRecord } from "./records.ts";

const T0 = 1_700_000_000_000;
const NOW = T0 + 100_000;
const START = 8_192;
const session = newSessionRecord({ tenant: "acme", sessionId: "s1" }, DEFAULT_SESSION_CONFIG, {}, T0);

function chunk(slots: string, patch: Partial<ChunkRecord> = {}): ChunkRecord {
  const base = newChunkRecord(
    session,
    { start: START, payloads: new Array<null>(slots.length).fill(null), bytes: 0 },
    "render",
    T0,
    DEFAULT_REAPER_TIMING,
    "dg",
  );
  return { ...base, slots, ...patch };
}

const outcome: TaskOutcome = { index: START, status: "SUCCEEDED", attempt: 1, result: "r" };

describe("attachCompletion", () => {
  it.each([
    { previous: [], seq: "000" },
    { previous: ["a"], seq: "001" },
    { previous: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"], seq: "012" },
  ])("after $previous.length commits, appends a sort key with seq $seq", ({ previous, seq }) => {
    const next = chunk("SQ", { commits: previous });
    const entry = attachCompletion(next, [outcome], NOW, { owner: "w1", fence: 3 });
    expect(entry.sortKey).toBe(`${NOW}#000000008192#${seq}`);
    expect(entry.sortKey).toBe(completionSk(NOW, START, previous.length));
    expect(next.commits).toEqual([...previous, entry.sortKey]);
  });

  it("describes the write that made the outcomes terminal", () => {
    const next = chunk("SS");
    const outcomes: TaskOutcome[] = [outcome, { ...outcome, index: START + 1 }];
    expect(attachCompletion(next, outcomes, NOW, { owner: "w1", fence: 3 })).toEqual({
      tenant: "acme",
      sessionId: "s1",
      group: 2,
      sortKey: completionSk(NOW, START, 0),
      chunkStart: START,
      fence: 3,
      owner: "w1",
      committedAt: NOW,
      outcomes,
    });
    expect(attachCompletion(chunk("C"), [], NOW, { fence: 9 }).owner).toBeUndefined();
  });

  it("does not touch the commits array of the record read before the write", () => {
    const read = chunk("LS", { commits: ["first"] });
    const next = { ...read };
    attachCompletion(next, [outcome], NOW, { owner: "w1", fence: 1 });
    expect(read.commits).toEqual(["first"]);
    expect(next.commits).toHaveLength(2);
  });

  it("gives successive writes of a chunk distinct, increasing sort keys", () => {
    const next = chunk("QQQ");
    const keys = [0, 0, 5].map((dt) => attachCompletion(next, [outcome], NOW + dt, { fence: 1 }).sortKey);
    expect(new Set(keys).size).toBe(3);
    expect([...keys].sort()).toEqual(keys);
  });
});

describe("resultBytes", () => {
  it.each<{ outcomes: TaskOutcome[]; bytes: number }>([
    { outcomes: [], bytes: 0 },
    { outcomes: [{ ...outcome, result: "abc" }], bytes: 3 },
    {
      outcomes: [
        { ...outcome, result: "é€" },
        { index: START + 1, status: "FAILED", attempt: 3, error: { code: "X", message: "long message" } },
        { ...outcome, result: "" },
        { ...outcome, result: undefined },
      ],
      bytes: 5,
    },
  ])("$bytes bytes", ({ outcomes, bytes }) => {
    expect(resultBytes(outcomes)).toBe(bytes);
  });
});

describe("viewTask", () => {
  const live = { owner: "w1", fence: 2, leasedAt: NOW - 1_000, leaseUntil: NOW + 59_000 };
  const expired = { owner: "w1", fence: 2, leasedAt: NOW - 61_000, leaseUntil: NOW - 1_000 };

  it.each<{
    name: string;
    slots: string;
    patch: Partial<ChunkRecord>;
    status: string;
    owner?: string;
    leaseExpiresAt?: number;
    cancelRequested: boolean;
  }>([
    { name: "queued", slots: "QS", patch: {}, status: "QUEUED", cancelRequested: false },
    {
      name: "leased under a live lease",
      slots: "LS",
      patch: live,
      status: "LEASED",
      owner: "w1",
      leaseExpiresAt: NOW + 59_000,
      cancelRequested: false,
    },
    {
      name: "leased under an expired lease",
      slots: "LS",
      patch: expired,
      status: "QUEUED",
      cancelRequested: false,
    },
    {
      name: "leased under a lease expiring exactly now",
      slots: "LS",
      patch: { ...live, leaseUntil: NOW },
      status: "QUEUED",
      cancelRequested: false,
    },
    {
      name: "cancel requested under a live lease",
      slots: "KS",
      patch: live,
      status: "LEASED",
      owner: "w1",
      leaseExpiresAt: NOW + 59_000,
      cancelRequested: true,
    },
    {
      name: "cancel requested under an expired lease",
      slots: "KS",
      patch: expired,
      status: "QUEUED",
      cancelRequested: true,
    },
    { name: "succeeded", slots: "SS", patch: live, status: "SUCCEEDED", cancelRequested: false },
    { name: "failed", slots: "FS", patch: {}, status: "FAILED", cancelRequested: false },
    { name: "cancelled", slots: "CS", patch: {}, status: "CANCELLED", cancelRequested: false },
  ])("$name → $status", ({ slots, patch, status, owner, leaseExpiresAt, cancelRequested }) => {
    const record = chunk(slots, { attempts: [2, 1], ...patch });
    const view = viewTask(record, START, NOW);
    expect(view).toMatchObject({
      tenant: "acme",
      sessionId: "s1",
      taskId: String(START),
      index: START,
      status,
      attempt: 2,
      maxAttempts: DEFAULT_SESSION_CONFIG.maxAttempts,
      cancelRequested,
      pool: "default",
      priority: "normal",
      handler: "render",
    });
    expect(view.owner).toBe(owner);
    expect(view.leaseExpiresAt).toBe(leaseExpiresAt);
  });

  it("reads the slot of the task it is asked about", () => {
    const record = chunk("SLQ", { ...live, attempts: [1, 2, 3] });
    expect([0, 1, 2].map((i) => viewTask(record, START + i, NOW))).toMatchObject([
      { taskId: String(START), status: "SUCCEEDED", attempt: 1 },
      { taskId: String(START + 1), status: "LEASED", attempt: 2 },
      { taskId: String(START + 2), status: "QUEUED", attempt: 3 },
    ]);
  });

  it.each([
    { name: "queued, backing off", slots: "Q", notBefore: NOW + 500, shown: NOW + 500 },
    { name: "queued, backoff over", slots: "Q", notBefore: NOW, shown: undefined },
    { name: "succeeded", slots: "S", notBefore: NOW + 500, shown: undefined },
  ])("shows notBefore only while a queued task backs off ($name)", ({ slots, notBefore, shown }) => {
    expect(viewTask(chunk(slots, { notBefore }), START, NOW).notBefore).toBe(shown);
  });

  it("carries the terminal outcome's result, error and finish time", () => {
    const failed: TaskOutcome = {
      index: START,
      status: "FAILED",
      attempt: 3,
      error: { code: "HANDLER_ERROR", message: "boom" },
    };
    expect(viewTask(chunk("F"), START, NOW, failed, NOW - 5)).toMatchObject({
      status: "FAILED",
      error: failed.error,
      result: undefined,
      finishedAt: NOW - 5,
    });
    expect(viewTask(chunk("S"), START, NOW, outcome, NOW - 1)).toMatchObject({
      result: "r",
      finishedAt: NOW - 1,
    });
  });
});
