/**
 * The TaskStore contract: every adapter (memory, DynamoDB) runs this suite, so their
 * behaviour cannot drift apart.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { attachCompletion } from "../engine/completions.ts";
import { activePk, groupOf } from "../engine/keys.ts";
import { newChunkRecord, newSessionRecord } from "../engine/records.ts";
import { InvariantError } from "../errors.ts";
import { DEFAULT_REAPER_TIMING, DEFAULT_SESSION_CONFIG, Limits } from "../model/limits.ts";
import type { ChunkRecord, SessionKey, SessionRecord } from "../model/records.ts";
import { chunkWrite, type TaskStore } from "./task-store.ts";

const NOW = 1_700_000_000_000;

function session(key: SessionKey): SessionRecord {
  return newSessionRecord(key, DEFAULT_SESSION_CONFIG, { team: "risk" }, NOW);
}

function chunk(s: SessionRecord, start: number, count: number): ChunkRecord {
  const payloads = Array.from({ length: count }, (_, i) => `p${start + i}`);
  return newChunkRecord(s, { start, payloads, bytes: count * 3 }, "echo", NOW, DEFAULT_REAPER_TIMING, "dg");
}

/**
 * Inserts chunks group by group, each on the version of its group as read now (creating their
 * open session first if needed: a group is created only in an open session).
 */
async function insert(store: TaskStore, chunks: readonly ChunkRecord[]): Promise<void> {
  const key = { tenant: chunks[0]!.tenant, sessionId: chunks[0]!.sessionId };
  if (!(await store.getSession(key))) await store.createSession(session(key));
  const groups = [...new Set(chunks.map((c) => groupOf(c.start)))];
  for (const g of groups) {
    const lock = await store.getGroup(key, g);
    const mine = chunks.filter((c) => groupOf(c.start) === g);
    expect(await store.insertChunks(key, g, lock?.version, mine)).toBe("ok");
  }
}

/** The slots a write's record was read with: every stored chunk in these tests starts queued. */
function slotsOf(c: ChunkRecord): string {
  return "Q".repeat(c.count);
}

function bump(c: ChunkRecord, change: Partial<ChunkRecord>): ChunkRecord {
  return { ...c, ...change, version: c.version + 1 };
}

