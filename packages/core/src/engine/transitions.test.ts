import { describe, expect, it } from "vitest";
import { DEFAULT_REAPER_TIMING, DEFAULT_SESSION_CONFIG } from "../model/limits.ts";
import type { ChunkRecord, TaskError } from "../model/records.ts";
import { SessionState } from "../model/status.ts";
import { newChunkRecord, newSessionRecord } from "./records.ts";
import {
  applyCommit,
  type ClaimContext,
  type CommitContext,
  deadLetter,
  planClaim,
  planHeartbeat,
  planReap,
  requestCancel,
  type SlotResult,
} from "./transitions.ts";

const T0 = 1_700_000_000_000;
const NOW = T0 + 100_000;
const START = 4096;
const timing = DEFAULT_REAPER_TIMING;
const { leaseMs, maxAttempts } = DEFAULT_SESSION_CONFIG;
const session = newSessionRecord({ tenant: "acme", sessionId: "s1" }, DEFAULT_SESSION_CONFIG, {}, T0);
const HANDLER_ERROR: TaskError = { code: "HANDLER_ERROR", message: "boom" };
const CANCELLED_ERROR: TaskError = { code: "CANCELLED", message: "task cancelled" };

/** A chunk of `slots.length` tasks starting at START, with `patch` applied over a fresh record. */
function chunk(slots: string, patch: Partial<ChunkRecord> = {}): ChunkRecord {
  const base = newChunkRecord(
    session,
    { start: START, payloads: new Array<null>(slots.length).fill(null), bytes: 0 },
    undefined,
    T0,
    timing,
    "dg",
  );
  return { ...base, slots, version: 7, ...patch };
}

/**
 * A chunk held by `owner` under fence 4, its lease expiring at `leaseUntil`. The lease is a
 * charged one (its runs' attempts are in `attempts`) unless `patch` says otherwise.
 */
function held(
  slots: string,
  attempts: number[],
  patch: Partial<ChunkRecord> = {},
  leaseUntil = NOW + 10_000,
): ChunkRecord {
  return chunk(slots, {
    attempts,
    charged: true,
    fence: 4,
    owner: "w1",
    leasedAt: leaseUntil - leaseMs,
    leaseUntil,
    due: leaseUntil + timing.leaseGraceMs,
    ...patch,
  });
}

function claimCtx(patch: Partial<ClaimContext> = {}): ClaimContext {
  return { now: NOW, owner: "w2", sessionState: SessionState.OPEN, timing, ...patch };
}

function commitCtx(patch: Partial<CommitContext> = {}): CommitContext {
  return { now: NOW, owner: "w1", fence: 4, timing, random: 0, ...patch };
}

const ok = (result: string): SlotResult => ({ ok: true, result });
const fail = (error: TaskError = HANDLER_ERROR, cancelled?: boolean): SlotResult => ({
  ok: false,
  error,
  cancelled,
});

describe("planClaim", () => {
  it.each<{ name: string; record: ChunkRecord; state?: SessionState; kind: string; extra?: object }>([
    { name: "every slot terminal", record: chunk("SFC"), kind: "settled" },
    {
      name: "every slot terminal, even under a live lease",
      record: held("SS", [1, 1]),
      kind: "settled",
    },
    {
      name: "a live lease",
      record: held("LL", [1, 1], {}, NOW + 1),
      kind: "busy",
      extra: { leaseUntil: NOW + 1 },
    },
    {
      name: "a live lease with a cancel request",
      record: held("KL", [1, 1], {}, NOW + 1),
      kind: "busy",
    },
    {
      name: "a live lease of a cancelled session",
      record: held("LL", [1, 1], {}, NOW + 1),
      state: SessionState.CANCELLED,
      kind: "busy",
    },
    { name: "a lease expiring exactly now", record: held("LL", [1, 1], {}, NOW), kind: "claim" },
    {
      name: "a lease expiry without an owner",
      record: chunk("QQ", { leaseUntil: NOW + 5_000 }),
      kind: "claim",
    },
    {
      name: "retry backoff not over",
      record: chunk("QQ", { notBefore: NOW + 1 }),
      kind: "wait",
      extra: { notBefore: NOW + 1 },
    },
    { name: "retry backoff over exactly now", record: chunk("QQ", { notBefore: NOW }), kind: "claim" },
    {
      name: "retry backoff of a cancelled session",
      record: chunk("QQ", { notBefore: NOW + 1 }),
      state: SessionState.CANCELLED,
      kind: "finalize",
    },
  ])("$name → $kind", ({ record, state, kind, extra }) => {
    const before = structuredClone(record);
    const plan = planClaim(record, claimCtx({ sessionState: state ?? SessionState.OPEN }));
    expect(plan.kind).toBe(kind);
    if (extra) expect(plan).toMatchObject(extra);
    expect(record).toEqual(before);
  });

  it("claims: bumps the fence, takes the lease, and charges no attempt until a run is committed", () => {
    const record = chunk("QQSFCQ", { attempts: [0, 1, 1, 3, 2, 2], fence: 4, due: NOW + 5, commits: ["x"] });
    const before = structuredClone(record);
    const plan = planClaim(record, claimCtx({ startable: 1 }));
    expect(plan.kind).toBe("claim");
    if (plan.kind !== "claim") return;
    // A plain claim leases every runnable task, however few the worker can start at once.
    expect(plan.runnable).toEqual([
      { slot: 0, index: START, attempt: 1 },
      { slot: 1, index: START + 1, attempt: 2 },
      { slot: 5, index: START + 5, attempt: 3 },
    ]);
    expect(plan.outcomes).toEqual([]);
    expect(plan.next).toEqual({
      ...before,
      slots: "LLSFCL",
      fence: 5,
      owner: "w2",
      leasedAt: NOW,
      leaseUntil: NOW + leaseMs,
      due: NOW + leaseMs + timing.leaseGraceMs,
      version: 8,
      updatedAt: NOW,
    });
    expect(plan.next.charged).toBeUndefined();
    expect(record).toEqual(before);
  });

  it("after an expired lease, claims carefully: only the tasks it can start, charged at once, none for the dead run", () => {
    // w1's plain lease expired: its runs of slots 1 and 2 were never committed.
    const record = held("QLLSQ", [0, 1, 0, 1, 2], { charged: undefined }, NOW - 1);
    const plan = planClaim(record, claimCtx({ startable: 2 }));
    expect(plan.kind).toBe("claim");
    if (plan.kind !== "claim") return;
    expect(plan.runnable).toEqual([
      { slot: 0, index: START, attempt: 1 },
      { slot: 1, index: START + 1, attempt: 2 },
    ]);
    expect(plan.next).toMatchObject({
      slots: "LLQSQ",
      attempts: [1, 2, 0, 1, 2],
      charged: true,
      owner: "w2",
      fence: 5,
      leaseUntil: NOW + leaseMs,
    });
    expect(plan.outcomes).toEqual([]);
    // With no task slot free, a careful claim waits for one.
    expect(planClaim(record, claimCtx({ startable: 0 }))).toEqual({ kind: "defer" });
  });

  it("charges a committed run of a plain lease, and not a run given back or cancelled before it started", () => {
    const plain = held("LLLL", [0, 1, 0, 2], { charged: undefined });
    const results = new Map<number, SlotResult>([
      [0, { ok: true, result: "r" }],
      [1, { ok: false, error: HANDLER_ERROR }],
      [2, { ok: false, released: true, error: { code: "RELEASED", message: "not started" } }],
    ]);
    const plan = applyCommit(plain, results, commitCtx());
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.next.slots).toBe("SQQL");
    expect(plan.next.attempts).toEqual([1, 2, 0, 2]);
    expect(plan.outcomes).toEqual([{ index: START, status: "SUCCEEDED", attempt: 1, result: "r" }]);
    const cancelled = applyCommit(
      held("K", [1], { charged: undefined }),
      new Map([[0, { ok: false, cancelled: true, released: true, error: CANCELLED_ERROR }]]),
      commitCtx(),
    );
    expect(cancelled.kind === "committed" && cancelled.outcomes).toEqual([
      { index: START, status: "CANCELLED", attempt: 1, error: CANCELLED_ERROR },
    ]);
  });

  it("retakes its own live lease (its claim's answer was lost) without charging anything", () => {
    const mine = held("LLQ", [1, 0, 0], { owner: "w2", charged: undefined });
    const plan = planClaim(mine, claimCtx());
    expect(plan.kind).toBe("claim");
    if (plan.kind !== "claim") return;
    expect(plan.runnable).toEqual([
      { slot: 0, index: START, attempt: 2 },
      { slot: 1, index: START + 1, attempt: 1 },
    ]);
    expect(plan.next).toMatchObject({
      slots: "LLQ",
      attempts: [1, 0, 0],
      fence: 5,
      owner: "w2",
      leaseUntil: mine.leaseUntil,
    });
    expect(plan.next.charged).toBeUndefined();
    // Another worker's live lease is still busy.
    expect(planClaim(mine, claimCtx({ owner: "w3" })).kind).toBe("busy");
  });

  it.each([
    {
      name: "a cancel-requested slot is cancelled, the others run",
      slots: "KQ",
      attempts: [1, 0],
      state: SessionState.OPEN,
      kind: "claim",
      nextSlots: "CL",
      cancelled: [0],
    },
    {
      name: "a cancelled session cancels every non-terminal slot",
      slots: "QLKS",
      attempts: [0, 2, 1, 1],
      state: SessionState.CANCELLED,
      kind: "finalize",
      nextSlots: "CCCS",
      cancelled: [0, 1, 2],
    },
    {
      name: "a closed session still runs its tasks",
      slots: "QQ",
      attempts: [0, 0],
      state: SessionState.CLOSED,
      kind: "claim",
      nextSlots: "LL",
      cancelled: [],
    },
  ])("$name", ({ slots, attempts, state, kind, nextSlots, cancelled }) => {
    const record = chunk(slots, { attempts, fence: 2 });
    const plan = planClaim(record, claimCtx({ sessionState: state }));
    expect(plan.kind).toBe(kind);
    if (plan.kind !== "claim" && plan.kind !== "finalize") return;
    expect(plan.next.slots).toBe(nextSlots);
    expect(plan.outcomes).toEqual(
      cancelled.map((slot) => ({
        index: START + slot,
        status: "CANCELLED",
        attempt: attempts[slot],
        error: CANCELLED_ERROR,
      })),
    );
    // A cancelled slot does not start another attempt.
    for (const slot of cancelled) expect(plan.next.attempts[slot]).toBe(attempts[slot]);
  });

  it("fails a stale leased slot that used its last attempt with LEASE_EXPIRED, and runs the rest", () => {
    const record = held("LL", [maxAttempts, 1], {}, NOW - 1);
    const plan = planClaim(record, claimCtx());
    expect(plan.kind).toBe("claim");
    if (plan.kind !== "claim") return;
    expect(plan.next.slots).toBe("FL");
    expect(plan.next.attempts).toEqual([maxAttempts, 2]);
    expect(plan.outcomes).toEqual([
      {
        index: START,
        status: "FAILED",
        attempt: maxAttempts,
        error: { code: "LEASE_EXPIRED", message: expect.any(String) },
      },
    ]);
    expect(plan.runnable).toEqual([{ slot: 1, index: START + 1, attempt: 2 }]);
  });

  it.each([
    {
      name: "attempts exhausted",
      slots: "LS",
      attempts: [maxAttempts, 1],
      state: SessionState.OPEN,
      next: "FS",
    },
    { name: "cancel requested", slots: "K", attempts: [1], state: SessionState.OPEN, next: "C" },
    { name: "session cancelled", slots: "QQ", attempts: [0, 0], state: SessionState.CANCELLED, next: "CC" },
  ])(
    "finalizes when nothing is runnable ($name): releases the lease, clears due",
    ({ slots, attempts, state, next }) => {
      const record = held(slots, attempts, {}, NOW - 1);
      const plan = planClaim(record, claimCtx({ sessionState: state }));
      expect(plan.kind).toBe("finalize");
      if (plan.kind !== "finalize") return;
      expect(plan.next.slots).toBe(next);
      expect(plan.next).toMatchObject({ fence: 4, version: 8, updatedAt: NOW, attempts });
      for (const field of ["owner", "leasedAt", "leaseUntil", "due"] as const)
        expect(plan.next[field]).toBeUndefined();
      expect(plan.outcomes.length).toBeGreaterThan(0);
    },
  );

  it("a worker that re-claims its own expired chunk gets a new fence: its old commit is lost", () => {
    const record = held("L", [1], { owner: "w1" }, NOW - 1);
    const plan = planClaim(record, claimCtx({ owner: "w1" }));
    expect(plan.kind).toBe("claim");
    if (plan.kind !== "claim") return;
    expect(applyCommit(plan.next, new Map([[0, ok("stale")]]), commitCtx({ fence: 4 })).kind).toBe("lost");
    expect(applyCommit(plan.next, new Map([[0, ok("fresh")]]), commitCtx({ fence: 5 })).kind).toBe(
      "committed",
    );
  });
});