/** Runs the TaskStore contract against stores made by `make`. */
export function taskStoreContract(name: string, make: () => Promise<TaskStore> | TaskStore): void {
  describe(`TaskStore contract: ${name}`, () => {
    const fresh = async () => {
      const store = await make();
      const key = { tenant: `t${randomUUID().slice(0, 8)}`, sessionId: "s1" };
      return { store, key, s: session(key) };
    };

    it("adds usage counters per shard without losing any, sums them per session, and keeps sessions apart", async () => {
      const { store, key } = await fresh();
      expect(await store.getUsage(key)).toEqual({});
      await Promise.all([
        store.addUsage(key, 0, { "op|SQS|SendMessageBatch|calls": 1, "lambda|gbs": 0.25 }),
        store.addUsage(key, 0, { "op|SQS|SendMessageBatch|calls": 2 }),
        store.addUsage(key, 15, { "op|SQS|SendMessageBatch|calls": 0.5, "agent|c7g.xlarge|spot|s": 30 }),
        store.addUsage({ ...key, sessionId: "other" }, 0, { "api|req": 7 }),
        store.addUsage(key, 3, {}),
      ]);
      expect(await store.getUsage(key)).toEqual({
        "op|SQS|SendMessageBatch|calls": 3.5,
        "lambda|gbs": 0.25,
        "agent|c7g.xlarge|spot|s": 30,
      });
      expect(await store.getUsage({ ...key, sessionId: "other" })).toEqual({ "api|req": 7 });
      expect(await store.getUsage({ tenant: `${key.tenant}x`, sessionId: key.sessionId })).toEqual({});
    });

    it("creates a session once and reads it back", async () => {
      const { store, key, s } = await fresh();
      expect(await store.createSession(s)).toBe("created");
      expect(await store.createSession({ ...s, tags: { other: "x" } })).toBe("exists");
      expect(await store.getSession(key)).toEqual(s);
      expect(await store.getSession({ ...key, sessionId: "nope" })).toBeUndefined();
    });

    it("writes a session only on the version that was read", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      const next = { ...s, state: "CANCELLED" as const, version: 2 };
      expect(await store.writeSession(next, 1)).toBe("ok");
      expect(await store.writeSession({ ...next, state: "CLOSED", version: 3 }, 1)).toBe("conflict");
      expect((await store.getSession(key))?.state).toBe("CANCELLED");
    });

    it("creates a group with its directory entry on the first insert, and lists groups in order", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      const far = 244_000_000 * Limits.GROUP_SIZE;
      expect(await store.getGroup(key, 0)).toBeUndefined();
      expect(await store.listGroups(key, undefined, 10)).toEqual({ groups: [] });
      for (const start of [far, 5 * Limits.GROUP_SIZE, 0]) {
        expect(await store.insertChunks(key, groupOf(start), undefined, [chunk(s, start, 3)])).toBe("ok");
      }
      expect(await store.getGroup(key, 5)).toEqual({ ...key, group: 5, version: 1, tasks: 3, sealed: false });
      expect((await store.listGroups(key, undefined, 10)).groups).toEqual([0, 5, groupOf(far)]);
      const first = await store.listGroups(key, undefined, 2);
      expect(first.groups).toEqual([0, 5]);
      const rest = await store.listGroups(key, first.next, 2);
      expect(rest.groups).toEqual([groupOf(far)]);
      expect(rest.next).toBeUndefined();
      expect((await store.listGroups({ ...key, sessionId: "other" }, undefined, 10)).groups).toEqual([]);
    });

    it("inserts into a group only on the version read: of two rival inserts exactly one lands", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      expect(await store.insertChunks(key, 0, undefined, [chunk(s, 0, 4)])).toBe("ok");
      // Two submits that both read version 1 and planned disjoint chunks: the second must re-read.
      const results = await Promise.all([
        store.insertChunks(key, 0, 1, [chunk(s, 4, 4)]),
        store.insertChunks(key, 0, 1, [chunk(s, 8, 4), chunk(s, 12, 4)]),
      ]);
      expect([...results].sort()).toEqual(["conflict", "ok"]);
      const stored = (await store.listChunks(key, 0)).map((c) => c.start);
      expect(stored).toEqual(results[0] === "ok" ? [0, 4] : [0, 8, 12]);
      expect(await store.getGroup(key, 0)).toMatchObject({ version: 2, tasks: results[0] === "ok" ? 8 : 12 });
      // A rival creation of the same group is a conflict too, and so is an existing chunk.
      expect(await store.insertChunks(key, 0, undefined, [chunk(s, 100, 1)])).toBe("conflict");
      expect(await store.insertChunks(key, 0, 2, [chunk(s, 0, 4)])).toBe("conflict");
      expect(await store.getGroup(key, 0)).toMatchObject({ version: 2 });
    });

    it("creates no group once the session left OPEN, and a sealed group takes no insert", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      expect(await store.insertChunks(key, 0, undefined, [chunk(s, 0, 2)])).toBe("ok");
      expect(await store.writeSession({ ...s, state: "CLOSED", version: 2 }, 1)).toBe("ok");
      expect(await store.insertChunks(key, 1, undefined, [chunk(s, Limits.GROUP_SIZE, 2)])).toBe("not-open");
      expect(await store.getGroup(key, 1)).toBeUndefined();
      expect((await store.listGroups(key, undefined, 10)).groups).toEqual([0]);
      await store.sealGroup(key, 0);
      await store.sealGroup(key, 0);
      expect(await store.getGroup(key, 0)).toMatchObject({ version: 2, sealed: true });
      expect(await store.insertChunks(key, 0, 2, [chunk(s, 2, 2)])).toBe("conflict");
      expect((await store.listChunks(key, 0)).map((c) => c.start)).toEqual([0]);
      const sealing = { ...s, state: "CLOSED" as const, sealCursor: 7, version: 3 };
      expect(await store.writeSession(sealing, 2)).toBe("ok");
      expect(await store.getSession(key)).toEqual(sealing);
      const sealed = { ...s, state: "CLOSED" as const, sealed: true, sealCursor: undefined, version: 4 };
      expect(await store.writeSession(sealed, 3)).toBe("ok");
      expect(await store.getSession(key)).toEqual(sealed);
    });

    it("lists a new session as active in its shard until deactivated", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      const shard = Number(activePk(key).slice(2));
      const mine = async () => (await store.listActiveSessions(shard)).filter((k) => k.tenant === key.tenant);
      expect(await mine()).toEqual([key]);
      await store.deactivateSession(key);
      expect(await mine()).toEqual([]);
    });

    it("puts a session back in the active index when a submit marks it, and keeps it there against a stale deactivation", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      const shard = Number(activePk(key).slice(2));
      const mine = async () => (await store.listActiveSessions(shard)).filter((k) => k.tenant === key.tenant);
      // Read by the reaper before any submit marked it: no lastSubmitAt.
      const seen = await store.getSession(key);
      expect(seen?.lastSubmitAt).toBeUndefined();
      await store.deactivateSession(key, { lastSubmitAt: undefined });
      expect(await mine()).toEqual([]);
      await store.touchSession(key, NOW + 5);
      expect(await mine()).toEqual([key]);
      expect((await store.getSession(key))?.lastSubmitAt).toBe(NOW + 5);
      // A deactivation decided on the read from before the mark changes nothing.
      await store.deactivateSession(key, { lastSubmitAt: seen?.lastSubmitAt });
      expect(await mine()).toEqual([key]);
      // A session write leaves the mark alone.
      const current = (await store.getSession(key))!;
      expect(
        await store.writeSession(
          { ...current, version: current.version + 1, lastSubmitAt: 1 },
          current.version,
        ),
      ).toBe("ok");
      expect((await store.getSession(key))?.lastSubmitAt).toBe(NOW + 5);
      await store.deactivateSession(key, { lastSubmitAt: NOW + 5 });
      expect(await mine()).toEqual([]);
    });

    it("lists a tenant's sessions newest first, page by page, and no other tenant's", async () => {
      const { store, key } = await fresh();
      const ids = ["a", "b", "c"];
      for (const [i, sessionId] of ids.entries()) {
        await store.createSession({ ...session({ ...key, sessionId }), createdAt: NOW + i });
      }
      await store.createSession(session({ tenant: `${key.tenant}x`, sessionId: "other" }));
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 5; pages++) {
        const page = await store.listSessions(key.tenant, 2, after);
        expect(page.sessions.length).toBeLessThanOrEqual(2);
        seen.push(...page.sessions.map((s) => s.sessionId));
        after = page.next;
        if (!after) break;
      }
      expect(seen).toEqual(["c", "b", "a"]);
      const first = await store.listSessions(key.tenant, 10);
      expect(first.sessions[0]).toEqual({ ...session({ ...key, sessionId: "c" }), createdAt: NOW + 2 });
    });

    it("keeps a session's history snapshots, newest first, one per time, apart from other sessions", async () => {
      const { store, key } = await fresh();
      const other = { ...key, sessionId: "s2" };
      const at = (i: number) => ({
        at: NOW + i * 10_000,
        total: 10,
        queued: 10 - i,
        running: 0,
        succeeded: i,
        failed: 0,
        cancelled: 0,
      });
      expect(await store.readHistory(key, 10)).toEqual([]);
      for (let i = 0; i < 5; i++) await store.addHistory(key, at(i));
      await store.addHistory(other, at(9));
      // The same time again replaces the snapshot.
      await store.addHistory(key, { ...at(4), running: 1, queued: 5 });
      expect(await store.readHistory(key, 3)).toEqual([{ ...at(4), running: 1, queued: 5 }, at(3), at(2)]);
      expect((await store.readHistory(key, 100)).map((p) => p.succeeded)).toEqual([4, 3, 2, 1, 0]);
      expect(await store.readHistory(other, 100)).toEqual([at(9)]);
    });

    it("lists every chunk of a group in index order", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      const g1 = Limits.GROUP_SIZE;
      await insert(store, [chunk(s, 64, 64), chunk(s, 0, 64), chunk(s, g1, 10)]);
      expect((await store.listChunks(key, 0)).map((c) => [c.start, c.count])).toEqual([
        [0, 64],
        [64, 64],
      ]);
      expect((await store.listChunks(key, 1)).map((c) => c.start)).toEqual([g1]);
      expect(await store.listChunks(key, 2)).toEqual([]);
    });

    it("keeps exact task counters: inserts add tasks, chunk writes move tasks between states", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      expect(await store.getCounters(key)).toEqual({
        tasks: 0,
        leased: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
      });
      const chunks = [0, 4, 8, 12, 16, Limits.GROUP_SIZE].map((start) => chunk(s, start, 4));
      await insert(store, chunks);
      const [a, b, c] = chunks as [ChunkRecord, ChunkRecord, ChunkRecord];
      const leased = bump(a, { slots: "LLLL", fence: 1, owner: "w1" });
      // Concurrent writes of different chunks (counted on shared shards) never lose a count.
      expect(
        await store
          .writeChunks([
            chunkWrite(a, leased),
            chunkWrite(b, bump(b, { slots: "LLQQ", fence: 1 })),
            chunkWrite(c, bump(c, { slots: "CCQQ", owner: "x" })),
            chunkWrite(c, bump(c, { slots: "CCQQ", owner: "y" })), // one of the two rivals loses: counted once
          ])
          .then((r) => [r[0], r[1], [r[2], r[3]].sort()]),
      ).toEqual(["ok", "ok", ["conflict", "ok"]]);
      const done = bump(leased, { slots: "SSFK" });
      const entry = attachCompletion(
        done,
        [
          { index: 0, status: "SUCCEEDED", attempt: 1, result: "x" },
          { index: 1, status: "SUCCEEDED", attempt: 1, result: "y" },
          { index: 2, status: "FAILED", attempt: 1, error: { code: "E", message: "e" } },
        ],
        NOW,
        { owner: "w1", fence: 1 },
      );
      expect(await store.writeChunks([chunkWrite(leased, done, entry)])).toEqual(["ok"]);
      // A lease extension changes no task's state, and counts nothing.
      expect(await store.writeChunks([chunkWrite(done, bump(done, { leaseUntil: NOW + 1 }))])).toEqual([
        "ok",
      ]);
      expect(await store.getCounters(key)).toEqual({
        tasks: 24,
        leased: 3,
        succeeded: 2,
        failed: 1,
        cancelled: 2,
      });
      expect((await store.getCounters({ ...key, sessionId: "other" })).tasks).toBe(0);
    });

    it("never overwrites an existing chunk", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      const a = chunk(s, 0, 4);
      await insert(store, [a, chunk(s, 4, 4)]);
      const claimed = bump(a, { fence: 1, owner: "w1", slots: "LLLL" });
      expect(
        await store.writeChunks([{ chunk: claimed, expectedVersion: 1, before: slotsOf(claimed) }]),
      ).toEqual(["ok"]);
      const lock = await store.getGroup(key, 0);
      expect(await store.insertChunks(key, 0, lock!.version, [a])).toBe("conflict");
      expect((await store.getChunks([{ ...key, start: 0 }]))[0]).toEqual(claimed);
    });

    it("reads chunks in key order, with gaps for missing ones, and round-trips every field", async () => {
      const { store, key, s } = await fresh();
      const a = chunk(s, 10, 3);
      await insert(store, [a]);
      const full = bump(a, {
        slots: "SLF",
        attempts: [1, 2, 3],
        fence: 2,
        owner: "w9",
        leasedAt: NOW + 5,
        leaseUntil: NOW + 60_005,
        notBefore: NOW + 7,
        due: NOW + 90_005,
        redrives: 1,
      });
      const entry = attachCompletion(
        full,
        [{ index: 10, status: "SUCCEEDED", attempt: 1, result: "r" }],
        NOW + 6,
        { owner: "w9", fence: 2 },
      );
      expect(
        await store.writeChunks([
          { chunk: full, expectedVersion: 1, before: slotsOf(full), completion: entry },
        ]),
      ).toEqual(["ok"]);
      const got = await store.getChunks([
        { ...key, start: 99 },
        { ...key, start: 10 },
        { ...key, start: 10 },
      ]);
      expect(got).toEqual([undefined, full, full]);
    });

    it("finds the chunk holding a task index", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      await insert(store, [chunk(s, 8, 4), chunk(s, Limits.GROUP_SIZE + 5, 2)]);
      // Below the group's first chunk there is only the group's own lock item: no chunk.
      expect(await store.findChunk(key, 2)).toBeUndefined();
      expect(await store.findChunk(key, Limits.GROUP_SIZE + 1)).toBeUndefined();
      await insert(store, [chunk(s, 0, 4), chunk(s, Limits.GROUP_SIZE, 2)]);
      expect((await store.findChunk(key, 2))?.start).toBe(0);
      expect((await store.findChunk(key, 11))?.start).toBe(8);
      expect(await store.findChunk(key, 5)).toBeUndefined();
      expect((await store.findChunk(key, Limits.GROUP_SIZE + 1))?.start).toBe(Limits.GROUP_SIZE);
      expect(await store.findChunk(key, Limits.GROUP_SIZE + 2)).toBeUndefined();
    });

    it("lists the chunks overlapping a range", async () => {
      const { store, key, s } = await fresh();
      await store.createSession(s);
      await insert(store, [chunk(s, 0, 4), chunk(s, 4, 4), chunk(s, 20, 5)]);
      expect((await store.listChunksIn(key, 0, 6, 21)).map((c) => [c.start, c.count])).toEqual([
        [4, 4],
        [20, 5],
      ]);
      expect(await store.listChunksIn(key, 0, 8, 20)).toEqual([]);
    });

    it("applies a chunk write only on the version that was read", async () => {
      const { store, key, s } = await fresh();
      const a = chunk(s, 0, 2);
      await insert(store, [a]);
      const first = bump(a, { owner: "w1", fence: 1 });
      const rival = bump(a, { owner: "w2", fence: 1 });
      // Writes in one call apply independently (possibly concurrently): exactly one of two
      // rival writes on the same version lands, and the store holds that one.
      const results = await store.writeChunks([
        { chunk: first, expectedVersion: 1, before: slotsOf(first) },
        { chunk: rival, expectedVersion: 1, before: slotsOf(rival) },
      ]);
      expect([...results].sort()).toEqual(["conflict", "ok"]);
      const winner = results[0] === "ok" ? "w1" : "w2";
      expect((await store.getChunks([{ ...key, start: 0 }]))[0]?.owner).toBe(winner);
      expect(
        await store.writeChunks([{ chunk: bump(a, { owner: "w3" }), expectedVersion: 1, before: "QQ" }]),
      ).toEqual(["conflict"]);
      await expect(
        store.writeChunks([{ chunk: { ...first, version: 5 }, expectedVersion: 2, before: "QQ" }]),
      ).rejects.toThrow(InvariantError);
    });

    it("stores a completion entry atomically with its chunk write", async () => {
      const { store, key, s } = await fresh();
      const a = chunk(s, 0, 2);
      await insert(store, [a]);
      const next = bump(a, { slots: "SQ" });
      const entry = attachCompletion(
        next,
        [{ index: 0, status: "SUCCEEDED", attempt: 1, result: "x" }],
        NOW,
        { fence: 0 },
      );
      await store.putCompletion(entry); // the entry's key is taken, so the transaction must fail as a whole
      expect(
        await store.writeChunks([
          { chunk: next, expectedVersion: 1, before: slotsOf(next), completion: entry },
        ]),
      ).toEqual(["conflict"]);
      expect((await store.getChunks([{ ...key, start: 0 }]))[0]?.version).toBe(1);
    });

    it("stores a write's failed runs atomically with it, and reads them per chunk, newest first", async () => {
      const { store, key, s } = await fresh();
      const [a, b] = [chunk(s, 1, 2), chunk(s, 10, 1)];
      await insert(store, [a!, b!]);
      const runs = (c: ChunkRecord, version: number, attempt: number) => ({
        ...key,
        group: 0,
        chunkStart: c.start,
        version,
        at: NOW + version,
        owner: "w1",
        runs: [
          { index: c.start, attempt, error: { code: "HANDLER_ERROR", message: `boom ${attempt}` }, ms: 12 },
          { index: c.start + 1, attempt, error: { code: "TIMEOUT", message: "" } },
        ],
      });
      const a2 = bump(a!, { slots: "QQ" });
      expect(
        await store.writeChunks([
          { chunk: a2, expectedVersion: 1, before: "QQ", failedRuns: runs(a!, 2, 1) },
          {
            chunk: bump(b!, {}),
            expectedVersion: 1,
            before: "Q",
            failedRuns: { ...runs(b!, 2, 1), runs: [{ index: 10, attempt: 1 }] },
          },
        ]),
      ).toEqual(["ok", "ok"]);
      // A write that conflicts stores none of its entries.
      expect(
        await store.writeChunks([
          { chunk: a2, expectedVersion: 1, before: "QQ", failedRuns: runs(a!, 2, 9) },
        ]),
      ).toEqual(["conflict"]);
      await store.writeChunks([
        { chunk: bump(a2, { version: 3 }), expectedVersion: 2, before: "QQ", failedRuns: runs(a!, 3, 2) },
      ]);
      expect(await store.readFailedRuns(key, 0, 1, 10)).toEqual([runs(a!, 3, 2), runs(a!, 2, 1)]);
      expect(await store.readFailedRuns(key, 0, 1, 1)).toEqual([runs(a!, 3, 2)]);
      // Another chunk's entries are its own (chunk 1's key is not a prefix of chunk 10's).
      expect(await store.readFailedRuns(key, 0, 10, 10)).toEqual([
        { ...runs(b!, 2, 1), runs: [{ index: 10, attempt: 1 }] },
      ]);
      expect(await store.readFailedRuns(key, 0, 5, 10)).toEqual([]);
      expect(await store.readFailedRuns({ ...key, sessionId: "other" }, 0, 1, 10)).toEqual([]);
    });

    it("lists due chunks of a group, soonest first, and never settled ones", async () => {
      const { store, key, s } = await fresh();
      const [a, b, c] = [chunk(s, 0, 1), chunk(s, 1, 1), chunk(s, 2, 1)];
      await insert(store, [a!, b!, c!]);
      await store.writeChunks([
        { chunk: bump(a!, { due: NOW + 300 }), expectedVersion: 1, before: "Q" },
        { chunk: bump(b!, { due: NOW + 100 }), expectedVersion: 1, before: "Q" },
        { chunk: bump(c!, { due: undefined, slots: "S" }), expectedVersion: 1, before: "Q" },
      ]);
      expect((await store.listDueChunks(key, 0, NOW + 200, 10)).map((k) => k.start)).toEqual([1]);
      expect((await store.listDueChunks(key, 0, Number.POSITIVE_INFINITY, 10)).map((k) => k.start)).toEqual([
        1, 0,
      ]);
      expect((await store.listDueChunks(key, 0, Number.POSITIVE_INFINITY, 1)).map((k) => k.start)).toEqual([
        1,
      ]);
      expect(await store.listDueChunks(key, 1, Number.POSITIVE_INFINITY, 10)).toEqual([]);
    });

    it("reads completion entries in commit order after a cursor, page by page", async () => {
      const { store, key, s } = await fresh();
      const chunks = [0, 1, 2, 3, 4].map((i) => chunk(s, i, 1));
      await insert(store, chunks);
      const times = [50, 10, 40, 20, 30];
      for (const [i, c] of chunks.entries()) {
        const next = bump(c, { slots: "S", due: undefined });
        const entry = attachCompletion(
          next,
          [{ index: i, status: "SUCCEEDED", attempt: 1, result: `r${i}` }],
          NOW + times[i]!,
          { fence: 0 },
        );
        expect(
          await store.writeChunks([
            { chunk: next, expectedVersion: 1, before: slotsOf(next), completion: entry },
          ]),
        ).toEqual(["ok"]);
      }
      const first = await store.readCompletions(key, groupOf(0), undefined, 2);
      expect(first.entries.map((e) => e.chunkStart)).toEqual([1, 3]);
      expect(first.next).toBeDefined();
      const rest = await store.readCompletions(key, 0, first.next, 10);
      expect(rest.entries.map((e) => e.chunkStart)).toEqual([4, 2, 0]);
      expect(rest.next).toBeUndefined();
      expect(rest.entries[2]?.outcomes).toEqual([
        { index: 0, status: "SUCCEEDED", attempt: 1, result: "r0" },
      ]);
      const one = await store.getCompletion(key, 0, rest.entries[0]!.sortKey);
      expect(one).toEqual(rest.entries[0]);
      expect(await store.getCompletion(key, 0, "0000000000000#000000000000#000")).toBeUndefined();
    });

    it("round-trips an uploaded payload's chunk and a large result's blob key", async () => {
      const { store, key, s } = await fresh();
      const ref = "5f0c8a52-3c3e-4c55-9d0e-1b1f3d7c2a10";
      const a = newChunkRecord(
        s,
        { start: 3, payloads: [null], bytes: 5_000_000, ref },
        "h",
        NOW,
        DEFAULT_REAPER_TIMING,
        "dg",
      );
      expect(a.payloadKey).toBe(`t/${key.tenant}/s/${key.sessionId}/u/${ref}`);
      await insert(store, [a]);
      expect((await store.getChunks([{ ...key, start: 3 }]))[0]).toEqual(a);
      const next = bump(a, { slots: "S", due: undefined });
      const entry = attachCompletion(
        next,
        [{ index: 3, status: "SUCCEEDED", attempt: 1, resultRef: "t/x/s/y/o/000000000003-1" }],
        NOW,
        { owner: "w1", fence: 1 },
      );
      await store.writeChunks([
        { chunk: next, expectedVersion: 1, before: slotsOf(next), completion: entry },
      ]);
      const [read] = (await store.readCompletions(key, 0, undefined, 10)).entries;
      expect(read?.outcomes).toEqual([
        { index: 3, status: "SUCCEEDED", attempt: 1, resultRef: "t/x/s/y/o/000000000003-1" },
      ]);
    });

    it("keeps failed and cancelled outcomes with their errors, and never overwrites an entry", async () => {
      const { store, key, s } = await fresh();
      const a = chunk(s, 0, 2);
      await insert(store, [a]);
      const next = bump(a, { slots: "FC", due: undefined });
      const entry = attachCompletion(
        next,
        [
          { index: 0, status: "FAILED", attempt: 3, error: { code: "HANDLER_ERROR", message: "boom" } },
          {
            index: 1,
            status: "CANCELLED",
            attempt: 0,
            error: { code: "CANCELLED", message: "task cancelled" },
          },
        ],
        NOW,
        { owner: "w1", fence: 4 },
      );
      await store.writeChunks([
        { chunk: next, expectedVersion: 1, before: slotsOf(next), completion: entry },
      ]);
      await store.putCompletion({ ...entry, outcomes: [] });
      expect(await store.getCompletion(key, 0, entry.sortKey)).toEqual(entry);
    });

    it("keeps each outcome's run time, with or without a result or an error", async () => {
      const { store, key, s } = await fresh();
      const a = chunk(s, 0, 4);
      await insert(store, [a]);
      const next = bump(a, { slots: "SSFS", due: undefined });
      const outcomes = [
        { index: 0, status: "SUCCEEDED" as const, attempt: 1, result: "r", ms: 12 },
        { index: 1, status: "SUCCEEDED" as const, attempt: 1, ms: 0 },
        {
          index: 2,
          status: "FAILED" as const,
          attempt: 2,
          error: { code: "TIMEOUT", message: "t" },
          ms: 5000,
        },
        { index: 3, status: "SUCCEEDED" as const, attempt: 1 },
      ];
      const entry = attachCompletion(next, outcomes, NOW, { owner: "w1", fence: 1 });
      await store.writeChunks([
        { chunk: next, expectedVersion: 1, before: slotsOf(next), completion: entry },
      ]);
      const read = await store.getCompletion(key, 0, entry.sortKey);
      expect(read?.outcomes.map((o) => o.ms)).toEqual([12, 0, 5000, undefined]);
      expect(read).toEqual(entry);
    });
  });
}