describe("applyCommit", () => {
  it.each([
    { name: "an older fence", ctx: { fence: 3 } },
    { name: "a newer fence", ctx: { fence: 5 } },
    { name: "another owner", ctx: { owner: "w2" } },
  ])("is lost for $name", ({ ctx }) => {
    const record = held("LL", [1, 1]);
    const before = structuredClone(record);
    expect(applyCommit(record, new Map([[0, ok("r")]]), commitCtx(ctx))).toEqual({ kind: "lost" });
    expect(record).toEqual(before);
  });

  it("queues a released task again at once, giving its attempt back, and commits its siblings", () => {
    const released: SlotResult = { ok: false, released: true, error: { code: "RELEASED", message: "bye" } };
    const plan = applyCommit(
      held("LL", [2, 1]),
      new Map([
        [0, released],
        [1, ok("r")],
      ]),
      commitCtx({ random: 0.9 }),
    );
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.next).toMatchObject({ slots: "QS", attempts: [1, 1], notBefore: NOW, owner: undefined });
    expect(plan.ticket).toEqual({ kind: "delay", until: NOW });
    expect(plan.outcomes.map((o) => o.index)).toEqual([START + 1]);
  });

  it("backs off when a failure comes with a release", () => {
    const released: SlotResult = { ok: false, released: true, error: { code: "RELEASED", message: "bye" } };
    const plan = applyCommit(
      held("LL", [1, 1]),
      new Map([
        [0, released],
        [1, fail()],
      ]),
      commitCtx({ random: 0.5 }),
    );
    if (plan.kind !== "committed") throw new Error(plan.kind);
    expect(plan.next.slots).toBe("QQ");
    expect(plan.next.notBefore).toBeGreaterThan(NOW);
  });

  it("is lost once the lease was released", () => {
    const record = chunk("QS", { fence: 4, attempts: [1, 1] });
    expect(applyCommit(record, new Map([[0, ok("r")]]), commitCtx())).toEqual({ kind: "lost" });
  });

  it("is lost for a worker whose lease was taken over, whatever it reports", () => {
    const taken = planClaim(held("LL", [1, 1], {}, NOW - 1), claimCtx({ owner: "w2" }));
    expect(taken.kind).toBe("claim");
    if (taken.kind !== "claim") return;
    for (const result of [ok("late"), fail()])
      expect(applyCommit(taken.next, new Map([[0, result]]), commitCtx({ owner: "w1", fence: 4 })).kind).toBe(
        "lost",
      );
  });

  it.each<{
    name: string;
    code: string;
    attempt: number;
    result: SlotResult;
    slot: string;
    outcome?: object;
  }>([
    {
      name: "success",
      code: "L",
      attempt: 1,
      result: ok("r"),
      slot: "S",
      outcome: { status: "SUCCEEDED", attempt: 1, result: "r" },
    },
    { name: "failure with attempts left", code: "L", attempt: 1, result: fail(), slot: "Q" },
    {
      name: "failure with one attempt left",
      code: "L",
      attempt: maxAttempts - 1,
      result: fail(),
      slot: "Q",
    },
    {
      name: "failure on the last attempt",
      code: "L",
      attempt: maxAttempts,
      result: fail(),
      slot: "F",
      outcome: { status: "FAILED", attempt: maxAttempts, error: HANDLER_ERROR },
    },
    {
      name: "failure of a run aborted by cancellation",
      code: "L",
      attempt: 1,
      result: fail(HANDLER_ERROR, true),
      slot: "C",
      outcome: { status: "CANCELLED", attempt: 1, error: CANCELLED_ERROR },
    },
    {
      name: "failure of a cancel-requested slot",
      code: "K",
      attempt: 1,
      result: fail(),
      slot: "C",
      outcome: { status: "CANCELLED", attempt: 1, error: CANCELLED_ERROR },
    },
    {
      name: "failure of a cancel-requested slot on its last attempt",
      code: "K",
      attempt: maxAttempts,
      result: fail(),
      slot: "C",
      outcome: { status: "CANCELLED", attempt: maxAttempts },
    },
    {
      name: "success of a cancel-requested slot (never rewritten as cancelled)",
      code: "K",
      attempt: 2,
      result: ok("done"),
      slot: "S",
      outcome: { status: "SUCCEEDED", attempt: 2, result: "done" },
    },
    { name: "a result for an already succeeded slot", code: "S", attempt: 1, result: fail(), slot: "S" },
    { name: "a result for an already failed slot", code: "F", attempt: 3, result: ok("x"), slot: "F" },
    { name: "a result for an already cancelled slot", code: "C", attempt: 1, result: ok("x"), slot: "C" },
    { name: "a result for a queued slot", code: "Q", attempt: 1, result: ok("x"), slot: "Q" },
  ])("$name: $code → $slot", ({ code, attempt, result, slot, outcome }) => {
    const record = held(code, [attempt]);
    const plan = applyCommit(record, new Map([[0, result]]), commitCtx());
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.next.slots).toBe(slot);
    expect(plan.next.attempts).toEqual([attempt]);
    expect(plan.outcomes).toEqual(outcome ? [expect.objectContaining({ index: START, ...outcome })] : []);
    expect(plan.next).toMatchObject({ version: 8, updatedAt: NOW, fence: 4 });
  });

  it("a failure is never recorded as a success", () => {
    for (const attempt of [1, 2, 3]) {
      const plan = applyCommit(held("L", [attempt]), new Map([[0, fail()]]), commitCtx());
      if (plan.kind !== "committed") throw new Error("expected committed");
      expect(plan.next.slots).not.toBe("S");
      expect(plan.outcomes.some((o) => o.status === "SUCCEEDED")).toBe(false);
    }
  });

  it("all terminal: acknowledges the ticket, releases the lease and leaves the due index", () => {
    const record = held("LLS", [1, maxAttempts, 1]);
    const plan = applyCommit(
      record,
      new Map([
        [0, ok("a")],
        [1, fail()],
      ]),
      commitCtx(),
    );
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.ticket).toEqual({ kind: "ack" });
    expect(plan.next.slots).toBe("SFS");
    expect(plan.next.notBefore).toBe(record.notBefore);
    for (const field of ["owner", "leasedAt", "leaseUntil", "due"] as const)
      expect(plan.next[field]).toBeUndefined();
    expect(plan.outcomes.map((o) => o.index)).toEqual([START, START + 1]);
  });

  it("slots without a result stay leased: the ticket is kept and due follows the lease", () => {
    const record = held("LLK", [1, 1, 1], { due: NOW + 1 });
    const plan = applyCommit(record, new Map([[0, ok("a")]]), commitCtx());
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.ticket).toEqual({ kind: "keep" });
    expect(plan.next.slots).toBe("SLK");
    expect(plan.next).toMatchObject({
      owner: "w1",
      fence: 4,
      leaseUntil: record.leaseUntil,
      due: record.leaseUntil! + timing.leaseGraceMs,
    });
  });

  it("a retry releases the lease and delays the ticket to notBefore", () => {
    const record = held("LL", [1, 1]);
    const plan = applyCommit(
      record,
      new Map([
        [0, ok("a")],
        [1, fail()],
      ]),
      commitCtx({ random: 0 }),
    );
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.next.slots).toBe("SQ");
    expect(plan.outcomes).toHaveLength(1);
    expect(plan.ticket).toEqual({ kind: "delay", until: NOW });
    expect(plan.next).toMatchObject({ notBefore: NOW, due: NOW + timing.ticketGraceMs, fence: 4 });
    for (const field of ["owner", "leasedAt", "leaseUntil"] as const)
      expect(plan.next[field]).toBeUndefined();
  });

  // Expected delays: floor(random * min(300000, 1000 * 2^(attempt-1))), worked out by hand.
  it.each([
    { attempt: 1, random: 0, delay: 0 },
    { attempt: 1, random: 0.5, delay: 500 },
    { attempt: 1, random: 0.9999999, delay: 999 },
    { attempt: 2, random: 0.9999999, delay: 1_999 },
    { attempt: 3, random: 0.5, delay: 2_000 },
    { attempt: 3, random: 0.9999999, delay: 3_999 },
    { attempt: 9, random: 0.5, delay: 128_000 },
    { attempt: 10, random: 0.5, delay: 150_000 },
    { attempt: 19, random: 0.9999999, delay: 299_999 },
  ])("retry after attempt $attempt with random $random waits $delay ms", ({ attempt, random, delay }) => {
    const record = held("L", [attempt], { maxAttempts: 20 });
    const plan = applyCommit(record, new Map([[0, fail()]]), commitCtx({ random }));
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.next.slots).toBe("Q");
    expect(plan.next.notBefore).toBe(NOW + delay);
    expect(plan.ticket).toEqual({ kind: "delay", until: NOW + delay });
    expect(plan.next.due).toBe(NOW + delay + timing.ticketGraceMs);
  });

  it("backs off by the highest attempt among the retried slots", () => {
    const record = held("LL", [3, 1], { maxAttempts: 5 });
    const plan = applyCommit(
      record,
      new Map([
        [0, fail()],
        [1, fail()],
      ]),
      commitCtx({ random: 0.5 }),
    );
    expect(plan.kind).toBe("committed");
    if (plan.kind !== "committed") return;
    expect(plan.next.slots).toBe("QQ");
    expect(plan.ticket).toEqual({ kind: "delay", until: NOW + 2_000 });
  });

  it("does not mutate the record it was given", () => {
    const record = held("LLL", [1, 1, 3]);
    const before = structuredClone(record);
    applyCommit(
      record,
      new Map([
        [0, ok("a")],
        [1, fail()],
        [2, fail()],
      ]),
      commitCtx(),
    );
    expect(record).toEqual(before);
  });
});

describe("planHeartbeat", () => {
  const hb = (patch: Partial<{ now: number; owner: string; fence: number }> = {}) => ({
    now: NOW,
    owner: "w1",
    fence: 4,
    timing,
    ...patch,
  });

  it.each([
    { name: "an older fence", record: held("LL", [1, 1]), ctx: { fence: 3 } },
    { name: "a newer fence", record: held("LL", [1, 1]), ctx: { fence: 5 } },
    { name: "another owner", record: held("LL", [1, 1]), ctx: { owner: "w2" } },
    { name: "a released lease", record: chunk("QQ", { fence: 4 }), ctx: {} },
    { name: "no leased slot left", record: held("SF", [1, 3]), ctx: {} },
  ])("is lost for $name", ({ record, ctx }) => {
    expect(planHeartbeat(record, hb(ctx))).toEqual({ kind: "lost" });
  });

  it.each([
    { slots: "LL", abort: [] },
    { slots: "KL", abort: [0] },
    { slots: "LKSKC", abort: [1, 3] },
  ])("extends the lease of $slots and asks to abort $abort", ({ slots, abort }) => {
    const now = NOW + 25_000;
    const record = held(
      slots,
      slots.split("").map(() => 1),
    );
    const before = structuredClone(record);
    const plan = planHeartbeat(record, hb({ now }));
    expect(plan).toEqual({
      kind: "extended",
      abort,
      next: {
        ...before,
        leasedAt: now,
        leaseUntil: now + leaseMs,
        due: now + leaseMs + timing.leaseGraceMs,
        version: 8,
        updatedAt: now,
      },
    });
    expect(record).toEqual(before);
  });
});

describe("requestCancel", () => {
  it.each<{ slots: string; which: number[] | "all"; next: string; cancelled: number[] }>([
    { slots: "QLSFCK", which: "all", next: "CKSFCK", cancelled: [0] },
    { slots: "QQQ", which: [1], next: "QCQ", cancelled: [1] },
    { slots: "QQQ", which: [2, 0], next: "CQC", cancelled: [2, 0] },
    { slots: "LQ", which: [0], next: "KQ", cancelled: [] },
    { slots: "SQ", which: "all", next: "SC", cancelled: [1] },
  ])("$slots cancel $which → $next", ({ slots, which, next, cancelled }) => {
    const attempts = [2, 1, 0, 3, 1, 1].slice(0, slots.length);
    const record = chunk(slots, { attempts });
    const before = structuredClone(record);
    const change = requestCancel(record, which, NOW);
    expect(change).toBeDefined();
    if (!change) return;
    expect(change.next.slots).toBe(next);
    expect(change.next).toMatchObject({ version: 8, updatedAt: NOW, attempts });
    expect(change.outcomes).toEqual(
      cancelled.map((slot) => ({
        index: START + slot,
        status: "CANCELLED",
        attempt: attempts[slot],
        error: CANCELLED_ERROR,
      })),
    );
    expect(record).toEqual(before);
  });

  it.each<{ slots: string; which: number[] | "all" }>([
    { slots: "SFC", which: "all" },
    { slots: "KK", which: "all" },
    { slots: "SQ", which: [0] },
    { slots: "QQ", which: [] },
    { slots: "QQ", which: [2, 7] },
  ])("changes nothing for $slots cancel $which", ({ slots, which }) => {
    expect(requestCancel(chunk(slots), which, NOW)).toBeUndefined();
  });

  it("keeps the lease while a cancel-requested run is still out", () => {
    const record = held("LS", [1, 1]);
    const change = requestCancel(record, "all", NOW);
    expect(change?.next).toMatchObject({
      slots: "KS",
      owner: "w1",
      fence: 4,
      leaseUntil: record.leaseUntil,
      due: record.due,
    });
    expect(change?.outcomes).toEqual([]);
  });

  it("releases the lease and leaves the due index once every slot is terminal", () => {
    const record = held("QS", [1, 1]);
    const change = requestCancel(record, "all", NOW);
    expect(change?.next.slots).toBe("CS");
    for (const field of ["owner", "leasedAt", "leaseUntil", "due"] as const)
      expect(change?.next[field]).toBeUndefined();
  });

  it("a queued task cancelled before its claim never starts", () => {
    const change = requestCancel(chunk("QQ"), [0], NOW);
    if (!change) throw new Error("expected a change");
    const plan = planClaim(change.next, claimCtx());
    expect(plan.kind).toBe("claim");
    if (plan.kind !== "claim") return;
    expect(plan.runnable.map((r) => r.slot)).toEqual([1]);
    expect(plan.next.slots).toBe("CL");
  });
});

describe("planReap", () => {
  it.each([
    { name: "non-terminal, not yet due", record: chunk("QQ", { due: NOW + 1 }) },
    { name: "all terminal and out of the due index", record: chunk("SF", { due: undefined }) },
  ])("does nothing: $name", ({ record }) => {
    expect(planReap(record, NOW, timing)).toEqual({ kind: "none" });
  });

  it.each([
    { name: "due passed", due: NOW - 1 },
    { name: "due in the future", due: NOW + 60_000 },
  ])("cleans up an all-terminal chunk still in the due index ($name)", ({ due }) => {
    const record = chunk("SFC", { due, owner: "w1", leaseUntil: NOW - 5 });
    const plan = planReap(record, NOW, timing);
    expect(plan.kind).toBe("cleanup");
    if (plan.kind !== "cleanup") return;
    expect(plan.next).toMatchObject({ slots: "SFC", version: 8, updatedAt: NOW, redrives: 0 });
    expect(plan.next.due).toBeUndefined();
    expect(plan.next.owner).toBeUndefined();
  });

  const MIN = 60_000;
  const HOUR = 60 * MIN;
  // ticketGraceMs (15 min) * 2^redrives, capped at 4 × ticketGraceMs.
  it.each([
    { redrives: 0, interval: 15 * MIN },
    { redrives: 1, interval: 30 * MIN },
    { redrives: 2, interval: HOUR },
    { redrives: 3, interval: HOUR },
    { redrives: 40, interval: HOUR },
  ])("redrive #$redrives looks again after $interval ms", ({ redrives, interval }) => {
    const record = chunk("QL", { redrives, due: NOW });
    const plan = planReap(record, NOW, timing);
    expect(plan.kind).toBe("redrive");
    if (plan.kind !== "redrive") return;
    expect(plan.next).toMatchObject({
      redrives: redrives + 1,
      due: NOW + interval,
      slots: "QL",
      version: 8,
      updatedAt: NOW,
    });
  });

  it("counts the next look from notBefore when the chunk is still backing off", () => {
    const plan = planReap(chunk("Q", { notBefore: NOW + 5_000, due: NOW - 1 }), NOW, timing);
    expect(plan).toMatchObject({ kind: "redrive", next: { due: NOW + 5_000 + timing.ticketGraceMs } });
  });

  it("re-drives a non-terminal chunk that fell out of the due index", () => {
    expect(planReap(chunk("Q", { due: undefined }), NOW, timing).kind).toBe("redrive");
  });

  it("successive redrives space out", () => {
    let record = chunk("Q", { due: NOW });
    let now = NOW;
    const gaps: number[] = [];
    for (let i = 0; i < 4; i++) {
      const plan = planReap(record, now, timing);
      if (plan.kind !== "redrive") throw new Error(`expected redrive, got ${plan.kind}`);
      gaps.push(plan.next.due! - now);
      record = plan.next;
      expect(planReap(record, plan.next.due! - 1, timing).kind).toBe("none");
      now = plan.next.due!;
    }
    expect(gaps).toEqual([1, 2, 4, 4].map((k) => k * timing.ticketGraceMs));
  });

  it("starts the re-drive backoff over once a claim shows the ticket path works", () => {
    const record = chunk("QQ", { redrives: 7, due: NOW });
    const plan = planClaim(record, { now: NOW, owner: "w", sessionState: "OPEN", timing });
    expect(plan).toMatchObject({ kind: "claim", next: { redrives: 0 } });
  });
});

describe("deadLetter", () => {
  it("queues again every task with attempts left (a fresh ticket), cancels cancel requests, fails only used-up tasks", () => {
    const record = held("QLKSFCL", [1, 2, 1, 1, 3, 0, 3], {}, NOW - 1);
    const before = structuredClone(record);
    const change = deadLetter(record, NOW, 11, timing);
    expect(change).toBeDefined();
    if (!change) return;
    expect(change.next.slots).toBe("QQCSFCF");
    expect(change.outcomes).toEqual([
      { index: START + 2, status: "CANCELLED", attempt: 1, error: CANCELLED_ERROR },
      {
        index: START + 6,
        status: "FAILED",
        attempt: 3,
        error: { code: "DEAD_LETTERED", message: expect.stringContaining("11") },
      },
    ]);
    expect(change.redrive).toBe(true);
    expect(change.next).toMatchObject({
      version: 8,
      updatedAt: NOW,
      attempts: before.attempts,
      due: NOW + timing.ticketGraceMs,
    });
    for (const field of ["owner", "leasedAt", "leaseUntil", "charged"] as const)
      expect(change.next[field]).toBeUndefined();
    expect(record).toEqual(before);
  });

  it.each([
    { name: "a live lease holds the chunk", record: held("LQ", [1, 0], {}, NOW + 1) },
    { name: "every slot is terminal", record: chunk("SFC") },
  ])("changes nothing when $name", ({ record }) => {
    expect(deadLetter(record, NOW, 5, timing)).toBeUndefined();
  });

  it("acts on a lease that expires exactly now", () => {
    expect(deadLetter(held("L", [1], {}, NOW), NOW, 5, timing)?.next.slots).toBe("Q");
    expect(deadLetter(held("L", [3], {}, NOW), NOW, 5, timing)?.next.slots).toBe("F");
  });
});
